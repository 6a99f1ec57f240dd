// The hub's Engine.IO options with the official socket.io-client, against
// the /options/ server of internal/cmd/conformance:
//   - a "sticky" session cookie (hub.Options.Cookie), which the client
//     (withCredentials: true keeps a cookie jar in Node) sends back on its
//     next requests, polling and the WebSocket upgrade, as a browser does
//     for a load balancer;
//   - session ids from hub.Options.GenerateID ("custom-N", or the handshake's
//     id query parameter as given);
//   - refusals reported to hub.Options.OnConnectionError, read back from
//     /options-state/refusal?marker=M (M: a unique query parameter);
//   - the socket.io-client bundle served by the hub (hub.Options.ClientFiles)
//     at /options/socket.io.js, with its ETag and 304;
//   - gzip compression of polling responses over 1 kB (on by default), and
//     socket.Compress(false), with the answers' headers read back from
//     /options-state/encodings?sid=S.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";
import { Fetch } from "engine.io-client";
import { HTTP_URL, STEP_TIMEOUT, TEST_TIMEOUT, show, withTimeout } from "./lib.mjs";

const T = { timeout: TEST_TIMEOUT };
const PATH = "/options/";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

let markers = 0;
const marker = () => `m${process.pid}x${++markers}`;

function open(opts) {
  const socket = io(HTTP_URL, { path: PATH, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT, ...opts });
  sockets.push(socket);
  return socket;
}

async function connected(socket, what) {
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (e) => reject(new Error(`connect_error (${what}): ${e?.message} ${show(e?.description)}`)));
    }),
    STEP_TIMEOUT,
    `connect (${what})`,
  );
}

