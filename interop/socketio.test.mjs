// The official socket.io-client against the Socket.IO server at /socket.io/,
// every scenario over websocket only, polling only, and polling upgraded to
// websocket (the client's default).
//
// Server events relied on (see internal/cmd/conformance):
//   on connection (/ and /custom): emit "auth"(CONNECT payload or {})
//   "message"(...a)            → emit "message-back"(...a)
//   "message-with-ack"(...a)   → ack(...a)
//   "join"(room, ack)          → join, ack("ok")
//   "leave"(room, ack)         → leave, ack(...)
//   "to-room"(room, ...a)      → "room-message"(...a) to the room except the sender
//   "to-room-all"(room, ...a)  → "room-message"(...a) to the whole room
//   "server-disconnect"()      → server disconnects the socket
//   "emit-with-ack"(...a)      → emit "server-ack-request"(...a, cb); on cb(...r) emit "server-ack-result"(...r)
//   "burst"(n)                 → emit "burst-item"(i) for i = 0..n-1

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client";
import { HTTP_URL, PARSER_NAME, STEP_TIMEOUT, TEST_TIMEOUT, once, show, toBuffer, withParser, withTimeout } from "./lib.mjs";

const T = { timeout: TEST_TIMEOUT };

const MODES = [
  { name: "websocket only", key: "ws", transports: ["websocket"], final: "websocket" },
  { name: "polling only", key: "poll", transports: ["polling"], final: "polling" },
  { name: "polling upgraded to websocket", key: "up", transports: undefined, final: "websocket" },
];

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

function baseOpts(mode, extra = {}) {
  const opts = withParser({ path: "/socket.io/", forceNew: true, reconnection: false, timeout: STEP_TIMEOUT, ...extra });
  if (mode.transports) opts.transports = mode.transports;
  return opts;
}

/** Waits for the engine to finish upgrading to websocket (upgrade mode only). */
async function waitUpgrade(mode, socket, engine = socket.io.engine) {
  if (mode.transports) return;
  if (engine.transport?.name !== "websocket") {
    await withTimeout(
      new Promise((resolve, reject) => {
        engine.once("upgrade", resolve);
        engine.once("upgradeError", (e) => reject(new Error(`upgrade failed: ${e?.message ?? e}`)));
      }),
      STEP_TIMEOUT,
      "engine upgrade to websocket",
    );
  }
  assert.equal(engine.transport.name, "websocket", "transport after the upgrade event");
}

/**
 * Connects a socket to nsp and resolves with {socket, auth} once it is
 * connected and the server's "auth" event arrived. In upgrade mode it also
 * waits for the upgrade.
 */
async function connect(mode, nsp = "/", extra = {}, { upgrade = true } = {}) {
  const socket = io(HTTP_URL + nsp, baseOpts(mode, extra));
  sockets.push(socket);
  const auth = once(socket, "auth");
  auth.catch(() => {});
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (e) => reject(new Error(`connect_error on ${nsp} (${mode.name}): ${e?.message} ${show(e?.data)}`)));
    }),
    STEP_TIMEOUT,
    `connect to ${nsp} (${mode.name})`,
  );
  const [authArg] = await auth;
  if (upgrade) await waitUpgrade(mode, socket);
  return { socket, auth: authArg };
}

/** Replaces binary values by {$bin: hex} so deepEqual compares bytes. */
function norm(x) {
  if (Buffer.isBuffer(x) || x instanceof ArrayBuffer || ArrayBuffer.isView(x)) return { $bin: toBuffer(x).toString("hex") };
  if (Array.isArray(x)) return x.map(norm);
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
  return x;
}

/** Collects the arguments of the next n `event` events. */
function collect(socket, event, n, ms = STEP_TIMEOUT) {
  const got = [];
  return withTimeout(
    new Promise((resolve) => {
      const h = (...args) => {
        got.push(args);
        if (got.length === n) {
          socket.off(event, h);
          resolve(got);
        }
      };
      socket.on(event, h);
    }),
    ms,
    `${n} ${JSON.stringify(event)} events (got ${got.length})`,
  );
}

/**
 * A round trip through the server on the same connection: everything the
 * server sent this socket before handling this ack has arrived once it resolves.
 */
