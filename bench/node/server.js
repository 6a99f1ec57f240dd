// The benchmark server on Node's socket.io: the same events as the Go one
// (bench/internal/benchserver), on the default namespace with socket.io's
// defaults.
//
//   node --expose-gc server.js --addr 127.0.0.1:3000 [--redis 127.0.0.1:6379]
//
// Prints "listening <host:port>" once it accepts connections; exits when
// stdin closes (with --stdin) or on SIGINT/SIGTERM.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

let addr = "127.0.0.1:3000";
let watchStdin = false;
let redisAddr = "";
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--addr" || a === "-addr") addr = process.argv[++i];
  else if (a === "--stdin" || a === "-stdin") watchStdin = true;
  else if (a === "--redis" || a === "-redis") redisAddr = process.argv[++i];
  else {
    console.error(`server.js: unknown argument ${a}`);
    process.exit(2);
  }
}
const sep = addr.lastIndexOf(":");
const host = addr.slice(0, sep);
const port = Number(addr.slice(sep + 1));

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

// With --redis host:port: a cluster node on @socket.io/redis-adapter
// (bench/cluster runs two).
let redisClients = [];
async function useRedis() {
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pub = createClient({ url: "redis://" + redisAddr });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error("redis pub:", String(err)));
  sub.on("error", (err) => console.error("redis sub:", String(err)));
  await Promise.all([pub.connect(), sub.connect()]);
  redisClients = [pub, sub];
  io.adapter(createAdapter(pub, sub, { requestsTimeout: 30000 }));
}

function collect(gc) {
  if (gc && typeof global.gc === "function") {
    global.gc();
    global.gc();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, goroutines: 0, clients: io.engine.clientsCount };
}

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack("ok");
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack("ok");
  });
  socket.on("bcast", (room, payload) => {
    io.to(room).emit("msg", payload);
  });
  // bcastAck(room, payload, ack): to(room).emitWithAck("ask", payload),
  // answered with the number of replies (-1 on a timeout).
  socket.on("bcastAck", (room, payload, ack) => {
    io.to(room)
      .timeout(30000)
      .emitWithAck("ask", payload)
      .then((replies) => typeof ack === "function" && ack(replies.length))
      .catch(() => typeof ack === "function" && ack(-1));
  });
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("stats", (arg, ack) => {
    if (typeof ack === "function") ack(collect(arg === "gc"));
  });
});

(redisAddr ? useRedis() : Promise.resolve()).then(
  () =>
    httpServer.listen(port, host, () => {
      const a = httpServer.address();
      console.log(`listening ${a.address}:${a.port}`);
    }),
  (err) => {
    console.error("server.js: redis:", String(err));
    process.exit(1);
  },
);

function stop() {
  for (const c of redisClients) c.quit().catch(() => {});
  io.close();
  httpServer.close();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (watchStdin) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
