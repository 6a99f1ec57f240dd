// The official Socket.IO Admin UI (@socket.io/admin-ui's built files,
// served by e2e_test.go from e2e/node_modules, no internet) in headless
// Chromium, against the rooms example instrumented with package admin:
// it logs in, lists the sockets of two socket.io-client users with their
// rooms, shows an event one of them sent, and disconnects the other.
//
// Run by e2e_test.go with ROOMS_URL (the example, started with -admin-ui),
// ADMIN_UI_URL (the UI's files), ADMIN_PASSWORD, and SCREENSHOT (where the
// screenshot of a socket's page goes: e2e/artifacts/admin-ui.png, of which
// docs/admin-ui.png is a copy).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./chromium.mjs";
import { io } from "socket.io-client";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests through e2e_test.go (REALTIME_E2E=1 go test ./e2e/)`);
  return v.replace(/\/$/, "");
};
const ROOMS = env("ROOMS_URL");
const UI = env("ADMIN_UI_URL");
const PASSWORD = env("ADMIN_PASSWORD");
const SCREENSHOT = env("SCREENSHOT");
const WAIT = 20_000;

let browser;
const users = [];
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  for (const u of users) u.close();
  await browser?.close();
});

// user connects a socket.io-client to the example and joins room.
async function user(room) {
  const s = io(ROOMS, { transports: ["websocket"], reconnection: false, forceNew: true });
  users.push(s);
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  const res = await s.timeout(WAIT).emitWithAck("join", room);
  assert.equal(res.ok, true, JSON.stringify(res));
  return s;
}

// text waits until the page's main content contains s.
async function text(page, s) {
  await page.locator("main").getByText(s, { exact: false }).first().waitFor({ timeout: WAIT });
}

test("the Admin UI watches and acts on a Go hub", { timeout: 120_000 }, async () => {
  const alice = await user("room one");
  const bob = await user("room two");
  const bobID = bob.id; // socket.io-client forgets it on disconnect

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The UI's page links web fonts on public CDNs; this machine is offline
  // and so is the test: only the UI's files and the example are reached.
  await page.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(UI + "/") || u.startsWith(ROOMS + "/")) return route.continue();
    return route.abort();
  });

  await page.goto(UI + "/");
  try {
    await page.getByLabel("Server URL").fill(ROOMS, { timeout: WAIT });
  } catch (e) {
    console.log(await page.content());
    throw e;
  }
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByLabel("Server URL").waitFor({ state: "hidden", timeout: WAIT });

  // The sockets, with their rooms.
  await page.goto(UI + "/#/sockets/");
  await text(page, alice.id);
  await text(page, bob.id);
  await page.goto(UI + "/#/rooms/");
  await text(page, "room one");
  await text(page, "room two");
  await page.goto(UI + `/#/n/${encodeURIComponent("/")}/sockets/${alice.id}`);
  await text(page, "room one");
  await text(page, "websocket"); // the initial request's query
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: SCREENSHOT, animations: "disabled" });

  // An event alice sends.
  const sent = await alice.timeout(WAIT).emitWithAck("new messages", { room: "room one", message: "hello, admin" });
  assert.equal(sent.ok, true, JSON.stringify(sent));
  await page.goto(UI + "/#/events/");
  await text(page, "new messages");

  // Bob is disconnected through the UI: his row's button in the list of
  // sockets (the click opens his page too, which then says so).
  await page.goto(UI + "/#/sockets/");
  await text(page, bobID);
  const gone = new Promise((resolve) => bob.once("disconnect", resolve));
  await page.locator("tr", { hasText: bobID }).getByRole("button").click();
  assert.equal(await gone, "io server disconnect");
  await text(page, "disconnected");
  await page.goto(UI + "/#/sockets/");
  await text(page, alice.id);
  await page.locator("main td.text-start", { hasText: bobID }).first().waitFor({ state: "detached", timeout: WAIT });
  assert.equal(alice.connected, true);

  assert.deepEqual(problems, []);
  await context.close();
});