async function sync(socket) {
  const r = await socket.timeout(STEP_TIMEOUT).emitWithAck("message-with-ack", "sync");
  assert.equal(r, "sync");
}

const MIXED = [
  1,
  "2",
  { 3: [true] },
  null,
  false,
  -42.5,
  0,
  "",
  "ünïcødé 😀 \"quotes\" \\ \n",
  [1, [2, [3, [4]]], { a: [] }],
  { nested: { deep: { x: null, y: [false, "s", 9007199254740991] } }, empty: {} },
];

for (const mode of MODES) {
  describe(`socket.io-client, ${mode.name}${PARSER_NAME}`, () => {
    test("connects to / with auth; the auth event echoes it", T, async () => {
      const auth = { token: "abc", n: 1, nested: { ok: true } };
      const { socket, auth: echoed } = await connect(mode, "/", { auth });
      assert.deepEqual(echoed, auth);
      assert.equal(typeof socket.id, "string");
      assert.notEqual(socket.id, socket.io.engine.id, "the Socket.IO id must differ from the Engine.IO sid");
      assert.equal(socket.io.engine.transport.name, mode.final);
    });

    test("connects to / without auth; the auth event is {}", T, async () => {
      const { auth } = await connect(mode, "/");
      assert.deepEqual(auth, {});
    });

    test("connects to /custom with auth", T, async () => {
      const auth = { token: "custom-123" };
      const { socket, auth: echoed } = await connect(mode, "/custom", { auth });
      assert.deepEqual(echoed, auth);
      assert.equal(socket.nsp, "/custom");
    });

    test("/ and /custom share one connection (Manager multiplexing)", T, async () => {
      const manager = new Manager(HTTP_URL, baseOpts(mode));
      const main = manager.socket("/", { auth: { which: "main" } });
      const custom = manager.socket("/custom", { auth: { which: "custom" } });
      sockets.push(main, custom);
      const [mainAuth, customAuth] = await Promise.all([once(main, "auth"), once(custom, "auth")]);
      assert.deepEqual(mainAuth, [{ which: "main" }]);
      assert.deepEqual(customAuth, [{ which: "custom" }]);
      assert.ok(main.connected && custom.connected);
      await waitUpgrade(mode, main, manager.engine);
      const back = once(main, "message-back");
      main.emit("message", "via-main");
      assert.deepEqual(await back, ["via-main"]);
      // leaving /custom keeps / working on the same connection
      custom.disconnect();
      const back2 = once(main, "message-back");
      main.emit("message", "still-here");
      assert.deepEqual(await back2, ["still-here"]);
      main.disconnect();
    });

    test('unknown namespace → connect_error "Invalid namespace"', T, async () => {
      const socket = io(`${HTTP_URL}/random`, baseOpts(mode));
      sockets.push(socket);
      const [err] = await once(socket, "connect_error");
      assert.equal(err.message, "Invalid namespace");
      assert.equal(socket.connected, false);
    });

    test("event with mixed argument types is echoed (message-back)", T, async () => {
      const { socket } = await connect(mode);
      const back = once(socket, "message-back");
      socket.emit("message", ...MIXED);
      assert.deepEqual(await back, MIXED);
      const empty = once(socket, "message-back");
      socket.emit("message");
      assert.deepEqual(await empty, []);
    });

    test("acks client → server: emitWithAck and multi-value callbacks", T, async () => {
      const { socket } = await connect(mode);
      assert.deepEqual(await socket.timeout(STEP_TIMEOUT).emitWithAck("message-with-ack", { 3: [false] }), { 3: [false] });
      const values = await withTimeout(
        new Promise((resolve) => socket.emit("message-with-ack", ...MIXED, (...r) => resolve(r))),
        STEP_TIMEOUT,
        "ack callback",
      );
      assert.deepEqual(values, MIXED);
      const none = await withTimeout(
        new Promise((resolve) => socket.emit("message-with-ack", (...r) => resolve(r))),
        STEP_TIMEOUT,
        "ack callback without arguments",
      );
      assert.deepEqual(none, []);
      // many acks in flight at once, answered with the right ids
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => socket.timeout(STEP_TIMEOUT).emitWithAck("message-with-ack", i)),
      );
      assert.deepEqual(many, Array.from({ length: 50 }, (_, i) => i));
    });

    test("acks server → client (emit-with-ack flow), plain and binary", T, async () => {
      const { socket } = await connect(mode);
      const request = new Promise((resolve) =>
        socket.once("server-ack-request", (...args) => {
          const cb = args.pop();
          assert.equal(typeof cb, "function", "server-ack-request must carry an ack callback");
          cb("answer", 2, { b: [null] });
          resolve(args);
        }),
      );
      const result = once(socket, "server-ack-result");
      socket.emit("emit-with-ack", "question", 1, { q: true });
      assert.deepEqual(await withTimeout(request, STEP_TIMEOUT, "server-ack-request"), ["question", 1, { q: true }]);
      assert.deepEqual(await result, ["answer", 2, { b: [null] }]);

      const request2 = new Promise((resolve) =>
        socket.once("server-ack-request", (...args) => {
          const cb = args.pop();
          cb(Buffer.from([7, 8, 9]), { inner: Buffer.from("xyz") });
          resolve(args);
        }),
      );
      const result2 = once(socket, "server-ack-result");
      socket.emit("emit-with-ack", Buffer.from([1, 2]));
      assert.deepEqual(norm(await withTimeout(request2, STEP_TIMEOUT, "server-ack-request (binary)")), norm([Buffer.from([1, 2])]));
      assert.deepEqual(norm(await result2), norm([Buffer.from([7, 8, 9]), { inner: Buffer.from("xyz") }]));
    });

    test("binary both directions: Buffer args, nested binary, binary acks", T, async () => {
      const { socket } = await connect(mode);
      const args = [
        Buffer.from([1, 2, 3]),
        "text",
        { nested: { buf: Buffer.from([4, 5]) }, list: [Buffer.from([6]), 7, Buffer.alloc(0)] },
        Uint8Array.from([0, 255]).buffer,
      ];
      const back = once(socket, "message-back");
      socket.emit("message", ...args);
      const got = await back;
      assert.ok(Buffer.isBuffer(got[0]) || got[0] instanceof ArrayBuffer, `first arg must be binary, got ${show(got[0])}`);
      assert.deepEqual(norm(got), norm(args));
      const acked = await withTimeout(
        new Promise((resolve) => socket.emit("message-with-ack", ...args, (...r) => resolve(r))),
        STEP_TIMEOUT,
        "binary ack",
      );
      assert.deepEqual(norm(acked), norm(args));
      const big = Buffer.alloc(200 * 1024, 0xab);
      const back2 = once(socket, "message-back");
      socket.emit("message", big);
      const [b2] = await back2;
      assert.ok(toBuffer(b2).equals(big), "200 KB buffer echo differs");
    });

    test("rooms: join, to-room, to-room-all, leave", T, async () => {
      const room = `room-${mode.key}-${Date.now()}`;
      const { socket: a } = await connect(mode, "/", { auth: { who: "a" } });
      const { socket: b } = await connect(mode, "/", { auth: { who: "b" } });
      const seenA = [];
      const seenB = [];
      a.on("room-message", (...x) => seenA.push(x));
      b.on("room-message", (...x) => seenB.push(x));

      assert.equal(await a.timeout(STEP_TIMEOUT).emitWithAck("join", room), "ok");
      assert.equal(await b.timeout(STEP_TIMEOUT).emitWithAck("join", room), "ok");

      // to-room reaches the other member, not the sender
      const atB = once(b, "room-message");
      a.emit("to-room", room, "hello", { n: 1 });
      assert.deepEqual(await atB, ["hello", { n: 1 }]);
      await sync(a);
      assert.deepEqual(seenA, [], `the sender must not get its own to-room message: ${show(seenA)}`);

      // to-room-all reaches everyone, sender included
      seenA.length = 0;
      seenB.length = 0;
      const allA = once(a, "room-message");
      const allB = once(b, "room-message");
      a.emit("to-room-all", room, "everyone");
      assert.deepEqual(await allA, ["everyone"]);
      assert.deepEqual(await allB, ["everyone"]);

      // binary goes through rooms too
      const binB = once(b, "room-message");
      a.emit("to-room", room, Buffer.from([1, 2, 3]));
      assert.deepEqual(norm(await binB), norm([Buffer.from([1, 2, 3])]));

      // after leave, a gets nothing
      await a.timeout(STEP_TIMEOUT).emitWithAck("leave", room);
      seenA.length = 0;
      const afterB = once(b, "room-message");
      a.emit("to-room-all", room, "after-leave-from-a");
      assert.deepEqual(await afterB, ["after-leave-from-a"]);
      await sync(a);
      const fromB = once(b, "room-message");
      b.emit("to-room-all", room, "after-leave-from-b");
      assert.deepEqual(await fromB, ["after-leave-from-b"]);
      await sync(b);
      await sync(a);
      assert.deepEqual(seenA, [], `a left the room but still got: ${show(seenA)}`);
    });

    test('server-side disconnect → "io server disconnect", then connect() again works', T, async () => {
      const { socket } = await connect(mode, "/", { auth: { round: 1 } });
      const firstId = socket.id;
      const disc = once(socket, "disconnect");
      socket.emit("server-disconnect");
      const [reason] = await disc;
      assert.equal(reason, "io server disconnect");
      assert.equal(socket.connected, false);

      const auth = once(socket, "auth");
      const connected = once(socket, "connect");
      socket.connect();
      await connected;
      assert.deepEqual(await auth, [{ round: 1 }]);
      assert.notEqual(socket.id, firstId, "a new connection gets a new socket id");
      await waitUpgrade(mode, socket);
      const back = once(socket, "message-back");
      socket.emit("message", "after-reconnect");
      assert.deepEqual(await back, ["after-reconnect"]);
    });

    test("client disconnect() then connect() again works", T, async () => {
      const { socket } = await connect(mode);
      const disc = once(socket, "disconnect");
      socket.disconnect();
      assert.equal((await disc)[0], "io client disconnect");
      const connected = once(socket, "connect");
      socket.connect();
      await connected;
      assert.equal(await socket.timeout(STEP_TIMEOUT).emitWithAck("message-with-ack", "again"), "again");
    });

    test("1000 burst-item events arrive in order", T, async () => {
      // no waiting for the upgrade: in upgrade mode the burst crosses it
      const { socket } = await connect(mode, "/", {}, { upgrade: false });
      const n = 1000;
      const items = collect(socket, "burst-item", n, 15000);
      socket.emit("burst", n);
      const got = (await items).map((args) => (args.length === 1 ? args[0] : args));
      const firstBad = got.findIndex((v, i) => v !== i);
      assert.equal(firstBad, -1, `burst-item out of order at index ${firstBad}: got ${show(got.slice(Math.max(0, firstBad - 2), firstBad + 3))}`);
      await waitUpgrade(mode, socket);
    });
  });
}

