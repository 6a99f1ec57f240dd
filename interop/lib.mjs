// Shared helpers for the interop tests: where the server is, raw WebSocket
// and HTTP long-polling clients that keep every wire byte for error messages,
// and small promise utilities. No test logic lives here.

import assert from "node:assert/strict";
import msgpackParser from "socket.io-msgpack-parser";
import WebSocket from "ws";

/** host:port of the server under test (set by interop_test.go). */
export const ADDR = process.env.REALTIME_ADDR || "127.0.0.1:3000";
export const HTTP_URL = `http://${ADDR}`;
export const WS_URL = `ws://${ADDR}`;

/** Settings the conformance server is started with. */
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;
export const MAX_PAYLOAD = 1000000;
export const CONNECT_TIMEOUT = 1000;

/** Engine.IO record separator used to batch packets in a polling payload. */
export const SEP = "\x1e";

/** Default wait for one expected packet / event. */
export const STEP_TIMEOUT = 5000;

/** Per-test timeout for node:test. */
export const TEST_TIMEOUT = 20000;

/**
 * The parser the socket.io-client suites use: the default one, or with
 * REALTIME_PARSER=msgpack (set by msgpack.test.mjs before it imports them)
 * socket.io-msgpack-parser, against the same servers mounted with
 * hub.MsgpackParser (/socket.io/ → /msgpack/, /recovery/ → /msgpack-recovery/).
 */
