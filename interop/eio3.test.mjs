// socket.io-client 2.x (Engine.IO protocol revision 3, Socket.IO protocol
// 4; the npm alias socket.io-client-v2) against the /eio3/ server of the
// conformance program (hub.Options.AllowEIO3), over websocket only,
// polling only and polling upgraded to websocket, each with binary data as
// binary and as base64 (forceBase64, which asks the server for b64=1).
//
// Server side (see internal/cmd/conformance): the /socket.io/ server's
// namespaces "/" and "/custom" and events ("auth" and "id" on connection,
// message → message-back, message-with-ack → ack, emit-with-ack →
// server-ack-request with an ack, then server-ack-result, server-disconnect),
// and "/refused", whose middleware refuses with data {reason: "refused"}.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import io from "socket.io-client-v2";
import { ADDR, HTTP_URL, PING_INTERVAL, PING_TIMEOUT, STEP_TIMEOUT, TEST_TIMEOUT, once, show, toBuffer, withTimeout } from "./lib.mjs";

const T = { timeout: TEST_TIMEOUT };
// The Engine.IO parser socket.io-client 2.x uses (engine.io-parser 2.x).
const parserV2 = createRequire(import.meta.url)("socket.io-client-v2/node_modules/engine.io-parser");
const PATH = "/eio3/";

const MODES = [];
for (const [name, transports, final] of [
  ["websocket only", ["websocket"], "websocket"],
  ["polling only", ["polling"], "polling"],
  ["polling upgraded to websocket", ["polling", "websocket"], "websocket"],
]) {
  MODES.push({ name, transports, final, forceBase64: false });
  MODES.push({ name: `${name}, base64`, transports, final, forceBase64: true });
}

const sockets = [];
after(() => sockets.forEach((s) => s.close()));

/** Replaces binary values by {$bin: hex} so deepEqual compares bytes. */
function norm(x) {
  if (Buffer.isBuffer(x) || x instanceof ArrayBuffer || ArrayBuffer.isView(x)) return { $bin: toBuffer(x).toString("hex") };
  if (Array.isArray(x)) return x.map(norm);
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, norm(v)]));
  return x;
}

/**
 * Connects a 2.x socket to nsp and resolves once it is connected, the
 * server's "auth" and "id" events arrived and, when the mode upgrades, the
 * engine is on websocket.
 */
async function connect(mode, nsp = "/", extra = {}) {
  const socket = io(HTTP_URL + nsp, {
    path: PATH,
    forceNew: true,
    reconnection: false,
    timeout: STEP_TIMEOUT,
    transports: mode.transports,
    forceBase64: mode.forceBase64,
    ...extra,
  });
  sockets.push(socket);
  const engine = socket.io.engine;
  const upgraded =
    mode.final === "websocket" && mode.transports[0] === "polling"
      ? withTimeout(
          new Promise((resolve, reject) => {
            engine.once("upgrade", resolve);
            engine.once("upgradeError", (e) => reject(new Error(`upgrade failed: ${e?.message ?? e}`)));
          }),
          STEP_TIMEOUT,
          "engine upgrade to websocket",
        )
      : Promise.resolve();
  upgraded.catch(() => {});
  const auth = once(socket, "auth");
  const id = once(socket, "id");
  auth.catch(() => {});
  id.catch(() => {});
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", (e) => reject(new Error(`error on ${nsp} (${mode.name}): ${show(e)}`)));
      socket.once("connect_error", (e) => reject(new Error(`connect_error on ${nsp} (${mode.name}): ${e?.message}`)));
    }),
    STEP_TIMEOUT,
    `connect to ${nsp} (${mode.name})`,
  );
  const [[authArg], [idArg]] = await Promise.all([auth, id]);
  await upgraded;
  assert.equal(engine.transport.name, mode.final, "transport");
  // On WebSocket, binary data goes as binary unless base64 is forced. (In
  // Node the 2.x client polls without XHR2, so always as base64: the
  // binary polling payloads are checked with its parser below.)
  if (mode.final === "websocket") assert.equal(engine.transport.supportsBinary, !mode.forceBase64, "client's binary support");
  return { socket, auth: authArg, id: idArg };
}

