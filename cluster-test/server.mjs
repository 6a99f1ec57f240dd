// The Node.js side of the mixed-cluster test (room/redis/mixed_test.go):
// a socket.io 4.8 server with @socket.io/redis-adapter 8.x on the Redis at
// REDIS_URL, next to the Go hub at GO_URL, and official socket.io-client
// clients connected to either. The Go test drives it through stdin/stdout,
// one JSON object per line:
//
//   stdout {"type":"ready","port":N}                          the server listens
//   stdin  {"id":1,"cmd":"connect","name":"n1","target":"node"|"go","auth":{...}}
//   stdout {"type":"result","id":1,"value":...} or {"type":"result","id":1,"error":"..."}
//   stdout {"type":"event","client":"n1","event":"news","args":[...]}   a client got an event
//
// Binary values travel as {"$bin":"<base64>"} in both directions.
// Environment: REDIS_URL, GO_URL; ADAPTER=sharded for createShardedAdapter
// (see below). With PARSER=msgpack the server and every client use
// socket.io-msgpack-parser (the Go hub at GO_URL must use hub.MsgpackParser).
//
// With ADAPTER=streams the server is on @socket.io/redis-streams-adapter
// 0.3 instead (room/redis/streams_test.go); with RECOVERY=1, connection
// state recovery is on (1 minute), and "drop" and "rejoin" move a client
// to another server the way a load balancer would after its connection
// broke.
// Server behaviour (the same as the Go test hub's): a socket joins
// auth.rooms, stores auth.data as socket.data, then gets "ready".
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { io as connectClient } from "socket.io-client";
import { createClient, createCluster } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import msgpackParser from "socket.io-msgpack-parser";

// The parser option of the server and of every client.
const parserOpts = process.env.PARSER === "msgpack" ? { parser: msgpackParser } : {};
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// toWire turns Buffers into {$bin}, fromWire turns them back.
function toWire(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v.buffer ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v).toString("base64") };
  }
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object" && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  }
  return v;
}
function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string" && Object.keys(v).length === 1) return Buffer.from(v.$bin, "base64");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  }
  return v;
}

// With ADAPTER=sharded: createShardedAdapter (Redis 7 sharded pub/sub)
// with SUBSCRIPTION_MODE and CHANNEL_PREFIX, on the Redis Cluster whose
// nodes REDIS_CLUSTER lists (host:port,...), or on REDIS_URL.
const sharded = process.env.ADAPTER === "sharded";
const pub = process.env.REDIS_CLUSTER
  ? createCluster({ rootNodes: process.env.REDIS_CLUSTER.split(",").map((a) => ({ url: "redis://" + a })) })
  : createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
pub.on("error", (err) => process.stderr.write("redis pub: " + err + "\n"));
sub.on("error", (err) => process.stderr.write("redis sub: " + err + "\n"));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const streams = process.env.ADAPTER === "streams";
const adapter = sharded
  ? createShardedAdapter(pub, sub, {
      subscriptionMode: process.env.SUBSCRIPTION_MODE || "dynamic",
      channelPrefix: process.env.CHANNEL_PREFIX || "socket.io",
    })
  : streams
    ? createStreamsAdapter(pub)
    : createAdapter(pub, sub, { requestsTimeout: 3000 });
const io = new Server(httpServer, {
  adapter,
  ...parserOpts,
  ...(process.env.RECOVERY === "1" ? { connectionStateRecovery: { maxDisconnectionDuration: 60000 } } : {}),
});

io.on("connection", (socket) => {
  if (!socket.recovered) {
    const auth = socket.handshake.auth || {};
    for (const r of auth.rooms || []) socket.join(r);
    if (auth.data) socket.data = auth.data;
  }
  socket.emit("ready", socket.recovered);
});

// Server-side events from the Go hub.
io.on("go-hello", (...args) => {
  const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
  out({ type: "server-side", event: "go-hello", args: toWire(args) });
  if (cb) cb({ from: "node", got: args[0] });
});

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
out({ type: "ready", port: httpServer.address().port });

const clients = new Map();

const urlOf = (target) => target === "go" ? process.env.GO_URL
  : target === "go2" ? process.env.GO2_URL
  : `http://127.0.0.1:${httpServer.address().port}`;

function connect({ name, target, auth }) {
  const url = urlOf(target);
  const socket = connectClient(url, { transports: ["websocket"], auth: auth || {}, reconnection: false, forceNew: true, ...parserOpts });
  clients.set(name, socket);
  socket.onAny((event, ...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (cb && event === "question") cb({ name, bin: Buffer.from(name) });
    out({ type: "event", client: name, event, args: toWire(args) });
  });
  socket.on("disconnect", (reason) => out({ type: "event", client: name, event: "$disconnect", args: [reason] }));
  return new Promise((resolve, reject) => {
    socket.once("connect_error", reject);
    socket.once("ready", () => resolve(socket.id));
  });
}

