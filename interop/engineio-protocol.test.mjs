// Raw Engine.IO v4 protocol checks against the echo server at /engine.io/,
// with fetch (HTTP long-polling) and ws (WebSocket): what a spec test suite
// checks, written from the protocol description. Every failure message shows
// the wire bytes seen.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import {
  HTTP_URL,
  PING_INTERVAL,
  PING_TIMEOUT,
  MAX_PAYLOAD,
  SEP,
  STEP_TIMEOUT,
  TEST_TIMEOUT,
  Polling,
  RawWS,
  checkError,
  checkOpenPacket,
  request,
  show,
  sleep,
  withTimeout,
} from "./lib.mjs";

const PATH = "/engine.io/";
const T = { timeout: TEST_TIMEOUT };
// Slack for timers on a loaded 2-core machine.
const MARGIN = 400;

const sockets = [];
function track(s) {
  sockets.push(s);
  return s;
}
after(() => sockets.forEach((s) => s.close()));

const wsOpen = (query, opts) => RawWS.open(PATH, query, opts).then(track);

async function wsSession(opts) {
  const s = await wsOpen("EIO=4&transport=websocket", opts);
  const open = checkOpenPacket(await s.nextText("open packet"), []);
  return { s, sid: open.sid };
}

async function pollingSession(opts) {
  const p = new Polling(PATH, opts);
  await p.handshake();
  return p;
}

/**
 * After "5" the next websocket frame must be the echo of what was sent: the
 * official suite checks exactly this, so a noop "6" (which belongs on the
 * polling GET only) or anything else before it fails.
 */
async function expectFirstAfterUpgrade(s, want) {
  const got = await s.nextText(`echo ${show(want)} after the upgrade`);
  assert.equal(
    got,
    want,
    `after "5" the first websocket frame must be the echo ${show(want)}, got ${show(got)} ` +
      `(a noop "6" belongs on the polling GET, never on the websocket); frames seen: ${s.seen()}`,
  );
}

describe("handshake", () => {
  test("polling: GET opens a session with exactly sid/upgrades/pingInterval/pingTimeout/maxPayload", T, async () => {
    const r = await request(`${HTTP_URL}${PATH}?EIO=4&transport=polling`);
    assert.equal(r.status, 200, `status ${r.status} body ${show(r.body)}`);
    const ct = r.headers.get("content-type") ?? "";
    assert.match(ct, /^text\/plain/i, `Content-Type of a polling GET: ${show(ct)}`);
    checkOpenPacket(r.body, ["websocket"]);
  });

  test("polling: two handshakes get different sids", T, async () => {
    const a = await pollingSession();
    const b = await pollingSession();
    assert.notEqual(a.sid, b.sid);
  });

  test("polling: any Origin is allowed (CORS header present)", T, async () => {
    const origin = "http://example.test:8080";
    const r = await request(`${HTTP_URL}${PATH}?EIO=4&transport=polling`, { headers: { Origin: origin } });
    assert.equal(r.status, 200, `status ${r.status} body ${show(r.body)}`);
    const acao = r.headers.get("access-control-allow-origin");
    assert.ok(acao === "*" || acao === origin, `Access-Control-Allow-Origin: ${show(acao)} (want "*" or the origin)`);
  });

  test("websocket: first frame is the open packet with upgrades []", T, async () => {
    const s = await wsOpen("EIO=4&transport=websocket");
    checkOpenPacket(await s.nextText("open packet"), []);
  });

  const bad = [
    ["missing EIO", "transport=polling", 5],
    ["EIO=abc", "EIO=abc&transport=polling", 5],
    ["EIO=3 (unsupported version)", "EIO=3&transport=polling", 5],
    ["missing transport", "EIO=4", 0],
    ["transport=abc", "EIO=4&transport=abc", 0],
  ];
  for (const [name, query, code] of bad) {
    test(`polling: ${name} → 400 {"code":${code},...}`, T, async () => {
      checkError(await request(`${HTTP_URL}${PATH}?${query}`), code, `GET ?${query}`);
    });
  }

  for (const method of ["POST", "PUT", "DELETE"]) {
    test(`polling: ${method} without sid → 400 {"code":2,...} (handshake is GET only)`, T, async () => {
      const r = await request(`${HTTP_URL}${PATH}?EIO=4&transport=polling`, { method, body: method === "DELETE" ? undefined : "4hello" });
      checkError(r, 2, `${method} without sid`);
    });
  }

  test('polling: unknown sid → 400 {"code":1,...} for GET and POST', T, async () => {
    const url = `${HTTP_URL}${PATH}?EIO=4&transport=polling&sid=doesnotexist`;
    checkError(await request(url), 1, "GET with unknown sid");
    checkError(await request(url, { method: "POST", body: "4hello" }), 1, "POST with unknown sid");
  });

  const badWS = [
    ["missing EIO", "transport=websocket"],
    ["EIO=abc", "EIO=abc&transport=websocket"],
    ["missing transport", "EIO=4"],
    ["transport=abc", "EIO=4&transport=abc"],
    ["unknown sid", "EIO=4&transport=websocket&sid=doesnotexist"],
  ];
  for (const [name, query] of badWS) {
    test(`websocket: ${name} → refused or closed without an open packet`, T, async () => {
      const s = track(new RawWS(`${HTTP_URL.replace("http", "ws")}${PATH}?${query}`));
      await s.expectClose("the server to refuse/close the WebSocket");
      assert.ok(
        !s.log.some((f) => !f.binary && f.data.startsWith("0")),
        `no open packet may be sent; frames seen: ${s.seen()}`,
      );
    });
  }
});