describe(`socket.io-client, mixed transports${PARSER_NAME}`, () => {
  test("a room broadcast reaches websocket, polling and upgraded clients alike (text and binary)", T, async () => {
    const room = `room-mixed-${Date.now()}`;
    const clients = [];
    for (const mode of MODES) {
      const { socket } = await connect(mode, "/", { auth: { mode: mode.key } });
      assert.equal(await socket.timeout(STEP_TIMEOUT).emitWithAck("join", room), "ok");
      clients.push({ mode, socket });
    }
    const payload = ["text", { n: [1, 2] }, Buffer.from([0, 1, 2, 254, 255]), { deep: [Buffer.from("deep")] }];
    for (const sender of clients) {
      const got = clients.map(({ socket }) => once(socket, "room-message"));
      sender.socket.emit("to-room-all", room, ...payload, sender.mode.key);
      const results = await Promise.all(got);
      results.forEach((args, i) =>
        assert.deepEqual(norm(args), norm([...payload, sender.mode.key]), `received by the ${clients[i].mode.name} client from the ${sender.mode.name} client`),
      );
    }
  });

  test("20 concurrent clients, each with 20 acks in flight", T, async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(MODES[i % MODES.length], "/", { auth: { i } })));
    conns.forEach(({ auth }, i) => assert.deepEqual(auth, { i }));
    await Promise.all(
      conns.map(async ({ socket }, i) => {
        const res = await Promise.all(
          Array.from({ length: 20 }, (_, j) => socket.timeout(STEP_TIMEOUT).emitWithAck("message-with-ack", { i, j })),
        );
        assert.deepEqual(res, Array.from({ length: 20 }, (_, j) => ({ i, j })), `client ${i}`);
      }),
    );
    conns.forEach(({ socket }) => socket.disconnect());
  });
});
