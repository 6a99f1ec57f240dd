// The socket's event API with the official socket.io-client, against the
// /events/ server of internal/cmd/conformance (events.go): several
// listeners per event in order, Once, Off, per-event middlewares (Use) and
// their refusals reported by OnError, OnAny / PrependAny / OffAny,
// OnAnyOutgoing / PrependAnyOutgoing / OffAnyOutgoing, Join in a
// connection middleware, variadic Join and Leave, room events,
// Listener.Off, Socket.Conn, the typed handlers (namespace.Handle,
// namespace.HandleAck) and the typed namespace.EmitWithAck.
//
// A socket's handlers run one at a time in the order its client sent the
// events, so "sync" (acked "ok") is a barrier: once its answer is in, every
// event emitted before it has been handled and what they sent has arrived.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { HTTP_URL, STEP_TIMEOUT, TEST_TIMEOUT, once, show, withTimeout } from "./lib.mjs";

const T = { timeout: TEST_TIMEOUT };
const PATH = "/events/";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

let rooms = 0;

/** Opens a socket; listeners given in `on` are added before it connects. */
async function open(on = {}, auth = {}) {
  const socket = io(HTTP_URL, { path: PATH, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT, auth });
  sockets.push(socket);
  for (const [event, fn] of Object.entries(on)) socket.on(event, fn);
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (e) => reject(new Error(`connect_error: ${e?.message} ${show(e?.description)}`)));
    }),
    STEP_TIMEOUT,
    "connect",
  );
  return socket;
}

/** Resolves once every event emitted before has been handled. */
async function sync(socket) {
  assert.equal(await socket.timeout(STEP_TIMEOUT).emitWithAck("sync"), "ok");
}

/** Collects the arguments of every `event` the socket receives. */
function collect(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(args));
  return got;
}

test("an event's listeners all run, in the order they were added", T, async () => {
  const socket = await open();
  const replies = collect(socket, "double-reply");
  socket.emit("double");
  socket.emit("double");
  await sync(socket);
  assert.deepEqual(replies, [["first"], ["second"], ["first"], ["second"]]);
});

test("a Once listener runs for the first event only", T, async () => {
  const socket = await open();
  const replies = collect(socket, "once-reply");
  socket.emit("once");
  socket.emit("once");
  socket.emit("once");
  await sync(socket);
  assert.equal(replies.length, 1, `once-reply received ${replies.length} times`);
});

test("Off removes an event's listeners", T, async () => {
  const socket = await open();
  const replies = collect(socket, "gone-reply");
  socket.emit("gone");
  await sync(socket);
  assert.equal(replies.length, 1, "gone-reply before Off");
  socket.emit("off-gone");
  socket.emit("gone");
  await sync(socket);
  assert.equal(replies.length, 1, "gone-reply after Off");
});

test("a refused event reaches OnError, not its listener, and its ack gets no answer", T, async () => {
  const socket = await open();
  const ran = collect(socket, "forbidden-ran");
  let acked = false;
  const refused = once(socket, "refused");
  socket.emit("forbidden", "x", () => {
    acked = true;
  });
  const [message] = await refused;
  assert.match(message, /forbidden event/);
  await sync(socket);
  assert.equal(acked, false, "the refused event's ack was answered");
  assert.deepEqual(ran, [], "the refused event's listener ran");
});

test("a panicking middleware refuses the event", T, async () => {
  const socket = await open();
  const refused = once(socket, "refused");
  socket.emit("panic");
  const [message] = await refused;
  assert.match(message, /panicked/);
  await sync(socket); // the socket still works
  assert.ok(socket.connected);
});

test("a middleware may answer the ack of the event it refuses", T, async () => {
  const socket = await open();
  const refused = once(socket, "refused");
  const reply = await socket.timeout(STEP_TIMEOUT).emitWithAck("guarded");
  assert.deepEqual(reply, { denied: "guarded" });
  const [message] = await refused;
  assert.match(message, /guarded event/);
});

test("OnAny and PrependAny see every incoming event in order, refused ones too; OffAny removes them", T, async () => {
  const socket = await open();
  socket.emit("double");
  socket.emit("forbidden");
  const seen = await socket.timeout(STEP_TIMEOUT).emitWithAck("incoming");
  assert.deepEqual(seen, [
    "pre:double",
    "any:double",
    "pre:forbidden",
    "any:forbidden",
    "pre:incoming",
    "any:incoming",
  ]);
  socket.emit("off-any");
  socket.emit("double");
  const after = await socket.timeout(STEP_TIMEOUT).emitWithAck("incoming");
  assert.deepEqual(after, [...seen, "pre:off-any", "any:off-any"]);
});

test("Join in a connection middleware: a broadcast to the room from the connection handler arrives", T, async () => {
  const room = `room-${process.pid}-${++rooms}`;
  let welcome;
  const welcomed = new Promise((resolve) => {
    welcome = resolve;
  });
  const socket = await open({ welcome: (id) => welcome(id) }, { room });
  const id = await withTimeout(welcomed, STEP_TIMEOUT, "welcome");
  assert.equal(id, socket.id);
});

