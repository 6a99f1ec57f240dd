// The example pages in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core; no browser is downloaded), each scenario twice: with
// socket.io-client's defaults (HTTP long-polling upgraded to WebSocket) and
// with ?transports=polling (long-polling only).
//
// Run by e2e_test.go with CHAT_URL, NAMESPACES_URL and ROOMS_URL set to
// running example servers; screenshots go to E2E_ARTIFACTS (e2e/artifacts).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launchChromium } from "./chromium.mjs";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests through e2e_test.go (REALTIME_E2E=1 go test ./e2e/)`);
  return v.replace(/\/$/, "");
};
const CHAT = env("CHAT_URL");
const NAMESPACES = env("NAMESPACES_URL");
const ROOMS = env("ROOMS_URL");
const ARTIFACTS = process.env.E2E_ARTIFACTS || new URL("./artifacts", import.meta.url).pathname;
const WAIT = 15_000; // one expected thing to appear

mkdirSync(ARTIFACTS, { recursive: true });

const modes = [
  { name: "websocket", query: {}, transport: "websocket" }, // polling, then the upgrade
  { name: "polling", query: { transports: "polling" }, transport: "polling" },
];

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

// url joins base, path and query parameters.
function url(base, path, params) {
  const q = new URLSearchParams(params).toString();
  return base + path + (q ? "?" + q : "");
}

