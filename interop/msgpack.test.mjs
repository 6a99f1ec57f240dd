// socket.io-msgpack-parser: the official socket.io-client created with
// parser: require("socket.io-msgpack-parser") against the conformance
// server's hubs configured with hub.MsgpackParser (/msgpack/ and
// /msgpack-recovery/, see internal/cmd/conformance).
//
// It runs the whole socket.io-client suite (socketio.test.mjs: events,
// acks both ways, binary, rooms, disconnections, over websocket, polling
// and upgraded connections) and the recovery suite (recovery.test.mjs)
// with that parser, then what is particular to it: the wire is one binary
// message per packet, and notepack.io's Dates and ArrayBuffers.
//
// The suites read REALTIME_PARSER when lib.mjs is first imported: it is set
// here before the dynamic imports, and this file imports nothing statically
// that loads lib.mjs first.

process.env.REALTIME_PARSER = "msgpack";
await import("./socketio.test.mjs");
await import("./recovery.test.mjs");

const { describe, test, after } = await import("node:test");
const { default: assert } = await import("node:assert/strict");
const { io } = await import("socket.io-client");
const { default: parser } = await import("socket.io-msgpack-parser");
const { HTTP_URL, STEP_TIMEOUT, TEST_TIMEOUT, once, toBuffer } = await import("./lib.mjs");

const T = { timeout: TEST_TIMEOUT };
const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

async function connect(transports) {
  const socket = io(HTTP_URL, { path: "/msgpack/", parser, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT, transports });
  sockets.push(socket);
  await once(socket, "connect");
  return socket;
}

for (const transports of [["websocket"], ["polling"]]) {
  describe(`msgpack parser specifics, ${transports[0]}`, () => {
    test("every packet the server sends is one binary message decoding to {type, data, nsp}", T, async () => {
      const socket = await connect(transports);
      const raws = [];
      socket.io.engine.on("packet", (p) => {
        if (p.type === "message") raws.push(p.data);
      });
      const back = once(socket, "message-back");
      socket.emit("message", "x", Buffer.from([1, 2]));
      await back;
      // Everything received meanwhile (the server's "auth" may come too).
      const decoded = raws.map((raw) => {
        assert.ok(typeof raw !== "string", "a binary message, not text");
        let packet;
        const d = new parser.Decoder();
        d.on("decoded", (p) => (packet = p));
        d.add(toBuffer(raw));
        return packet;
      });
      const echoes = decoded.filter((p) => p.data[0] === "message-back");
      assert.equal(echoes.length, 1, "one message for an event with binary data");
      const [echo] = echoes;
      assert.equal(echo.type, 2, "EVENT: msgpack has no BINARY_EVENT");
      assert.equal(echo.nsp, "/");
      assert.equal(echo.data[1], "x");
      assert.deepEqual(toBuffer(echo.data[2]), Buffer.from([1, 2]));
    });

    test("notepack's Date arrives as its ISO string, ArrayBuffer and typed arrays as binary", T, async () => {
      const socket = await connect(transports);
      const date = new Date(1700000000123);
      const back = once(socket, "message-back");
      socket.emit("message", date, new Uint8Array([5, 6]), Uint8Array.from([7]).buffer, { when: date });
      const [d, u8, ab, obj] = await back;
      assert.equal(d, "2023-11-14T22:13:20.123Z");
      assert.deepEqual(toBuffer(u8), Buffer.from([5, 6]));
      assert.deepEqual(toBuffer(ab), Buffer.from([7]));
      assert.deepEqual(obj, { when: "2023-11-14T22:13:20.123Z" });
    });
  });
}

test("a client with the default parser cannot talk to a msgpack hub", T, async () => {
  const socket = io(HTTP_URL, { path: "/msgpack/", forceNew: true, reconnection: false, timeout: STEP_TIMEOUT, transports: ["websocket"] });
  sockets.push(socket);
  const outcome = await Promise.race([
    once(socket, "connect").then(() => "connected"),
    once(socket, "connect_error").then(() => "connect_error"),
    once(socket, "disconnect").then(() => "disconnect"),
  ]);
  assert.notEqual(outcome, "connected");
});