export const MSGPACK = process.env.REALTIME_PARSER === "msgpack";
export const PARSER_NAME = MSGPACK ? " (msgpack parser)" : "";
export function withParser(opts) {
  if (!MSGPACK) return opts;
  const path = { "/socket.io/": "/msgpack/", "/recovery/": "/msgpack-recovery/" }[opts.path];
  assert.ok(path, `no msgpack server for path ${opts.path}`);
  return { ...opts, path, parser: msgpackParser };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Renders wire data for messages: text as a JS string literal, binary as hex. */
export function show(x) {
  if (x === undefined) return "<nothing>";
  if (typeof x === "string") return JSON.stringify(x);
  if (x && typeof x === "object" && "binary" in x && "data" in x) {
    return x.binary ? `binary<${Buffer.from(x.data).toString("hex")}>` : JSON.stringify(x.data);
  }
  if (Buffer.isBuffer(x) || x instanceof ArrayBuffer || ArrayBuffer.isView(x)) {
    return `binary<${toBuffer(x).toString("hex")}>`;
  }
  return JSON.stringify(x);
}

/** Copies Buffer / ArrayBuffer / typed-array views into a Buffer. */
export function toBuffer(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(new Uint8Array(x));
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError(`not binary: ${show(x)}`);
}

/** Rejects with a clear message when p has not settled within ms. */
export function withTimeout(p, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` emitted by an emitter. */
export function once(emitter, event, ms = STEP_TIMEOUT) {
  return withTimeout(
    new Promise((resolve) => emitter.once(event, (...args) => resolve(args))),
    ms,
    `event ${JSON.stringify(event)}`,
  );
}

/** Parses an Engine.IO open packet ("0{...}") and checks every field. */
export function checkOpenPacket(text, expectedUpgrades) {
  assert.equal(typeof text, "string", `open packet must be text, got ${show(text)}`);
  assert.ok(text.startsWith("0"), `open packet must start with "0", got ${show(text)}`);
  let value;
  try {
    value = JSON.parse(text.slice(1));
  } catch (e) {
    assert.fail(`open packet payload is not JSON: ${show(text)} (${e.message})`);
  }
  assert.deepEqual(
    Object.keys(value).sort(),
    ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"],
    `open packet must have exactly sid/upgrades/pingInterval/pingTimeout/maxPayload: ${show(text)}`,
  );
  assert.equal(typeof value.sid, "string", `sid must be a string: ${show(text)}`);
  assert.ok(value.sid.length > 0, `sid must not be empty: ${show(text)}`);
  assert.deepEqual(value.upgrades, expectedUpgrades, `upgrades in ${show(text)}`);
  assert.equal(value.pingInterval, PING_INTERVAL, `pingInterval in ${show(text)}`);
  assert.equal(value.pingTimeout, PING_TIMEOUT, `pingTimeout in ${show(text)}`);
  assert.equal(value.maxPayload, MAX_PAYLOAD, `maxPayload in ${show(text)}`);
  return value;
}

/**
 * RawWS is a WebSocket client that queues every frame it receives so a test
 * can read them one by one. Text frames come out as strings, binary frames as
 * Buffers. With autoPong (default) Engine.IO pings ("2") are answered with
 * "3" and not queued, so long tests do not hit the ping timeout.
 */
export class RawWS {
  constructor(url, { autoPong = true } = {}) {
    this.url = url;
    this.autoPong = autoPong;
    this.queue = [];
    this.waiters = [];
    this.log = []; // every frame seen, for error messages
    this.pings = 0;
    this.error = null;
    this.isClosed = false;
    this.ws = new WebSocket(url);
    this.ws.binaryType = "nodebuffer";
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("close", () => reject(new Error(`${url}: closed before open (${this.error?.message ?? "no error"})`)));
    });
    this.opened.catch(() => {}); // not every test waits for open
    this.closed = new Promise((resolve) => {
      this.ws.once("close", (code, reason) => {
        this.isClosed = true;
        this.closeInfo = { code, reason: reason.toString(), at: Date.now() };
        for (const w of this.waiters.splice(0)) w.reject(this.closedError(w.what));
        resolve(this.closeInfo);
      });
    });
    this.ws.on("error", (err) => {
      this.error = err;
    });
    this.ws.on("message", (data, isBinary) => {
      const frame = isBinary ? { binary: true, data: Buffer.from(data) } : { binary: false, data: data.toString("utf8") };
      this.log.push(frame);
      if (this.autoPong && !frame.binary && frame.data === "2") {
        this.pings++;
        this.send("3");
        return;
      }
      const w = this.waiters.shift();
      if (w) w.resolve(frame);
      else this.queue.push(frame);
    });
  }

  closedError(what) {
    const c = this.closeInfo;
    return new Error(
      `${this.url}: socket closed (code ${c?.code} ${JSON.stringify(c?.reason ?? "")}${this.error ? ", error: " + this.error.message : ""}) ` +
        `while waiting for ${what}; frames seen: ${this.seen()}`,
    );
  }

  /** The frames received so far, rendered. */
  seen() {
    return this.log.length ? this.log.map(show).join(" ") : "<none>";
  }

  /** Opens a socket to path?query and waits for the WebSocket handshake. */
  static async open(path, query, opts) {
    const s = new RawWS(`${WS_URL}${path}?${query}`, opts);
    await withTimeout(s.opened, STEP_TIMEOUT, `WebSocket open of ${s.url}`);
    return s;
  }

  send(x) {
    this.ws.send(x);
  }

  /** Next frame ({binary, data}). */
  next(what = "a frame", ms = STEP_TIMEOUT) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.isClosed) return Promise.reject(this.closedError(what));
    return new Promise((resolve, reject) => {
      const w = { what, resolve, reject };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.url}: timed out after ${ms} ms waiting for ${what}; frames seen: ${this.seen()}`));
      }, ms);
      w.resolve = (v) => {
        clearTimeout(timer);
        resolve(v);
      };
      w.reject = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      this.waiters.push(w);
    });
  }

  /** Next frame, which must be a text frame; returns its string. */
  async nextText(what = "a text frame", ms) {
    const f = await this.next(what, ms);
    assert.equal(f.binary, false, `expected a text frame (${what}), got ${show(f)}; frames seen: ${this.seen()}`);
    return f.data;
  }

  /** Next frame, which must be a binary frame; returns its Buffer. */
  async nextBinary(what = "a binary frame", ms) {
    const f = await this.next(what, ms);
    assert.equal(f.binary, true, `expected a binary frame (${what}), got ${show(f)}; frames seen: ${this.seen()}`);
    return f.data;
  }

  /** Asserts the next text frame equals want exactly. */
  async expectText(want, ms) {
    const got = await this.nextText(show(want), ms);
    assert.equal(got, want, `wire mismatch: expected ${show(want)}, got ${show(got)}; frames seen: ${this.seen()}`);
  }

  /** Waits until the server closes the socket (or refuses it); returns {code, reason, at}. */
  async expectClose(what, ms = STEP_TIMEOUT) {
    try {
      return await withTimeout(this.closed, ms, what);
    } catch (e) {
      throw new Error(`${e.message}; frames seen: ${this.seen()}`);
    }
  }

  close() {
    if (!this.isClosed) this.ws.terminate();
  }
}