/** The polling URL of session sid. */
const pollURL = (sid, extra = "") => `${HTTP_URL}${PATH}?EIO=3&transport=polling&sid=${sid}${extra}`;

/** Decodes a revision 3 polling payload (string or Buffer) with engine.io-parser 2.x. */
function decodeV2(data) {
  const out = [];
  parserV2.decodePayload(data, undefined, (packet) => {
    assert.notEqual(packet.type, "error", `engine.io-parser 2.x cannot decode ${show(data)}`);
    out.push(packet);
  });
  return out;
}

const BIN = Buffer.from([0, 1, 2, 0xfe, 0xff]);
const TEXT = "ünïcødé 😀 \"quotes\" \\ \n";

for (const mode of MODES) {
  describe(`socket.io-client 2.x, ${mode.name}`, () => {
    test("joins / at once: id is the Engine.IO id, auth is {}", T, async () => {
      const { socket, auth, id } = await connect(mode);
      assert.deepEqual(auth, {});
      assert.equal(id, socket.io.engine.id, "server's socket id");
      assert.equal(socket.id, id, "client's socket id");
    });

    test("joins a namespace with a query: auth is the query, id is nsp#sid", T, async () => {
      const { socket, auth, id } = await connect(mode, "/custom", { query: { token: "abc", n: 1 } });
      assert.deepEqual(auth, { token: "abc", n: "1" });
      assert.equal(id, `/custom#${socket.io.engine.id}`);
      assert.equal(socket.id, id);
    });

    test("events both ways, plain, unicode and binary", T, async () => {
      const { socket } = await connect(mode);
      const args = [1, "two", TEXT, { nested: { bin: BIN, list: [BIN, null] } }, BIN, [true, { x: -1.5 }]];
      const back = once(socket, "message-back");
      socket.emit("message", ...args);
      assert.deepEqual(norm(await back), norm(args));
    });

    test("acks client → server, plain and binary", T, async () => {
      const { socket } = await connect(mode);
      const ack = (...args) =>
        withTimeout(new Promise((resolve) => socket.emit("message-with-ack", ...args, (...r) => resolve(r))), STEP_TIMEOUT, "ack");
      assert.deepEqual(await ack("a", 1, { b: [2] }), ["a", 1, { b: [2] }]);
      assert.deepEqual(norm(await ack(BIN, { inner: BIN })), norm([BIN, { inner: BIN }]));
      const many = await Promise.all(Array.from({ length: 30 }, (_, i) => ack(i)));
      assert.deepEqual(many, Array.from({ length: 30 }, (_, i) => [i]));
    });

    test("acks server → client, plain and binary", T, async () => {
      const { socket } = await connect(mode);
      for (const [args, reply] of [
        [["question", 1], ["answer", { b: [null] }]],
        [[BIN], [Buffer.from("xyz"), { inner: BIN }]],
      ]) {
        const request = new Promise((resolve) =>
          socket.once("server-ack-request", (...got) => {
            const cb = got.pop();
            assert.equal(typeof cb, "function", "server-ack-request must carry an ack callback");
            cb(...reply);
            resolve(got);
          }),
        );
        const result = once(socket, "server-ack-result");
        socket.emit("emit-with-ack", ...args);
        assert.deepEqual(norm(await withTimeout(request, STEP_TIMEOUT, "server-ack-request")), norm(args));
        assert.deepEqual(norm(await result), norm(reply));
      }
    });

    test("the client's pings keep the connection past pingInterval + pingTimeout", T, async () => {
      const { socket } = await connect(mode);
      const engine = socket.io.engine;
      assert.equal(engine.pingInterval, PING_INTERVAL);
      assert.equal(engine.pingTimeout, PING_TIMEOUT);
      let disconnected = null;
      socket.on("disconnect", (r) => (disconnected = r));
      // Four pongs from the server take more than pingInterval + pingTimeout.
      for (let i = 0; i < 4; i++) await once(engine, "pong");
      assert.equal(disconnected, null, "disconnected while pinging");
      const back = once(socket, "message-back");
      socket.emit("message", "alive");
      assert.deepEqual(await back, ["alive"]);
    });

    test("a refused namespace gets the middleware error's data", T, async () => {
      const socket = io(HTTP_URL + "/refused", { path: PATH, forceNew: true, reconnection: false, transports: mode.transports, forceBase64: mode.forceBase64 });
      sockets.push(socket);
      const [err] = await once(socket, "error");
      assert.deepEqual(err, { reason: "refused" });
      assert.equal(socket.connected, false);
    });

    test("an unknown namespace is refused as Invalid namespace", T, async () => {
      const socket = io(HTTP_URL + "/nowhere", { path: PATH, forceNew: true, reconnection: false, transports: mode.transports, forceBase64: mode.forceBase64 });
      sockets.push(socket);
      const [err] = await once(socket, "error");
      assert.deepEqual(err, { message: "Invalid namespace" });
    });

    test("server-side disconnect", T, async () => {
      const { socket } = await connect(mode);
      const reason = once(socket, "disconnect");
      socket.emit("server-disconnect");
      assert.deepEqual(await reason, ["io server disconnect"]);
    });
  });
}