async function refusedConnect(socket, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${what}: connected, expected a refusal`)));
      socket.once("connect_error", resolve);
    }),
    STEP_TIMEOUT,
    `connect_error (${what})`,
  );
}

async function waitUpgrade(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return;
  await withTimeout(new Promise((resolve) => engine.once("upgrade", resolve)), STEP_TIMEOUT, "upgrade to websocket");
}

async function state(path) {
  const res = await fetch(`${HTTP_URL}/options-state/${path}`);
  const text = await res.text();
  assert.equal(res.status, 200, `/options-state/${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** The refusal OnConnectionError recorded for a request holding m. */
const refusal = (m) => state(`refusal?marker=${m}`);

describe("hub options with socket.io-client", () => {
  for (const mode of [
    { name: "polling, then the upgrade", transports: undefined, final: "websocket" },
    { name: "polling only", transports: ["polling"], final: "polling" },
  ]) {
    test(`GenerateID's id and the sticky cookie, sent back by the client (${mode.name})`, T, async () => {
      const opts = { withCredentials: true };
      if (mode.transports) opts.transports = mode.transports;
      const socket = open(opts);
      await connected(socket, mode.name);
      const sid = socket.io.engine.id;
      assert.match(sid, /^custom-\d+$/, "the id GenerateID returned");
      if (mode.final === "websocket") await waitUpgrade(socket);
      // A round trip: the client has made requests after the handshake.
      assert.equal(await socket.timeout(STEP_TIMEOUT).emitWithAck("ping-server"), "pong");
      assert.equal(socket.io.engine.transport.name, mode.final);

      const cookies = await state(`cookies?sid=${sid}`);
      assert.ok(cookies.length > 0, "the server saw requests of the session");
      for (const c of cookies) assert.equal(c, `sticky=${sid}`, `Cookie headers of the session's requests: ${show(cookies)}`);
    });
  }

  test("the id may come from the handshake request; one in use is refused and reported", T, async () => {
    const id = `node-a.${process.pid}_~x`;
    const first = open({ query: { id }, transports: ["polling"] });
    await connected(first, "first");
    assert.equal(first.io.engine.id, id);

    const m = marker();
    const second = open({ query: { id, m }, transports: ["polling"] });
    const err = await refusedConnect(second, "duplicate id");
    assert.equal(err.message, "xhr poll error");
    assert.equal(err.description, 400, "HTTP status");
    const r = await refusal(m);
    assert.equal(r.code, 3);
    assert.equal(r.message, "Bad request");
    assert.equal(r.context.name, "ID_GENERATION_ERROR");
    assert.match(r.context.error, /session id in use/);
    assert.equal(r.method, "GET");
  });

  for (const [what, id, transports] of [
    ["an invalid id (polling)", "not valid!", ["polling"]],
    ["an invalid id (websocket)", "a/b", ["websocket"]],
    ["an empty id", "", ["polling"]],
  ]) {
    test(`GenerateID giving ${what} refuses the connection, reported to OnConnectionError`, T, async () => {
      const m = marker();
      const socket = open({ query: { id, m }, transports });
      await refusedConnect(socket, what);
      const r = await refusal(m);
      assert.equal(r.code, 3);
      assert.equal(r.context.name, "ID_GENERATION_ERROR");
      assert.match(r.context.error, /invalid session id/);
    });
  }

  test("bad requests reach OnConnectionError with engine.io's codes", T, async () => {
    for (const [query, method, code, message, context] of [
      ["EIO=4&transport=tobi", "GET", 0, "Transport unknown", { transport: "tobi" }],
      ["EIO=4&transport=polling&sid=nope", "GET", 1, "Session ID unknown", { sid: "nope" }],
      ["EIO=4&transport=polling", "POST", 2, "Bad handshake method", { method: "POST" }],
      ["EIO=4&transport=websocket", "GET", 3, "Bad request", { name: "TRANSPORT_HANDSHAKE_ERROR" }],
      ["EIO=3&transport=polling", "GET", 5, "Unsupported protocol version", { protocol: "3" }],
    ]) {
      const m = marker();
      const res = await fetch(`${HTTP_URL}${PATH}?${query}&m=${m}`, { method, body: method === "POST" ? "1:6" : undefined });
      assert.equal(res.status, 400, query);
      assert.deepEqual(await res.json(), { code, message }, query);
      const r = await refusal(m);
      assert.equal(r.code, code, query);
      assert.equal(r.message, message, query);
      assert.deepEqual(r.context, context, query);
      assert.equal(r.method, method, query);
      assert.ok(r.url.includes(query), `${r.url} holds the request's query`);
    }
  });

  test("the hub serves the socket.io-client bundle it was given (ETag, 304)", T, async () => {
    const dist = new URL("./node_modules/socket.io-client/dist/", import.meta.url);
    for (const [name, type] of [
      ["socket.io.js", "application/javascript; charset=utf-8"],
      ["socket.io.min.js", "application/javascript; charset=utf-8"],
      ["socket.io.esm.min.js", "application/javascript; charset=utf-8"],
      ["socket.io.min.js.map", "application/json; charset=utf-8"],
    ]) {
      const res = await fetch(`${HTTP_URL}${PATH}${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("content-type"), type, name);
      assert.equal(res.headers.get("cache-control"), "public, max-age=0", name);
      assert.equal(await res.text(), readFileSync(new URL(name, dist), "utf8"), `${name}: the installed file`);
      const etag = res.headers.get("etag");
      assert.match(etag, /^"[0-9A-Za-z.+-]+"$/, name);
      const again = await fetch(`${HTTP_URL}${PATH}${name}`, { headers: { "If-None-Match": etag } });
      assert.equal(again.status, 304, `${name} with If-None-Match`);
    }
    const version = JSON.parse(readFileSync(new URL("../package.json", dist), "utf8")).version;
    const res = await fetch(`${HTTP_URL}${PATH}socket.io.min.js`);
    assert.ok(res.headers.get("etag").startsWith(`"${version}-`), `the ETag names socket.io-client ${version}`);
    await res.arrayBuffer();
  });
});

describe("HTTP compression of polling responses (hub.Options.HTTPCompression, on by default)", () => {
  // The Fetch transport: Node's fetch asks for gzip/deflate and decodes
  // the answer, as a browser does (the default XHR transport of Node
  // asks for no compression).
  const SIZE = 20000;
  const expected = "realtime ".repeat(SIZE / 9 + 1).slice(0, SIZE);

  async function bigOverPolling(compress) {
    const socket = open({ transports: [Fetch] });
    await connected(socket, "polling with fetch");
    assert.equal(socket.io.engine.transport.name, "polling");
    const got = withTimeout(new Promise((resolve) => socket.once("big", resolve)), STEP_TIMEOUT, "event big");
    socket.emit("big", SIZE, compress);
    const text = await got;
    assert.equal(typeof text, "string");
    assert.equal(text.length, SIZE);
    assert.ok(text === expected, "the event arrives intact");
    const res = await fetch(`${HTTP_URL}/options-state/encodings?sid=${socket.io.engine.id}`);
    assert.equal(res.status, 200);
    const answers = await res.json();
    socket.disconnect();
    return answers;
  }

  test("a large event arrives intact in a gzip response", T, async () => {
    const answers = await bigOverPolling(true);
    const big = answers.filter((a) => a.contentEncoding !== "");
    assert.equal(big.length, 1, `one compressed answer expected: ${show(answers)}`);
    assert.match(big[0].acceptEncoding, /gzip/, show(answers));
    assert.equal(big[0].contentEncoding, "gzip", show(answers));
    assert.ok(Number(big[0].contentLength) < SIZE / 10, `compressed length ${big[0].contentLength}: ${show(answers)}`);
    for (const a of answers) {
      if (a.contentEncoding === "") assert.ok(Number(a.contentLength) < 1024, `uncompressed answer over the threshold: ${show(answers)}`);
    }
  });

  test("socket.Compress(false): the same event in a plain response", T, async () => {
    const answers = await bigOverPolling(false);
    assert.ok(answers.length > 0);
    assert.ok(answers.every((a) => a.contentEncoding === ""), `no answer compressed: ${show(answers)}`);
    assert.ok(answers.some((a) => Number(a.contentLength) > SIZE), `the event's answer: ${show(answers)}`);
    assert.match(answers[0].acceptEncoding, /gzip/, "the client asked for compression");
  });
});