describe("message: polling", () => {
  test("one text packet: POST 4hello → ok, GET → 4hello", T, async () => {
    const p = await pollingSession();
    const r = await p.post("4hello");
    assert.equal(r.status, 200, `POST: ${r.status} ${show(r.body)}`);
    assert.equal(r.body, "ok", "POST answer body");
    const g = await p.get();
    assert.equal(g.status, 200);
    assert.equal(g.body, "4hello", `GET body; seen: ${p.seen()}`);
    assert.match(g.headers.get("content-type") ?? "", /^text\/plain/i, "GET Content-Type");
  });

  test("batched text packets come back batched with \\x1e", T, async () => {
    const p = await pollingSession();
    const payload = ["4test1", "4test2", "4test3"].join(SEP);
    assert.equal((await p.post(payload)).status, 200);
    const g = await p.get();
    assert.equal(g.status, 200);
    assert.equal(g.body, payload, `GET body; seen: ${p.seen()}`);
  });

  test("text and binary (b + base64) packets", T, async () => {
    const p = await pollingSession();
    const payload = `4hello${SEP}bAQIDBA==`;
    assert.equal((await p.post(payload)).status, 200);
    const g = await p.get();
    assert.equal(g.body, payload, `GET body; seen: ${p.seen()}`);
  });

  test("UTF-8 multi-byte text and empty messages survive", T, async () => {
    const p = await pollingSession();
    const payload = ["4héllo wörld €", "4😀🎉", "4", "b"].join(SEP);
    assert.equal((await p.post(payload)).status, 200);
    const got = [];
    while (got.length < 4) got.push(await p.packet(`packet ${got.length + 1} of 4`));
    assert.deepEqual(got, payload.split(SEP), `seen: ${p.seen()}`);
  });

  test("a GET is held open until something is queued", T, async () => {
    const p = await pollingSession();
    const pending = p.get();
    // Nothing is queued yet: the GET must still be pending after a while
    // (well below pingInterval, so no ping releases it).
    const early = await Promise.race([pending.then(() => "answered"), sleep(100).then(() => "pending")]);
    assert.equal(early, "pending", `the GET returned before anything was queued; seen: ${p.seen()}`);
    assert.equal((await p.post("4late")).status, 200);
    const g = await pending;
    assert.equal(g.body, "4late", `seen: ${p.seen()}`);
  });

  test("many packets stay in order", T, async () => {
    const p = await pollingSession();
    const want = [];
    for (let batch = 0; batch < 10; batch++) {
      const pkts = [];
      for (let i = 0; i < 20; i++) pkts.push(`4m${batch * 20 + i}`);
      want.push(...pkts);
      assert.equal((await p.post(pkts.join(SEP))).status, 200);
    }
    const got = [];
    while (got.length < want.length) got.push(await p.packet(`packet ${got.length}`));
    assert.deepEqual(got, want);
  });

  test("undecodable payload abc → 400 (or dropped) and the session is closed [stricter than the Node reference: it answers 200 ok, then closes]", T, async () => {
    const p = await pollingSession();
    try {
      const r = await p.post("abc");
      assert.equal(r.status, 400, `POST abc: ${r.status} ${show(r.body)}`);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      // dropping the connection is allowed
    }
    checkError(await p.get(), undefined, "GET after a bad payload");
  });

  test("POST larger than maxPayload → 413 and the session is closed [stricter than the Node reference: it keeps the session]", T, async () => {
    const p = await pollingSession();
    let status;
    try {
      status = (await p.post("4" + "a".repeat(MAX_PAYLOAD + 10))).status;
    } catch {
      status = "connection dropped";
    }
    assert.ok(status === 413 || status === "connection dropped", `oversized POST: ${status}`);
    const g = await p.get();
    assert.equal(g.status, 400, `GET after oversized POST: ${g.status} ${show(g.body)}`);
  });

  test("second concurrent GET → 400 and the first GET gets close (1); later 400", T, async () => {
    const p = await pollingSession();
    const first = p.get();
    await sleep(50); // let the first GET reach the server
    const second = await p.get();
    assert.ok([400, 500].includes(second.status), `second GET: ${second.status} ${show(second.body)}`);
    const g = await first;
    assert.equal(g.status, 200, `first GET: ${g.status}`);
    assert.equal(g.body, "1", `first GET must get the close packet; seen: ${p.seen()}`);
    checkError(await p.get(), 1, "GET after duplicate-poll close");
  });

  test("close packet 1 via POST: pending GET gets noop 6, later requests 400", T, async () => {
    const p = await pollingSession();
    const pending = p.get();
    await sleep(50); // let the GET reach the server
    const r = await p.post("1");
    assert.equal(r.status, 200, `POST 1: ${r.status} ${show(r.body)}`);
    const g = await pending;
    assert.equal(g.status, 200);
    assert.equal(g.body, "6", `pending GET after client close; seen: ${p.seen()}`);
    checkError(await p.get(), 1, "GET after close");
    checkError(await p.post("4x"), 1, "POST after close");
  });
});

