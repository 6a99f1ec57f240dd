// Raw Socket.IO v5 protocol checks against /socket.io/, with ws and fetch:
// exact wire bytes of CONNECT / EVENT / ACK / binary packets, namespace
// handling and the error cases that must close the connection.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import {
  CONNECT_TIMEOUT,
  PING_INTERVAL,
  PING_TIMEOUT,
  SEP,
  STEP_TIMEOUT,
  TEST_TIMEOUT,
  Polling,
  RawWS,
  checkError,
  checkOpenPacket,
  show,
  sleep,
} from "./lib.mjs";

const PATH = "/socket.io/";
const T = { timeout: TEST_TIMEOUT };
const MARGIN = 400;
const PH0 = '{"_placeholder":true,"num":0}';
const PH1 = '{"_placeholder":true,"num":1}';

const sockets = [];
after(() => sockets.forEach((s) => s.close()));

/** Opens an Engine.IO websocket session on /socket.io/; returns {s, eioSid}. */
async function eioWS(opts) {
  const s = await RawWS.open(PATH, "EIO=4&transport=websocket", opts);
  sockets.push(s);
  const open = checkOpenPacket(await s.nextText("Engine.IO open packet"), []);
  return { s, eioSid: open.sid };
}

/** Parses a CONNECT answer "40[nsp,]{"sid":...}" and returns the sid. */
function checkConnectReply(text, prefix) {
  assert.ok(text.startsWith(prefix), `CONNECT reply must start with ${show(prefix)}, got ${show(text)}`);
  let v;
  try {
    v = JSON.parse(text.slice(prefix.length));
  } catch {
    assert.fail(`CONNECT reply payload is not JSON: ${show(text)}`);
  }
  assert.deepEqual(Object.keys(v), ["sid"], `CONNECT reply payload must be exactly {"sid":...}: ${show(text)}`);
  assert.equal(typeof v.sid, "string");
  assert.ok(v.sid.length > 0, "sid must not be empty");
  return v.sid;
}

/** Connected Socket.IO session over websocket on "/" (auth event consumed). */
async function sioWS(opts) {
  const c = await eioWS(opts);
  c.s.send("40");
  c.sioSid = checkConnectReply(await c.s.nextText("CONNECT reply"), "40");
  await c.s.expectText('42["auth",{}]');
  return c;
}

/** Connected Socket.IO session over polling on "/" (auth event consumed). */
async function sioPolling() {
  const p = new Polling(PATH);
  await p.handshake();
  const r = await p.post("40");
  assert.equal(r.status, 200, `POST 40: ${r.status} ${show(r.body)}`);
  p.sioSid = checkConnectReply(await p.packet("CONNECT reply"), "40");
  await p.expectPacket('42["auth",{}]');
  return p;
}

describe("Engine.IO layer on /socket.io/", () => {
  test("polling handshake has the same open packet", T, async () => {
    const p = new Polling(PATH);
    await p.handshake();
  });

  test("websocket handshake has the same open packet", T, async () => {
    await eioWS();
  });

  // The official socket.io-protocol suite polls exactly
  // pingInterval+pingTimeout after the handshake and wants the session gone.
  test("polling: no pong → 400 exactly pingInterval+pingTimeout after the handshake", T, async () => {
    const p = new Polling(PATH);
    await p.handshake();
    await sleep(PING_INTERVAL + PING_TIMEOUT);
    checkError(await p.get(), 1, "GET at the ping deadline");
  });

  test("websocket: no pong → connection closed", T, async () => {
    const { s } = await eioWS();
    await s.expectClose("close on ping timeout", PING_INTERVAL + PING_TIMEOUT + STEP_TIMEOUT);
  });
});

