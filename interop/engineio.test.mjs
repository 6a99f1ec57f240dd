// The official engine.io-client against the echo server at /engine.io/,
// over websocket only, polling only, and polling upgraded to websocket.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "engine.io-client";
import { HTTP_URL, PING_INTERVAL, PING_TIMEOUT, STEP_TIMEOUT, TEST_TIMEOUT, show, sleep, toBuffer, withTimeout } from "./lib.mjs";

const T = { timeout: TEST_TIMEOUT };

const MODES = [
  { name: "websocket only", transports: ["websocket"], final: "websocket" },
  { name: "polling only", transports: ["polling"], final: "polling" },
  { name: "polling upgraded to websocket", transports: undefined, final: "websocket" },
];

const open = [];
after(() => open.forEach((s) => s.close()));

/**
 * Connects and resolves once the socket is open and, in upgrade mode, once
 * the upgrade to websocket has completed.
 */
async function connect(mode, extra = {}, { waitUpgrade = true } = {}) {
  const opts = { path: "/engine.io/", ...extra };
  if (mode.transports) opts.transports = mode.transports;
  const socket = new Socket(HTTP_URL, opts);
  open.push(socket);
  const events = [];
  socket.on("error", (e) => events.push(`error: ${e?.message ?? e} ${e?.description?.message ?? ""}`));
  socket.on("close", (reason, desc) => events.push(`close: ${reason} ${desc?.message ?? desc?.description ?? ""}`));
  socket.on("upgradeError", (e) => events.push(`upgradeError: ${e?.message ?? e}`));
  socket.events = events;
  const upgraded = mode.transports
    ? null
    : new Promise((resolve, reject) => {
        socket.once("upgrade", resolve);
        socket.once("upgradeError", (e) => reject(new Error(`upgrade failed: ${e?.message ?? e}; events: ${events.join("; ")}`)));
      });
  if (upgraded) upgraded.catch(() => {});
  socket.upgraded = upgraded;
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", (e) => reject(new Error(`connect failed: ${e?.message ?? e}; events: ${events.join("; ")}`)));
      socket.once("close", (r) => reject(new Error(`closed before open: ${r}; events: ${events.join("; ")}`)));
    }),
    STEP_TIMEOUT,
    `engine.io-client open (${mode.name})`,
  );
  if (upgraded && waitUpgrade) {
    await withTimeout(upgraded, STEP_TIMEOUT, `upgrade event (${mode.name}); events: ${events.join("; ")}`);
  }
  return socket;
}

/** Resolves with the next n "message" events' data. */
function collect(socket, n, ms = STEP_TIMEOUT) {
  const got = [];
  return withTimeout(
    new Promise((resolve) => {
      const h = (d) => {
        got.push(d);
        if (got.length === n) {
          socket.off("message", h);
          resolve(got);
        }
      };
      socket.on("message", h);
    }),
    ms,
    `${n} messages (got ${got.length}: ${got.slice(-3).map(show).join(" ")}; events: ${socket.events.join("; ")})`,
  );
}

for (const mode of MODES) {
  describe(`engine.io-client, ${mode.name}`, () => {
    test("opens on the expected transport", T, async () => {
      const socket = await connect(mode);
      assert.equal(socket.transport.name, mode.final, `transport after open${mode.transports ? "" : " and upgrade"}`);
      assert.equal(typeof socket.id, "string");
      assert.ok(socket.id.length > 0, "socket.id (sid) must be set");
      socket.close();
    });

    test("text echo, including UTF-8", T, async () => {
      const socket = await connect(mode);
      // (no empty string: the client parser turns "" into undefined; no \x1e:
      // it is the polling record separator and cannot appear in a text message)
      const msgs = ["hello", "héllo wörld € 😀", "4not-a-type", "line1\nline2\ttab \"quoted\" \\ back"];
      const got = collect(socket, msgs.length);
      for (const m of msgs) socket.send(m);
      assert.deepEqual(await got, msgs);
      socket.close();
    });

    test("binary echo: Buffer and ArrayBuffer", T, async () => {
      const socket = await connect(mode);
      const got = collect(socket, 3);
      socket.send(Buffer.from([1, 2, 3, 4]));
      socket.send(Uint8Array.from([5, 6, 7]).buffer);
      socket.send(Buffer.from([0, 255, 0x1e, 0x34]));
      const [a, b, c] = await got;
      for (const x of [a, b, c]) assert.ok(typeof x !== "string", `binary must come back binary, got ${show(x)}`);
      assert.deepEqual([...toBuffer(a)], [1, 2, 3, 4]);
      assert.deepEqual([...toBuffer(b)], [5, 6, 7]);
      assert.deepEqual([...toBuffer(c)], [0, 255, 0x1e, 0x34]);
      socket.close();
    });

    test("binary arrives as ArrayBuffer with binaryType arraybuffer", T, async () => {
      const socket = await connect(mode);
      socket.binaryType = "arraybuffer";
      const got = collect(socket, 1);
      socket.send(Buffer.from("binary-data"));
      const [x] = await got;
      assert.ok(x instanceof ArrayBuffer, `expected an ArrayBuffer, got ${show(x)}`);
      assert.equal(Buffer.from(x).toString(), "binary-data");
      socket.close();
    });

    test("1000 mixed messages arrive in order", T, async () => {
      const socket = await connect(mode);
      const n = 1000;
      const got = collect(socket, n, 15000);
      const want = [];
      for (let i = 0; i < n; i++) {
        const m = i % 7 === 0 ? Buffer.from(`bin-${i}`) : `text-${i}`;
        want.push(show(m));
        socket.send(m);
      }
      const received = (await got).map((x) => (typeof x === "string" ? show(x) : show(toBuffer(x))));
      assert.deepEqual(received, want);
      socket.close();
    });

    test("idle connection survives several heartbeats", T, async () => {
      const socket = await connect(mode);
      let pings = 0;
      socket.on("ping", () => pings++);
      await sleep(3 * PING_INTERVAL + PING_TIMEOUT);
      assert.ok(pings >= 2, `expected at least 2 server pings in ${3 * PING_INTERVAL + PING_TIMEOUT} ms, got ${pings}`);
      assert.equal(socket.readyState, "open", `events: ${socket.events.join("; ")}`);
      const got = collect(socket, 1);
      socket.send("after-idle");
      assert.deepEqual(await got, ["after-idle"]);
      socket.close();
    });

    test("close() closes cleanly", T, async () => {
      const socket = await connect(mode);
      const closed = new Promise((resolve) => socket.once("close", (reason) => resolve(reason)));
      socket.close();
      assert.equal(await withTimeout(closed, STEP_TIMEOUT, "close event"), "forced close");
      assert.equal(socket.readyState, "closed");
    });

    if (!mode.transports) {
      test("messages sent before and during the upgrade arrive in order", T, async () => {
        const socket = await connect(mode, {}, { waitUpgrade: false });
        const n = 200;
        const got = collect(socket, n, 10000);
        const want = [];
        for (let i = 0; i < n; i++) {
          want.push(`m${i}`);
          socket.send(`m${i}`);
          if (i % 20 === 0) await sleep(1); // spread over the upgrade
        }
        assert.deepEqual(await got, want);
        await withTimeout(socket.upgraded, STEP_TIMEOUT, "upgrade");
        assert.equal(socket.transport.name, "websocket");
        socket.close();
      });
    }
  });
}