const describe = (s) => ({
  id: s.id, rooms: [...s.rooms], data: s.data,
  handshake: {
    auth: s.handshake.auth, address: s.handshake.address, time: s.handshake.time, issued: s.handshake.issued,
    // what Node code does with them: both must give the same instant
    timeParsed: Date.parse(s.handshake.time), issuedIsNumber: typeof s.handshake.issued === "number",
  },
});

// Crowds of clients that answer "question" with 1, and count "tick"s,
// for the load tests.
const crowd = [];
let ticks = 0;
async function connectMany({ target, count }) {
  const url = target === "go" ? process.env.GO_URL : `http://127.0.0.1:${httpServer.address().port}`;
  const batch = [];
  for (let i = 0; i < count; i++) {
    const socket = connectClient(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...parserOpts });
    socket.on("tick", () => { ticks++; });
    socket.on("question", (...args) => {
      const cb = args.pop();
      if (typeof cb === "function") cb(1);
    });
    crowd.push(socket);
    batch.push(new Promise((resolve, reject) => {
      socket.once("connect_error", reject);
      socket.once("ready", resolve);
    }));
  }
  await Promise.all(batch);
  return crowd.length;
}

const commands = {
  connect,
  // io.to(rooms).except(except).emit(event, ...args)
  emit: ({ rooms, except, event, args }) => {
    io.to(rooms || []).except(except || []).emit(event, ...fromWire(args || []));
    return true;
  },
  emitWithAck: async ({ rooms, event, args, timeout }) =>
    toWire(await io.timeout(timeout || 3000).to(rooms || []).emitWithAck(event, ...fromWire(args || []))),
  connectMany,
  // n broadcasts of "tick" to everyone; the ticks the crowd got, the CPU
  // time this process used (µs, user+system).
  emitMany: ({ n }) => {
    for (let i = 0; i < n; i++) io.emit("tick", { user: "someone", text: "a chat message of a typical size, sent to every client" });
    return true;
  },
  ticks: () => ticks,
  cpu: () => { const u = process.cpuUsage(); return u.user + u.system; },
  // emitWithAck to everyone; the number of answers and the time taken.
  emitWithAckCount: async ({ event, timeout }) => {
    const start = performance.now();
    const answers = await io.timeout(timeout || 10000).emitWithAck(event || "question");
    return { count: answers.length, ms: performance.now() - start };
  },
  fetchSockets: async ({ rooms }) => (await io.in(rooms || []).fetchSockets()).map(describe),
  socketsJoin: ({ target, rooms }) => (io.in(target).socketsJoin(rooms), true),
  socketsLeave: ({ target, rooms }) => (io.in(target).socketsLeave(rooms), true),
  disconnectSockets: ({ target, close }) => (io.in(target).disconnectSockets(!!close), true),
  serverSideEmit: ({ event, args }) => (io.serverSideEmit(event, ...(args || [])), true),
  serverSideEmitWithAck: async ({ event, args }) => await io.serverSideEmitWithAck(event, ...(args || [])),
  serverCount: async () => await io.of("/").adapter.serverCount(),
  clientEmit: ({ name, event, args }) => (clients.get(name).emit(event, ...fromWire(args || [])), true),
  // The client loses its connection ("transport close"); its next
  // connection goes to target.
  drop: ({ name, target }) => {
    const socket = clients.get(name);
    socket.io.reconnection(false);
    socket.io.uri = urlOf(target);
    if (!socket.connected) return "disconnected already"; // its server died
    return new Promise((resolve) => {
      socket.once("disconnect", (reason) => resolve(reason));
      socket.io.engine.close();
    });
  },
  // The client connects again, asking to recover its session.
  rejoin: ({ name }) => {
    const socket = clients.get(name);
    return new Promise((resolve, reject) => {
      socket.once("connect_error", reject);
      socket.once("ready", (recovered) => resolve({ id: socket.id, recovered: socket.recovered, serverSaid: recovered }));
      socket.connect();
    });
  },
  localRooms: ({ sid }) => {
    const s = io.of("/").sockets.get(sid);
    return s ? [...s.rooms] : null;
  },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
    const fn = commands[msg.cmd];
    if (!fn) throw new Error("unknown command " + msg.cmd);
    out({ type: "result", id: msg.id, value: await fn(msg) });
  } catch (err) {
    out({ type: "result", id: msg && msg.id, error: String(err && err.message ? err.message : err) });
  }
});
lines.on("close", async () => {
  // stdin closed: the test is over.
  for (const c of clients.values()) c.disconnect();
  for (const c of crowd) c.disconnect();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
});