describe("connect", () => {
  test('CONNECT to / → 40{"sid":...} (sid ≠ Engine.IO sid), then 42["auth",{}]', T, async () => {
    const { s, eioSid } = await eioWS();
    s.send("40");
    const sid = checkConnectReply(await s.nextText("CONNECT reply"), "40");
    assert.notEqual(sid, eioSid, "the Socket.IO sid must not be the Engine.IO sid");
    await s.expectText('42["auth",{}]');
  });

  test("CONNECT to / with a payload: auth echoes it", T, async () => {
    const { s } = await eioWS();
    s.send('40{"token":"123","n":[1,{"x":null}]}');
    checkConnectReply(await s.nextText("CONNECT reply"), "40");
    await s.expectText('42["auth",{"token":"123","n":[1,{"x":null}]}]');
  });

  test("CONNECT to /custom, (with comma) and /custom (without)", T, async () => {
    for (const pkt of ["40/custom,", "40/custom"]) {
      const { s } = await eioWS();
      s.send(pkt);
      checkConnectReply(await s.nextText(`reply to ${pkt}`), "40/custom,");
      await s.expectText('42/custom,["auth",{}]');
    }
  });

  test("CONNECT to /custom with a payload", T, async () => {
    const { s } = await eioWS();
    s.send('40/custom,{"token":"abc"}');
    checkConnectReply(await s.nextText("CONNECT reply"), "40/custom,");
    await s.expectText('42/custom,["auth",{"token":"abc"}]');
  });

  test('unknown namespace → 44/random,{"message":"Invalid namespace"}, connection stays open', T, async () => {
    const { s } = await eioWS();
    s.send("40/random");
    await s.expectText('44/random,{"message":"Invalid namespace"}');
    s.send("40/random,");
    await s.expectText('44/random,{"message":"Invalid namespace"}');
    // still usable
    s.send("40");
    checkConnectReply(await s.nextText("CONNECT reply after refusal"), "40");
    await s.expectText('42["auth",{}]');
  });

  test("/ and /custom on one connection, each with its own sid", T, async () => {
    const { s } = await sioWS();
    s.send("40/custom,");
    checkConnectReply(await s.nextText("CONNECT /custom reply"), "40/custom,");
    await s.expectText('42/custom,["auth",{}]');
    s.send("41/custom,");
    s.send('42["message","message to main namespace"]');
    await s.expectText('42["message-back","message to main namespace"]');
  });

  test("CONNECT over polling: reply and auth come on GET", T, async () => {
    const p = new Polling(PATH);
    const open = await p.handshake();
    assert.equal((await p.post('40{"via":"polling"}')).status, 200);
    const sid = checkConnectReply(await p.packet("CONNECT reply"), "40");
    assert.notEqual(sid, open.sid);
    await p.expectPacket('42["auth",{"via":"polling"}]');
  });

  test("no CONNECT within connectTimeout → connection closed (websocket)", T, async () => {
    const start = Date.now();
    const { s } = await eioWS(); // answers pings, so only the connect timeout can end it
    const c = await s.expectClose("close by connect timeout", CONNECT_TIMEOUT + STEP_TIMEOUT);
    const took = c.at - start;
    assert.ok(took >= CONNECT_TIMEOUT - 200, `closed after ${took} ms, before connectTimeout (${CONNECT_TIMEOUT} ms)`);
    assert.ok(took <= CONNECT_TIMEOUT + PING_INTERVAL + MARGIN * 2, `closed after ${took} ms (connectTimeout ${CONNECT_TIMEOUT} ms)`);
  });

  test("no CONNECT within connectTimeout → session closed (polling)", T, async () => {
    const p = new Polling(PATH);
    const start = Date.now();
    await p.handshake();
    let end;
    for (;;) {
      const r = await p.get({ ms: CONNECT_TIMEOUT + STEP_TIMEOUT });
      if (r.status === 400) break;
      assert.equal(r.status, 200, `GET: ${r.status} ${show(r.body)}`);
      const pkts = r.body.split(SEP);
      if (pkts.includes("1")) break;
      for (const x of pkts) {
        assert.equal(x, "2", `only pings expected before the connect timeout; seen: ${p.seen()}`);
        assert.equal((await p.post("3")).status, 200, `pong; seen: ${p.seen()}`);
      }
      assert.ok(Date.now() - start < CONNECT_TIMEOUT + STEP_TIMEOUT, `session still open; seen: ${p.seen()}`);
    }
    end = Date.now() - start;
    assert.ok(end >= CONNECT_TIMEOUT - 200, `closed after ${end} ms, before connectTimeout; seen: ${p.seen()}`);
    assert.ok(end <= CONNECT_TIMEOUT + PING_INTERVAL + MARGIN * 2, `closed after ${end} ms; seen: ${p.seen()}`);
    const after = await p.get();
    assert.equal(after.status, 400, `GET after connect timeout: ${after.status} ${show(after.body)}`);
  });
});