describe("message: websocket", () => {
  test("text echo", T, async () => {
    const { s } = await wsSession();
    s.send("4hello");
    await s.expectText("4hello");
  });

  test("binary echo (raw bytes, no type byte)", T, async () => {
    const { s } = await wsSession();
    s.send(Uint8Array.from([1, 2, 3, 4]));
    const b = await s.nextBinary("binary echo");
    assert.deepEqual([...b], [1, 2, 3, 4]);
    s.send(Buffer.alloc(0));
    assert.equal((await s.nextBinary("empty binary echo")).length, 0);
  });

  test("UTF-8 and a 100 KB message", T, async () => {
    const { s } = await wsSession();
    s.send("4😀 héllo");
    await s.expectText("4😀 héllo");
    const big = "4" + "x".repeat(100000);
    s.send(big);
    const got = await s.nextText("100 KB echo");
    assert.equal(got.length, big.length);
    assert.ok(got === big, "100 KB echo differs");
  });

  test("many messages in order, text and binary interleaved", T, async () => {
    const { s } = await wsSession();
    const n = 500;
    for (let i = 0; i < n; i++) {
      if (i % 5 === 0) s.send(Buffer.from([i & 255, i >> 8]));
      else s.send(`4m${i}`);
    }
    for (let i = 0; i < n; i++) {
      const f = await s.next(`message ${i}`);
      if (i % 5 === 0) assert.deepEqual(f, { binary: true, data: Buffer.from([i & 255, i >> 8]) }, `message ${i}`);
      else assert.deepEqual(f, { binary: false, data: `4m${i}` }, `message ${i}`);
    }
  });

  test("a message larger than maxPayload closes the socket (1009)", T, async () => {
    const { s } = await wsSession();
    s.send("4" + "a".repeat(MAX_PAYLOAD + 10));
    const c = await s.expectClose("close after an oversized message");
    assert.equal(c.code, 1009, `close code after an oversized message: ${c.code} ${show(c.reason)}`);
  });

  test("invalid packet abc closes the socket", T, async () => {
    const { s } = await wsSession();
    s.send("abc");
    await s.expectClose("close after invalid packet");
  });

  test("client close packet 1 closes the socket [stricter than the Node reference: it waits for the ping timeout]", T, async () => {
    const { s } = await wsSession();
    s.send("1");
    await s.expectClose("close after client close packet", PING_INTERVAL + PING_TIMEOUT + STEP_TIMEOUT);
  });

  test("a polling request for a websocket session → 400", T, async () => {
    const { sid } = await wsSession();
    const url = `${HTTP_URL}${PATH}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    checkError(await request(url), undefined, "polling GET on a websocket session");
    checkError(await request(url, { method: "POST", body: "4x" }), undefined, "polling POST on a websocket session");
  });
});

describe("heartbeat", () => {
  test("polling: ping 2 arrives within pingInterval, pong 3 keeps the session (3 rounds)", T, async () => {
    const p = await pollingSession({ autoPong: false });
    let last = Date.now();
    for (let i = 0; i < 3; i++) {
      const g = await p.get({ ms: PING_INTERVAL + PING_TIMEOUT + MARGIN });
      const took = Date.now() - last;
      assert.equal(g.status, 200, `GET ${i}: ${g.status}`);
      assert.equal(g.body, "2", `GET ${i} must return a ping; seen: ${p.seen()}`);
      assert.ok(took <= PING_INTERVAL + MARGIN, `ping ${i} came after ${took} ms (pingInterval ${PING_INTERVAL})`);
      const r = await p.post("3");
      assert.equal(r.status, 200, `pong POST ${i}: ${r.status} ${show(r.body)}`);
      last = Date.now();
    }
  });

  test("polling: no pong → session gone after pingInterval+pingTimeout", T, async () => {
    const p = await pollingSession({ autoPong: false });
    // Exactly the deadline, as the official socket.io-protocol suite polls:
    // the session must not outlive it, not even by a late timer.
    await sleep(PING_INTERVAL + PING_TIMEOUT);
    checkError(await p.get(), 1, "GET after ping timeout");
    checkError(await p.post("3"), 1, "POST after ping timeout");
  });

  test("polling: a GET pending at ping timeout is answered (not left hanging)", T, async () => {
    const p = await pollingSession({ autoPong: false });
    const g1 = await p.get({ ms: PING_INTERVAL + MARGIN + STEP_TIMEOUT });
    assert.equal(g1.body, "2", `first GET must carry the ping; seen: ${p.seen()}`);
    // do not pong; the next GET must end when the session times out
    const start = Date.now();
    const g2 = await p.get({ ms: PING_TIMEOUT + STEP_TIMEOUT });
    const took = Date.now() - start;
    assert.ok(
      (g2.status === 200 && g2.body === "1") || g2.status === 400,
      `GET pending at ping timeout: ${g2.status} ${show(g2.body)} (want 200 "1" or 400)`,
    );
    assert.ok(took <= PING_TIMEOUT + MARGIN * 2, `pending GET ended ${took} ms after the ping (pingTimeout ${PING_TIMEOUT})`);
  });

  test("websocket: ping 2 arrives within pingInterval, pong 3 keeps the session (3 rounds)", T, async () => {
    const { s } = await wsSession({ autoPong: false });
    let last = Date.now();
    for (let i = 0; i < 3; i++) {
      await s.expectText("2", PING_INTERVAL + MARGIN + STEP_TIMEOUT);
      const took = Date.now() - last;
      assert.ok(took <= PING_INTERVAL + MARGIN, `ping ${i} came after ${took} ms (pingInterval ${PING_INTERVAL})`);
      s.send("3");
      last = Date.now();
    }
    s.send("4still-alive");
    await s.expectText("4still-alive");
  });

  test("websocket: a pong sent at pingInterval+pingTimeout is too late", T, async () => {
    const { s } = await wsSession({ autoPong: false });
    const deadline = Date.now() + PING_INTERVAL + PING_TIMEOUT;
    await s.expectText("2", PING_INTERVAL + MARGIN + STEP_TIMEOUT);
    await sleep(deadline - Date.now());
    if (!s.isClosed) s.send("3");
    await s.expectClose("close after a late pong");
    const pings = s.log.filter((f) => f.data === "2").length;
    assert.equal(pings, 1, `one ping, none after the deadline; frames: ${s.seen()}`);
  });

  test("websocket: no pong → socket closed after pingInterval+pingTimeout", T, async () => {
    const start = Date.now();
    const { s } = await wsSession({ autoPong: false });
    const c = await s.expectClose("close on ping timeout", PING_INTERVAL + PING_TIMEOUT + STEP_TIMEOUT);
    const took = c.at - start;
    assert.ok(took >= PING_INTERVAL, `closed after ${took} ms, before the first ping was even due`);
    assert.ok(took <= PING_INTERVAL + PING_TIMEOUT + MARGIN * 2, `closed after ${took} ms`);
    assert.ok(s.log.some((f) => f.data === "2"), `a ping must have been sent before closing; frames: ${s.seen()}`);
  });
});

describe("upgrade polling → websocket", () => {
  test("2probe → 3probe, pending GET released with 6, 5 upgrades, polling then 400", T, async () => {
    const p = await pollingSession();
    const pending = p.get();
    await sleep(50); // let the GET reach the server
    const s = await wsOpen(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
    s.send("2probe");
    await s.expectText("3probe");
    const g = await pending;
    assert.equal(g.status, 200, `pending GET: ${g.status}`);
    assert.equal(g.body, "6", `pending GET must be released with noop; seen: ${p.seen()}`);
    s.send("5");
    s.send("4hello");
    await expectFirstAfterUpgrade(s, "4hello");
    checkError(await p.get(), undefined, "polling GET after upgrade");
    checkError(await p.post("4x"), undefined, "polling POST after upgrade");
    // the session lives on the websocket now: heartbeat goes there
    s.send(Buffer.from([9, 8, 7]));
    assert.deepEqual([...(await s.nextBinary("binary echo after upgrade"))], [9, 8, 7]);
  });

  test("GET after 3probe (before 5) is answered with 6 at once", T, async () => {
    const p = await pollingSession();
    const s = await wsOpen(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
    s.send("2probe");
    await s.expectText("3probe");
    const g = await p.get({ ms: 1000 });
    assert.equal(g.body, "6", `GET during upgrade; seen: ${p.seen()}`);
    s.send("5");
    s.send("4after");
    await expectFirstAfterUpgrade(s, "4after");
  });

  test("messages queued before the upgrade are delivered on the websocket", T, async () => {
    const p = await pollingSession();
    const s = await wsOpen(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
    s.send("2probe");
    await s.expectText("3probe");
    // queued on the polling side while the upgrade is in progress
    const r = await p.post(`4queued1${SEP}4queued2`);
    assert.equal(r.status, 200, `POST during upgrade: ${r.status}`);
    s.send("5");
    const got = [];
    // they may come on a last GET (answered with 6 or the packets) or on the websocket
    while (got.length < 2) {
      const f = await s.next(`queued message ${got.length + 1}`);
      if (!f.binary && f.data === "6") continue; // noop is allowed here
      got.push(show(f));
    }
    assert.deepEqual(got, [show("4queued1"), show("4queued2")]);
  });

  test("a second websocket with the same sid after upgrade is closed", T, async () => {
    const p = await pollingSession();
    const s = await wsOpen(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
    s.send("2probe");
    await s.expectText("3probe");
    s.send("5");
    s.send("4ping-through");
    await expectFirstAfterUpgrade(s, "4ping-through");
    const s2 = track(new RawWS(`${HTTP_URL.replace("http", "ws")}${PATH}?EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`));
    await s2.expectClose("second websocket to be closed");
    // the first websocket still works
    s.send("4still-here");
    await s.expectText("4still-here");
  });

  test("client close 1 over the upgraded websocket ends the session [stricter than the Node reference]", T, async () => {
    const p = await pollingSession();
    const s = await wsOpen(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
    s.send("2probe");
    await s.expectText("3probe");
    s.send("5");
    s.send("1");
    await s.expectClose("close after 1", PING_INTERVAL + PING_TIMEOUT + STEP_TIMEOUT);
    const g = await p.get();
    assert.equal(g.status, 400, `GET after close: ${g.status} ${show(g.body)}`);
  });

  test("heartbeat continues over the upgraded websocket", T, async () => {
    const p = await pollingSession({ autoPong: false });
    const s = await wsOpen(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`, { autoPong: false });
    s.send("2probe");
    await s.expectText("3probe");
    s.send("5");
    for (let i = 0; i < 2; i++) {
      let f;
      do f = await s.next(`ping ${i}`, PING_INTERVAL + PING_TIMEOUT + STEP_TIMEOUT);
      while (!f.binary && f.data === "6");
      assert.equal(show(f), show("2"), `expected ping ${i}; frames: ${s.seen()}`);
      s.send("3");
    }
    s.send("4alive");
    await withTimeout(s.expectText("4alive"), STEP_TIMEOUT, "echo after heartbeats");
  });
});