describe("Engine.IO revision 3 on the wire", () => {
  test("the default server refuses EIO=3 (code 5)", T, async () => {
    const res = await fetch(`${HTTP_URL}/socket.io/?EIO=3&transport=polling`);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: 5, message: "Unsupported protocol version" });
  });

  test("JSONP polling is refused (code 3)", T, async () => {
    const res = await fetch(`${HTTP_URL}${PATH}?EIO=3&transport=polling&j=0`);
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { code: 3, message: "Bad request" });
  });

  test("handshake payload and the implicit connect to /", T, async () => {
    const res = await fetch(`${HTTP_URL}${PATH}?EIO=3&transport=polling&b64=1`);
    assert.equal(res.status, 200);
    const body = await res.text();
    const packets = decodeV2(body);
    assert.equal(packets[0].type, "open", `open packet first, got ${show(body)}`);
    const open = JSON.parse(packets[0].data);
    assert.deepEqual(Object.keys(open).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
    // The CONNECT for "/" follows at once (same response, or the next poll).
    if (packets.length === 1) packets.push(...decodeV2(await (await fetch(pollURL(open.sid, "&b64=1"))).text()));
    assert.deepEqual(packets[1], { type: "message", data: "0" }, `CONNECT for / expected, got ${show(body)}`);
  });

  test("XHR2 binary polling payloads both ways, as engine.io-parser 2.x reads and writes them", T, async () => {
    const res = await fetch(`${HTTP_URL}${PATH}?EIO=3&transport=polling`);
    const open = JSON.parse(decodeV2(await res.text())[0].data);
    const bin = Buffer.from([0, 1, 0xff, 0xfe, 4]);
    const body = await new Promise((resolve) =>
      parserV2.encodePayload(
        [
          { type: "ping" },
          { type: "message", data: '51-["message","é😀",{"_placeholder":true,"num":0}]' },
          { type: "message", data: bin },
        ],
        true,
        resolve,
      ),
    );
    assert.ok(Buffer.isBuffer(body), "binary payload");
    const post = await fetch(pollURL(open.sid), { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(post.status, 200, await post.text());
    // Poll until the echo and its attachment arrive (after the "/"
    // CONNECT and greetings, and the pong), pinging as the client would.
    const got = [];
    while (!got.some((p) => Buffer.isBuffer(p.data))) {
      await fetch(pollURL(open.sid), { method: "POST", body: "1:2" });
      const r = await fetch(pollURL(open.sid));
      const buf = Buffer.from(await r.arrayBuffer());
      const binary = r.headers.get("content-type") === "application/octet-stream";
      got.push(...decodeV2(binary ? buf : buf.toString("utf8")));
    }
    const i = got.findIndex((p) => typeof p.data === "string" && p.data.startsWith("51-"));
    assert.ok(i >= 0, `binary event expected in ${show(JSON.stringify(got))}`);
    assert.equal(got[i].data, '51-["message-back","é😀",{"_placeholder":true,"num":0}]');
    assert.equal(got[i + 1].type, "message");
    assert.deepEqual(norm(got[i + 1].data), norm(bin));
  });
});