describe("events and acks", () => {
  test('EVENT echo is byte-exact: 42["message",1,"2",{"3":[true]}]', T, async () => {
    const { s } = await sioWS();
    s.send('42["message",1,"2",{"3":[true]}]');
    await s.expectText('42["message-back",1,"2",{"3":[true]}]');
  });

  test("EVENT echo keeps JSON values and key order (unicode, exponents, big numbers)", T, async () => {
    const { s } = await sioWS();
    const args = '{"z":1,"a":[null,false,1.5e3,-0.25],"é":"\\u00e9😀","n":12345678901234567890}';
    s.send(`42["message",${args},[],{}]`);
    const got = await s.nextText("message-back");
    assert.ok(got.startsWith('42["message-back",'), `got ${show(got)}`);
    // Same values in the same key order; number spelling and escapes may differ.
    const canon = (x) => JSON.stringify(JSON.parse(x));
    assert.equal(canon(got.slice(2)), canon(`["message-back",${args},[],{}]`), `got ${show(got)}`);
  });

  test("ACK echo is byte-exact: 42456[...] → 43456[...]", T, async () => {
    const { s } = await sioWS();
    s.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    await s.expectText('43456[1,"2",{"3":[false]}]');
    s.send('420["message-with-ack"]');
    await s.expectText("430[]");
  });

  test("EVENT and ACK over polling", T, async () => {
    const p = await sioPolling();
    assert.equal((await p.post(`42["message",1,"2",{"3":[true]}]${SEP}4212["message-with-ack","x"]`)).status, 200);
    await p.expectPacket('42["message-back",1,"2",{"3":[true]}]');
    await p.expectPacket('4312["x"]');
  });

  test("server-initiated ack request: client answers with 3<id>[...]", T, async () => {
    const { s } = await sioWS();
    s.send('42["emit-with-ack","q",1]');
    const req = await s.nextText("server-ack-request");
    const m = /^42(\d+)\["server-ack-request","q",1\]$/.exec(req);
    assert.ok(m, `expected 42<id>["server-ack-request","q",1], got ${show(req)}`);
    s.send(`43${m[1]}["a",{"b":[true]}]`);
    await s.expectText('42["server-ack-result","a",{"b":[true]}]');
    // the next request gets a different id
    s.send('42["emit-with-ack"]');
    const req2 = await s.nextText("second server-ack-request");
    const m2 = /^42(\d+)\["server-ack-request"\]$/.exec(req2);
    assert.ok(m2, `got ${show(req2)}`);
    assert.notEqual(m2[1], m[1], "server ack ids must differ");
    s.send(`43${m2[1]}[]`);
    await s.expectText('42["server-ack-result"]');
  });
});

describe("binary", () => {
  test("BINARY_EVENT over websocket: 452-[...] + 2 binary frames, echoed the same way", T, async () => {
    const { s } = await sioWS();
    s.send(`452-["message",${PH0},${PH1}]`);
    s.send(Uint8Array.from([1, 2, 3]));
    s.send(Uint8Array.from([4, 5, 6]));
    await s.expectText(`452-["message-back",${PH0},${PH1}]`);
    assert.deepEqual([...(await s.nextBinary("attachment 0"))], [1, 2, 3]);
    assert.deepEqual([...(await s.nextBinary("attachment 1"))], [4, 5, 6]);
  });

  test("BINARY_EVENT with ack over websocket → 462-789[...] + attachments", T, async () => {
    const { s } = await sioWS();
    s.send(`452-789["message-with-ack",${PH0},${PH1}]`);
    s.send(Uint8Array.from([1, 2, 3]));
    s.send(Uint8Array.from([4, 5, 6]));
    await s.expectText(`462-789[${PH0},${PH1}]`);
    assert.deepEqual([...(await s.nextBinary("attachment 0"))], [1, 2, 3]);
    assert.deepEqual([...(await s.nextBinary("attachment 1"))], [4, 5, 6]);
  });

  test("nested placeholders and mixed args", T, async () => {
    const { s } = await sioWS();
    s.send(`451-["message",{"a":[1,${PH0}],"b":"x"},2]`);
    s.send(Buffer.from("hello"));
    await s.expectText(`451-["message-back",{"a":[1,${PH0}],"b":"x"},2]`);
    assert.equal((await s.nextBinary("attachment")).toString(), "hello");
  });

  test("binary ack from the client (461-<id>) to a server ack request", T, async () => {
    const { s } = await sioWS();
    s.send('42["emit-with-ack","bin"]');
    const req = await s.nextText("server-ack-request");
    const m = /^42(\d+)\["server-ack-request","bin"\]$/.exec(req);
    assert.ok(m, `got ${show(req)}`);
    s.send(`461-${m[1]}[${PH0}]`);
    s.send(Uint8Array.from([9, 9]));
    await s.expectText(`451-["server-ack-result",${PH0}]`);
    assert.deepEqual([...(await s.nextBinary("attachment"))], [9, 9]);
  });

  test("BINARY_EVENT over polling: attachments as b<base64>", T, async () => {
    const p = await sioPolling();
    const body = [`452-["message",${PH0},${PH1}]`, "bAQID", "bBAUG"].join(SEP);
    assert.equal((await p.post(body)).status, 200);
    await p.expectPacket(`452-["message-back",${PH0},${PH1}]`);
    await p.expectPacket("bAQID");
    await p.expectPacket("bBAUG");
  });

  test("BINARY_EVENT with ack over polling", T, async () => {
    const p = await sioPolling();
    assert.equal((await p.post([`451-7["message-with-ack",${PH0}]`, "bAQID"].join(SEP))).status, 200);
    await p.expectPacket(`461-7[${PH0}]`);
    await p.expectPacket("bAQID");
  });

  test("attachments split over several POSTs are reassembled", T, async () => {
    const p = await sioPolling();
    assert.equal((await p.post(`452-["message",${PH0},${PH1}]`)).status, 200);
    assert.equal((await p.post("bAQID")).status, 200);
    assert.equal((await p.post("bBAUG")).status, 200);
    await p.expectPacket(`452-["message-back",${PH0},${PH1}]`);
    await p.expectPacket("bAQID");
    await p.expectPacket("bBAUG");
  });
});