test("OnAnyOutgoing sees the events sent to the client, broadcasts included, acks not", T, async () => {
  const room = `room-${process.pid}-${++rooms}`;
  const socket = await open({}, { room });
  const tocks = collect(socket, "tock");
  socket.emit("tick", 3);
  await sync(socket);
  assert.equal(tocks.length, 3);
  const seen = await socket.timeout(STEP_TIMEOUT).emitWithAck("outgoing");
  assert.deepEqual(seen, ["welcome", "tock", "tock", "tock"]);
});

test("HandleAck: a typed result, and {error} when the data does not fit or the handler fails", T, async () => {
  const socket = await open();
  const ask = (...args) => socket.timeout(STEP_TIMEOUT).emitWithAck("add", ...args);
  assert.equal(await ask([2, 3]), 5);
  const notList = await ask("x");
  assert.equal(typeof notList?.error, "string", `add("x") answered ${show(notList)}`);
  assert.ok(notList.error.length > 0);
  assert.deepEqual(await ask([1]), { error: "add takes two numbers" });
});

test("Handle: an empty ack on success, {error} when the data does not fit", T, async () => {
  const socket = await open();
  const tocks = collect(socket, "tock");
  const ok = await socket.timeout(STEP_TIMEOUT).emitWithAck("tick", 2);
  assert.equal(ok, undefined);
  assert.equal(tocks.length, 2);
  const bad = await socket.timeout(STEP_TIMEOUT).emitWithAck("tick", "two");
  assert.equal(typeof bad?.error, "string", `tick("two") answered ${show(bad)}`);
});

test("EmitWithAck[int]: the server asks the client and uses its typed reply", T, async () => {
  let reply = 21;
  const questions = [];
  const socket = await open({
    question: (q, cb) => {
      questions.push(q);
      cb(reply);
    },
  });
  const answer = once(socket, "answer");
  socket.emit("ask", "how many?");
  assert.deepEqual(await answer, [42]);
  assert.deepEqual(questions, ["how many?"]);

  reply = "not a number";
  const failed = once(socket, "answer-error");
  socket.emit("ask", "again?");
  const [message] = await failed;
  assert.equal(typeof message, "string");
  assert.match(message, /question/);
});

test("Listener.Off removes one of an event's listeners, the others stay", T, async () => {
  const socket = await open();
  const replies = collect(socket, "pair-reply");
  socket.emit("pair");
  socket.emit("off-first");
  socket.emit("pair");
  await sync(socket);
  assert.deepEqual(replies.flat(), ["a", "b", "b"]);
});

test("Join and Leave take several rooms; the namespace reports room events", T, async () => {
  const prefix = `multi-${process.pid}-${++rooms}-`;
  const [r1, r2, r3] = [prefix + "1", prefix + "2", prefix + "3"];
  const socket = await open();
  socket.emit("join-rooms", [r1, r2, r3]);
  let got = await socket.timeout(STEP_TIMEOUT).emitWithAck("rooms");
  assert.deepEqual([...got].sort(), [socket.id, r1, r2, r3].sort());
  socket.emit("leave-rooms", [r1, r3]);
  got = await socket.timeout(STEP_TIMEOUT).emitWithAck("rooms");
  assert.deepEqual([...got].sort(), [socket.id, r2].sort());
  const events = await socket.timeout(STEP_TIMEOUT).emitWithAck("room-events", prefix);
  assert.deepEqual(events, [
    `create-room ${r1}`, `join-room ${r1} self`,
    `create-room ${r2}`, `join-room ${r2} self`,
    `create-room ${r3}`, `join-room ${r3} self`,
    `leave-room ${r1} self`, `delete-room ${r1}`,
    `leave-room ${r3} self`, `delete-room ${r3}`,
  ]);
});

test("PrependAnyOutgoing runs before OnAnyOutgoing; OffAnyOutgoing removes both", T, async () => {
  const socket = await open();
  collect(socket, "tock");
  socket.emit("tick", 2);
  let seen = await socket.timeout(STEP_TIMEOUT).emitWithAck("outgoing-first");
  assert.deepEqual(seen, { first: ["tock", "tock"], all: ["tock", "tock"] });
  socket.emit("off-any-outgoing");
  socket.emit("tick", 1);
  seen = await socket.timeout(STEP_TIMEOUT).emitWithAck("outgoing-first");
  assert.deepEqual(seen, { first: ["tock", "tock"], all: ["tock", "tock"] }, "nothing recorded after OffAnyOutgoing");
});

test("Socket.Conn: the transport, and the upgrade to WebSocket", T, async () => {
  const socket = io(HTTP_URL, { path: PATH, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT });
  sockets.push(socket);
  const upgraded = new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
  await withTimeout(upgraded, STEP_TIMEOUT, "client upgrade");
  const where = await socket.timeout(STEP_TIMEOUT).emitWithAck("transport");
  assert.equal(where.now, "websocket");
  if (where.atConnect === "polling") {
    // The socket connected before the upgrade: its OnUpgrade hook ran
    // before the later events were read.
    assert.equal(where.upgraded, "websocket");
  }

  const polling = io(HTTP_URL, { path: PATH, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT, transports: ["polling"] });
  sockets.push(polling);
  await withTimeout(new Promise((resolve) => polling.once("connect", resolve)), STEP_TIMEOUT, "connect");
  assert.deepEqual(await polling.timeout(STEP_TIMEOUT).emitWithAck("transport"), { now: "polling", atConnect: "polling", upgraded: "" });
});
