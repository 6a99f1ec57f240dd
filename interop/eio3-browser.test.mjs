// socket.io-client 2.x's browser bundle in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded)
// against the /eio3/ server of the conformance program. In a browser the
// 2.x client polls with XHR2, so binary data goes in binary polling
// payloads (application/octet-stream, both ways), which the Node client
// (no XHR2) never uses: this suite covers them, polling only and polling
// upgraded to websocket.
//
// The page, /eio3-page.html, and the bundle, /eio3/socket.io.js (the hub's
// ClientFiles), come from the conformance server (started with
// -client2-dist), so the client's requests are same-origin, as on a site
// that serves it.

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { HTTP_URL, STEP_TIMEOUT } from "./lib.mjs";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const PAGE = `${HTTP_URL}/eio3-page.html`;
const T = { timeout: 60_000 };

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
});

/** Opens the page holding the 2.x bundle at the server's origin. */
async function openPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const octetStream = { get: 0, post: 0 };
  page.on("response", (r) => {
    if (r.url().includes("transport=polling") && r.headers()["content-type"] === "application/octet-stream") octetStream.get++;
  });
  page.on("request", (r) => {
    if (r.method() === "POST" && r.headers()["content-type"] === "application/octet-stream") octetStream.post++;
  });
  await page.goto(PAGE);
  await page.waitForFunction(() => typeof io === "function", null, { timeout: STEP_TIMEOUT });
  return { context, page, problems, octetStream };
}

for (const mode of [
  { name: "polling only", transports: ["polling"], final: "polling" },
  { name: "polling upgraded to websocket", transports: ["polling", "websocket"], final: "websocket" },
]) {
  describe(`socket.io-client 2.x in Chromium, ${mode.name}`, () => {
    test("connects, binary events and acks both ways", T, async () => {
      const { context, page, problems, octetStream } = await openPage();
      try {
        const result = await page.evaluate(
          async ({ transports, wait }) => {
            const timeout = (p, what) =>
              Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), wait))]);
            const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
            const socket = io("/custom", { path: "/eio3/", transports, reconnection: false, forceNew: true, query: { token: "abc" } });
            const [auth, id] = await timeout(
              Promise.all([new Promise((r) => socket.once("auth", r)), new Promise((r) => socket.once("id", r))]),
              "connect",
            );
            const out = { auth, id, sid: socket.io.engine.id, clientID: socket.id, supportsBinary: socket.io.engine.transport.supportsBinary };
            if (transports.length > 1 && socket.io.engine.transport.name !== "websocket") {
              await timeout(new Promise((r) => socket.io.engine.once("upgrade", r)), "upgrade");
            }
            const root = io("/", { path: "/eio3/", transports, reconnection: false });
            await timeout(new Promise((r) => root.once("connect", r)), "connect to /");
            if (transports.length > 1 && root.io.engine.transport.name !== "websocket") {
              // root has a connection of its own (socket's was forceNew): it upgrades too.
              await timeout(new Promise((r) => root.io.engine.once("upgrade", r)), "upgrade of /");
            }
            const bin = new Uint8Array([0, 1, 2, 0xfe, 0xff]).buffer;
            const back = await timeout(new Promise((r) => {
              root.once("message-back", (...a) => r(a));
              root.emit("message", "é😀", bin, { nested: bin });
            }), "message-back");
            out.back = [back[0], hex(back[1]), hex(back[2].nested)];
            const ack = await timeout(new Promise((r) => root.emit("message-with-ack", bin, (...a) => r(a))), "ack");
            out.ack = ack.map(hex);
            const request = new Promise((r) =>
              root.once("server-ack-request", (...a) => {
                const cb = a.pop();
                cb(new Uint8Array([7, 8]).buffer);
                r(a.map(hex));
              }),
            );
            const result = new Promise((r) => root.once("server-ack-result", (...a) => r(a.map(hex))));
            root.emit("emit-with-ack", new Uint8Array([9]).buffer);
            out.request = await timeout(request, "server-ack-request");
            out.result = await timeout(result, "server-ack-result");
            out.transport = root.io.engine.transport.name;
            socket.close();
            root.close();
            return out;
          },
          { transports: mode.transports, wait: STEP_TIMEOUT },
        );
        assert.deepEqual(problems, []);
        assert.deepEqual(result.auth, { token: "abc" });
        assert.equal(result.id, `/custom#${result.sid}`);
        assert.equal(result.clientID, result.id);
        assert.equal(result.supportsBinary, true, "XHR2 polling takes binary");
        assert.deepEqual(result.back, ["é😀", "000102feff", "000102feff"]);
        assert.deepEqual(result.ack, ["000102feff"]);
        assert.deepEqual(result.request, ["09"]);
        assert.deepEqual(result.result, ["0708"]);
        assert.equal(result.transport, mode.final);
        if (mode.final === "polling") {
          assert.ok(octetStream.get > 0, "a binary polling response");
          assert.ok(octetStream.post > 0, "a binary polling request");
        }
      } finally {
        await context.close();
      }
    });
  });
}