describe("disconnect", () => {
  test("client DISCONNECT 41 gets no answer and keeps the Engine.IO session", T, async () => {
    const { s } = await sioWS({ autoPong: false });
    s.send("41");
    // The next frame must be a ping (nothing is sent back for 41) ...
    await s.expectText("2", PING_INTERVAL + PING_TIMEOUT + STEP_TIMEOUT);
    s.send("3");
    // ... and the session still carries a new CONNECT.
    s.autoPong = true;
    s.send("40");
    checkConnectReply(await s.nextText("CONNECT reply after 41"), "40");
    await s.expectText('42["auth",{}]');
    s.autoPong = true; // from here on, pings are answered and skipped
    s.send('42["message","back again"]');
    await s.expectText('42["message-back","back again"]');
  });

  test("client DISCONNECT of /custom leaves / connected", T, async () => {
    const { s } = await sioWS();
    s.send("40/custom");
    checkConnectReply(await s.nextText("CONNECT /custom reply"), "40/custom,");
    await s.expectText('42/custom,["auth",{}]');
    s.send("41/custom");
    s.send('42["message","message to main namespace"]');
    await s.expectText('42["message-back","message to main namespace"]');
  });

  test("server-side disconnect sends 41 and keeps the Engine.IO session", T, async () => {
    const { s } = await sioWS();
    s.send('42["server-disconnect"]');
    await s.expectText("41");
    s.send("40");
    checkConnectReply(await s.nextText("CONNECT reply after server disconnect"), "40");
    await s.expectText('42["auth",{}]');
  });
});

describe("invalid input closes the connection", () => {
  const cases = [
    ["unknown packet type 4abc", "4abc"],
    ["unknown Socket.IO type 49", "49"],
    ["EVENT payload not an array: 42{}", "42{}"],
    ["junk ack id: 42abc[...]", '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ["EVENT with no name: 42[]", "42[]"],
    ["EVENT with reserved name: 42[\"disconnect\"]", '42["disconnect"]'],
    ["EVENT with an object name: 42[{}]", "42[{}]"],
    ["invalid JSON: 42[\"message\"", '42["message"'],
    ["ACK payload not an array: 431{}", "431{}"],
    ["DISCONNECT with a payload: 41{}", "41{}"],
    ["CONNECT payload not an object: 40[1]", "40[1]"],
    ["CONNECT to an already joined namespace: 40", "40"],
    ["EVENT for a namespace not joined: 42/custom,[...]", '42/custom,["message","x"]'],
    ["CONNECT_ERROR from the client: 44{...}", '44{"message":"nope"}'],
    ["binary frame without a BINARY packet header", Buffer.from([1, 2, 3])],
  ];
  for (const [name, pkt] of cases) {
    test(name, T, async () => {
      const { s } = await sioWS();
      s.send(pkt);
      await s.expectClose(`close after ${show(pkt)}`);
    });
  }

  test("EVENT before any CONNECT closes the connection", T, async () => {
    const { s } = await eioWS();
    s.send('42["message","x"]');
    await s.expectClose("close after EVENT before CONNECT");
  });

  test("malformed packet over polling closes the session", T, async () => {
    const p = await sioPolling();
    let r;
    try {
      r = await p.post("42{}");
    } catch {
      r = { status: "dropped" };
    }
    // the POST itself may succeed (the Engine.IO packet was fine); the session must end
    let g;
    for (let i = 0; i < 5; i++) {
      g = await p.get();
      if (g.status !== 200 || g.body.split(SEP).includes("1")) break;
    }
    assert.ok(g.status === 400 || g.body.split(SEP).includes("1"), `session not closed after 42{} (POST ${r.status}); seen: ${p.seen()}`);
  });
});