// scenario runs fn with an open(base, path, params, label, before) function
// that opens a page in its own browser context (a separate user), calling
// before(page), if given, before it navigates. Pages still
// open when fn fails are screenshotted; any page error, console error or
// request to another origin fails the scenario.
function scenario(name, fn) {
  test(name, { timeout: 90_000 }, async () => {
    const opened = [];
    const open = async (base, path, params, label, before) => {
      const context = await browser.newContext({ viewport: { width: 720, height: 760 } });
      const page = await context.newPage();
      const p = { label, page, context, problems: [], closed: false };
      page.on("pageerror", (e) => p.problems.push(`${label}: page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") p.problems.push(`${label}: console error: ${m.text()}`);
      });
      page.on("request", (r) => {
        if (!r.url().startsWith(base + "/") && !r.url().startsWith("data:")) {
          p.problems.push(`${label}: request outside the example server (the pages must work offline): ${r.url()}`);
        }
      });
      // close is "this client leaves": the tab goes away.
      p.close = async () => {
        p.closed = true;
        await context.close();
      };
      opened.push(p);
      if (before) await before(page);
      await page.goto(url(base, path, params));
      return p;
    };
    try {
      await fn(open);
      for (const p of opened) assert.deepEqual(p.problems, [], `problems on page ${p.label}`);
    } catch (err) {
      const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
      for (const p of opened) {
        if (!p.closed) await p.page.screenshot({ path: join(ARTIFACTS, `FAILED-${slug}-${p.label}.png`) }).catch(() => {});
        if (p.problems.length) console.log(p.problems.join("\n"));
      }
      throw err;
    } finally {
      for (const p of opened) if (!p.closed) await p.close().catch(() => {});
    }
  });
}

// --- what a page shows -------------------------------------------------

// note: a #log entry of the given kind (see examples/internal/site/static/page.js).
const note = (p, kind, text) => p.page.locator(`#log li[data-kind="${kind}"]`, { hasText: text });
// received: a chat bubble that arrived from someone else.
const received = (p, text) => p.page.locator("#log li.msg:not(.mine)", { hasText: text });
// own: a bubble the page showed for its own message.
const own = (p, text) => p.page.locator("#log li.msg.mine", { hasText: text });

async function sees(locator) {
  await locator.first().waitFor({ timeout: WAIT });
}

async function connected(p, transport) {
  await p.page.locator('#status[data-state="connected"]').waitFor({ timeout: WAIT });
  await p.page.locator(`#status[data-transport="${transport}"]`).waitFor({ timeout: WAIT });
}

async function send(p, text, button = "#sendButton") {
  await p.page.fill("#message", text);
  await p.page.click(button);
}

async function typingLine(p, want) {
  await p.page.waitForFunction((w) => document.getElementById("typing").textContent === w, want, { timeout: WAIT });
}

async function shot(p, file) {
  await p.page.screenshot({ path: join(ARTIFACTS, file) });
}

// --- the scenarios -----------------------------------------------------

// The hub serves the official bundle (hub.Options.ClientFiles) where a
// socket.io page expects it: <script src="/socket.io/socket.io.js">.
scenario("client bundle: the chat page loads /socket.io/socket.io.js from the hub (ETag, 304 on reload) and chats", async (open) => {
  const bundle = []; // the bundle's responses, in order
  const watch = (page) => page.on("response", (r) => {
    if (new URL(r.url()).pathname === "/socket.io/socket.io.js") bundle.push(r);
  });
  const alice = await open(CHAT, "/", { name: "alice" }, "alice", watch);
  await connected(alice, "websocket");
  assert.equal(bundle.length, 1, "one request for the bundle");
  const first = bundle[0];
  assert.equal(first.status(), 200);
  const headers = first.headers();
  assert.equal(headers["content-type"], "application/javascript; charset=utf-8");
  assert.equal(headers["cache-control"], "public, max-age=0");
  const loaded = await alice.page.evaluate(() => typeof window.io === "function" && typeof io.Manager === "function");
  assert.ok(loaded, "the page has the socket.io client (io, io.Manager)");
  assert.match(headers["etag"], /^"4\.8\.\d+-[0-9a-f]+"$/);

  // A reload revalidates the bundle: If-None-Match, answered 304.
  await alice.page.reload();
  await connected(alice, "websocket");
  assert.equal(bundle.length, 2, "the reload asked for the bundle again");
  const again = bundle[1];
  assert.equal((await again.request().allHeaders())["if-none-match"], headers["etag"]);
  assert.equal(again.status(), 304);

  const bob = await open(CHAT, "/", { name: "bob" }, "bob");
  await connected(bob, "websocket");
  await sees(note(alice, "joined", "bob joined"));
  await send(bob, "loaded from /socket.io/socket.io.js");
  await sees(received(alice, "loaded from /socket.io/socket.io.js"));
});

for (const mode of modes) {
  describe(`over ${mode.name}`, () => {
    scenario(`chat (${mode.name}): two pages exchange messages both ways, message.html listens, each sees the others leave`, async (open) => {
      const alice = await open(CHAT, "/", { ...mode.query, name: "alice" }, "alice");
      await connected(alice, mode.transport);
      await sees(note(alice, "login", "you joined as alice"));
      const listener = await open(CHAT, "/message.html", mode.query, "message");
      await connected(listener, mode.transport);
      const bob = await open(CHAT, "/", { ...mode.query, name: "bob" }, "bob");
      await connected(bob, mode.transport);

      // The seed: the server greets every client with an initial message.
      for (const p of [alice, listener, bob]) await sees(note(p, "server", "initial message"));
      // Connects, and the classic demo's "user joined".
      await sees(note(alice, "connect", "a client connected"));
      await sees(note(alice, "joined", "bob joined"));
      await sees(note(listener, "joined", "bob joined"));

      // alice → bob and message.html; alice shows her own message once.
      await send(alice, "Hi Bob! This page talks to a Go server.");
      await sees(received(bob, "Hi Bob! This page talks to a Go server."));
      await sees(received(listener, "Hi Bob! This page talks to a Go server."));
      assert.match(await received(bob, "Hi Bob!").first().locator(".who").textContent(), /^alice$/);

      // bob types (alice sees it), then answers.
      await bob.page.fill("#message", "Hi Alice");
      await typingLine(alice, "bob is typing…");
      await send(bob, "Hi Alice, it works: every page gets it at once.");
      await sees(received(alice, "Hi Alice, it works"));
      await sees(received(listener, "Hi Alice, it works"));
      await typingLine(alice, "");
      await send(alice, "Great. Close a tab and watch the others notice.");
      await sees(received(bob, "Close a tab"));
      await sees(received(listener, "Close a tab"));
      await bob.page.fill("#message", "Closing");
      await typingLine(alice, "bob is typing…");

      // Nobody got their own message back from the server.
      assert.equal(await received(alice, "Hi Bob!").count(), 0, "alice received her own message");
      assert.equal(await own(alice, "Hi Bob!").count(), 1);
      assert.equal(await received(bob, "Hi Alice, it works").count(), 0, "bob received his own message");
      // index.html and message.html never sent "add user" twice: one login each.
      assert.equal(await note(alice, "login", "").count(), 1);

      await connected(alice, mode.transport); // still on the transport asked for
      await shot(alice, `chat-${mode.name}-alice.png`);
      await shot(bob, `chat-${mode.name}-bob.png`);
      await shot(listener, `chat-${mode.name}-message.png`);

      // One client leaves: the others see it at once.
      await bob.close();
      await sees(note(alice, "left", "bob left · 1 user"));
      await sees(note(alice, "disconnect", "a client disconnected"));
      await sees(note(listener, "left", "bob left"));
      await typingLine(alice, "");
      // Then the next one; the last page sees that too.
      await alice.close();
      await sees(note(listener, "left", "alice left · 0 users"));
      await sees(note(listener, "disconnect", "· 1 online"));
      await shot(listener, `chat-${mode.name}-message-after.png`);
    });

    scenario(`namespaces (${mode.name}): /post and /get pages hear only their own namespace`, async (open) => {
      const post1 = await open(NAMESPACES, "/post.html", mode.query, "post1");
      const post2 = await open(NAMESPACES, "/post.html", mode.query, "post2");
      const get = await open(NAMESPACES, "/get.html", mode.query, "get");
      for (const p of [post1, post2, get]) await connected(p, mode.transport);

      // Each namespace greets its own clients.
      await sees(note(post1, "server", "this is the /post namespace"));
      await sees(note(post2, "server", "this is the /post namespace"));
      await sees(note(get, "server", "this is the /get namespace"));

      await send(post1, "hello, /post");
      await sees(own(post1, "hello, /post"));
      await sees(received(post2, "hello, /post"));
      await send(get, "hello, /get");
      await sees(own(get, "hello, /get"));
      await send(post2, "still only /post");
      await sees(received(post1, "still only /post"));
      await sees(own(post2, "still only /post"));
      await send(get, "still only /get");
      await sees(own(get, "still only /get"));

      for (const p of [post1, post2]) {
        assert.equal(await p.page.locator("#log li", { hasText: "/get" }).count(), 0, `${p.label} heard /get`);
      }
      assert.equal(await get.page.locator("#log li", { hasText: "/post" }).count(), 0, "get heard /post");
      await shot(post1, `namespaces-${mode.name}-post.png`);
      await shot(get, `namespaces-${mode.name}-get.png`);
    });

    scenario(`rooms (${mode.name}): join and leave room one; to the room = everyone in it but the sender; from the server = everyone in it`, async (open) => {
      const a = await open(ROOMS, "/", mode.query, "a");
      const b = await open(ROOMS, "/", mode.query, "b");
      const c = await open(ROOMS, "/", mode.query, "c"); // never joins
      for (const p of [a, b, c]) await connected(p, mode.transport);
      const idOf = async (p) => (await p.page.evaluate(() => window.socket.id)).slice(0, 4);
      const [aID, bID] = [await idOf(a), await idOf(b)];

      // socket.join('room one')
      await a.page.click("#join");
      await sees(note(a, "joined", "you joined room one · 1 in the room"));
      await b.page.click("#join");
      await sees(note(b, "joined", "you joined room one · 2 in the room"));
      await sees(note(a, "joined", `${bID} joined room one · 2 in the room`));
      assert.equal(await a.page.getAttribute("#membership", "data-in"), "true");

      // socket.broadcast.to('room one').emit(...): b gets it, not a (the
      // sender) and not c (not in the room).
      await send(a, "hello, room one");
      await sees(received(b, "hello, room one"));
      assert.match(await received(b, "hello, room one").first().locator(".who").textContent(), new RegExp(`^${aID} → room one$`));

      // io.to('room one').emit(...), asked for by c: a and b get it, c does not.
      await c.page.click("#greetButton");
      await sees(note(c, "sent", "asked the server to greet room one (2 in it)"));
      await sees(note(a, "room-server", "server → room one: hello, users in room one"));
      await sees(note(b, "room-server", "server → room one: hello, users in room one"));
      assert.equal(await received(a, "hello, room one").count(), 0, "the sender got its own room message");
      assert.equal(await received(c, "hello, room one").count(), 0, "a page outside the room got a room message");
      assert.equal(await note(c, "room-server", "").count(), 0, "a page outside the room got the server's room message");
      await shot(a, `rooms-${mode.name}-a.png`);
      await shot(b, `rooms-${mode.name}-b.png`);

      // socket.leave('room one'): a sees b go; b hears the room no more.
      await b.page.click("#leave");
      await sees(note(b, "left", "you left room one · 1 in the room"));
      await sees(note(a, "left", `${bID} left room one · 1 in the room`));
      assert.equal(await b.page.getAttribute("#membership", "data-in"), "false");
      await send(b, "b is outside now"); // to a room b left: a still gets it
      await sees(received(a, "b is outside now"));
      await send(a, "anyone still here?");
      await c.page.click("#greetButton");
      await sees(note(c, "sent", "asked the server to greet room one (1 in it)"));
      await sees(note(a, "room-server", "hello").nth(1));
      assert.equal(await note(b, "room-server", "").count(), 1, "b got the server's room message after leaving");
      assert.equal(await received(b, "anyone still here?").count(), 0, "b got a room message after leaving");
      await shot(b, `rooms-${mode.name}-b-after-leave.png`);
    });
  });
}