/** One HTTP request with a timeout; returns {status, body, headers}. */
export async function request(url, { method = "GET", body, headers, ms = STEP_TIMEOUT } = {}) {
  let res;
  try {
    res = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(ms) });
  } catch (e) {
    const err = new Error(`${method} ${url}: ${e.name === "TimeoutError" ? `no response within ${ms} ms` : e.message}`);
    err.cause = e;
    throw err;
  }
  const text = await withTimeout(res.text(), ms, `body of ${method} ${url}`);
  return { status: res.status, body: text, headers: res.headers };
}

/**
 * Polling is a raw HTTP long-polling Engine.IO client for one session.
 * get()/post() return {status, body, headers}; packet() hands out the
 * packets of successive GETs one at a time (autoPong answers pings).
 */
export class Polling {
  constructor(path = "/engine.io/", { autoPong = true } = {}) {
    this.path = path;
    this.autoPong = autoPong;
    this.sid = null;
    this.pending = [];
    this.log = [];
  }

  url(query = "") {
    const sid = this.sid ? `&sid=${encodeURIComponent(this.sid)}` : "";
    return `${HTTP_URL}${this.path}?EIO=4&transport=polling${sid}${query}`;
  }

  /** Opens the session; returns the parsed open packet. */
  async handshake() {
    const r = await request(this.url());
    assert.equal(r.status, 200, `handshake GET ${this.url()}: status ${r.status}, body ${show(r.body)}`);
    this.open = checkOpenPacket(r.body, ["websocket"]);
    this.sid = this.open.sid;
    return this.open;
  }

  get(opts = {}) {
    return request(this.url(`&t=${Date.now().toString(36)}`), opts).then((r) => {
      this.log.push(`GET→${r.status} ${show(r.body)}`);
      return r;
    });
  }

  post(body, opts = {}) {
    return request(this.url(), { ...opts, method: "POST", body }).then((r) => {
      this.log.push(`POST ${show(typeof body === "string" ? body : "<binary>")}→${r.status} ${show(r.body)}`);
      return r;
    });
  }

  seen() {
    return this.log.length ? this.log.join(" | ") : "<none>";
  }

  /** Next packet string (e.g. "4hello", "bAQID"), polling as needed. */
  async packet(what = "a packet", ms = STEP_TIMEOUT) {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.pending.length) {
        const p = this.pending.shift();
        if (this.autoPong && p === "2") {
          const r = await this.post("3");
          assert.equal(r.status, 200, `pong POST: status ${r.status} ${show(r.body)}; seen: ${this.seen()}`);
          continue;
        }
        return p;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; seen: ${this.seen()}`);
      const r = await this.get({ ms: left });
      assert.equal(r.status, 200, `GET while waiting for ${what}: status ${r.status} ${show(r.body)}; seen: ${this.seen()}`);
      this.pending.push(...r.body.split(SEP));
    }
  }

  async expectPacket(want, ms) {
    const got = await this.packet(show(want), ms);
    assert.equal(got, want, `wire mismatch: expected ${show(want)}, got ${show(got)}; seen: ${this.seen()}`);
  }
}

/** Asserts an HTTP error answer: status 400 and a JSON body {code, message}. */
export function checkError(r, code, what) {
  assert.equal(r.status, 400, `${what}: expected HTTP 400, got ${r.status} with body ${show(r.body)}`);
  let value;
  try {
    value = JSON.parse(r.body);
  } catch {
    assert.fail(`${what}: 400 body must be JSON {code,message}, got ${show(r.body)}`);
  }
  assert.equal(typeof value.code, "number", `${what}: "code" must be a number in ${show(r.body)}`);
  assert.equal(typeof value.message, "string", `${what}: "message" must be a string in ${show(r.body)}`);
  if (code !== undefined) assert.equal(value.code, code, `${what}: error code in ${show(r.body)}`);
  return value;
}
