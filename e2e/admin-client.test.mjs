// The admin UI's protocol, spoken by the official socket.io-client as
// @socket.io/admin-ui does, against the rooms example instrumented with
// package admin (-admin-ui): login refused and accepted, the session id,
// config, all_sockets, the feed (socket_connected, room_joined, room_left,
// event_received, event_sent, socket_disconnected), server_stats, and the
// actions join, leave, emit and _disconnect. Over WebSocket and over
// long-polling.
//
// Run by e2e_test.go with ROOMS_URL and ADMIN_PASSWORD.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests through e2e_test.go (REALTIME_E2E=1 go test ./e2e/)`);
  return v.replace(/\/$/, "");
};
const ROOMS = env("ROOMS_URL");
const PASSWORD = env("ADMIN_PASSWORD");
const WAIT = 20_000;

const open = [];
after(() => open.forEach((s) => s.close()));

function connect(nsp, opts) {
  const s = io(ROOMS + nsp, { reconnection: false, forceNew: true, ...opts });
  open.push(s);
  return s;
}

// once waits for event on s whose arguments satisfy match.
function once(s, event, match = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} in ${WAIT} ms`)), WAIT);
    const fn = (...args) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      s.off(event, fn);
      resolve(args);
    };
    s.on(event, fn);
  });
}

// recorder keeps every event s receives; its expect(event, match) returns
// the arguments of the first one, past or future, that match accepts (so a
// match may use what is only known later, such as another client's id).
function recorder(s) {
  const seen = [];
  const waiting = new Set();
  s.onAny((event, ...args) => {
    seen.push([event, args]);
    for (const w of waiting) w();
  });
  return (event, match = () => true) => new Promise((resolve, reject) => {
    const check = () => {
      const hit = seen.find(([e, args]) => e === event && match(...args));
      if (!hit) return false;
      clearTimeout(timer);
      waiting.delete(check);
      resolve(hit[1]);
      return true;
    };
    const timer = setTimeout(() => { waiting.delete(check); reject(new Error(`no ${event} in ${WAIT} ms`)); }, WAIT);
    if (!check()) waiting.add(check);
  });
}

for (const transports of [["websocket"], ["polling"]]) {
  describe(`admin protocol over ${transports[0]}`, () => {
    test("a wrong password is refused", async () => {
      const s = connect("/admin", { transports, auth: { username: "admin", password: "wrong" } });
      const [err] = await once(s, "connect_error");
      assert.equal(err.message, "invalid credentials");
    });

    test("the UI's view of the server, and its actions", { timeout: 60_000 }, async () => {
      const ui = connect("/admin", { transports, auth: { username: "admin", password: PASSWORD } });
      const expect = recorder(ui);
      const session = expect("session");
      const config = expect("config");
      const sockets = expect("all_sockets");
      const stats = expect("server_stats");
      await once(ui, "connect");
      const [sessionId] = await session;
      assert.match(sessionId, /^[0-9a-f]{32}$/);
      assert.deepEqual((await config)[0].supportedFeatures,
        ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"]);
      const [list] = await sockets;
      assert.ok(list.some((s) => s.id === ui.id && s.nsp === "/admin"), "the UI's own socket is listed");
      const [st] = await stats;
      for (const k of ["serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount", "aggregatedEvents", "namespaces"]) {
        assert.ok(k in st, `server_stats has ${k}: ${JSON.stringify(st)}`);
      }

      // The session id logs in again without the password.
      const again = connect("/admin", { transports, auth: { sessionId } });
      await once(again, "connect");
      again.close();

      // A user: connected, joins a room, sends and receives events.
      const user = connect("/", { transports });
      await once(user, "connect");
      const [desc, ts] = await expect("socket_connected", (s) => s.id === user.id);
      assert.equal(desc.nsp, "/");
      assert.equal(desc.transport, transports[0]);
      assert.equal(desc.clientId.length, 12);
      assert.ok(desc.rooms.includes(user.id));
      assert.equal(desc.handshake.address, "127.0.0.1");
      assert.equal(typeof desc.handshake.headers, "object");
      assert.ok(!Number.isNaN(Date.parse(ts)), `timestamp ${ts}`);

      assert.equal((await user.timeout(WAIT).emitWithAck("join", "room one")).ok, true);
      await expect("room_joined", (nsp, room, id) => nsp === "/" && room === "room one" && id === user.id);
      const [, , received] = await expect("event_received", (nsp, id, args) => id === user.id && args[0] === "join");
      assert.deepEqual(received, ["join", "room one"]);
      // The welcome message the example's connection handler sends.
      await expect("event_sent", (nsp, id, args) => id === user.id && args[0] === "new message");

      // Actions: the UI makes the user leave and join rooms, emits to it.
      ui.emit("leave", "/", "room one", user.id);
      await expect("room_left", (nsp, room, id) => room === "room one" && id === user.id);
      ui.emit("join", "/", "room two", user.id);
      await expect("room_joined", (nsp, room, id) => room === "room two" && id === user.id);
      const news = once(user, "news");
      ui.emit("emit", "/", "room two", "news", { from: "admin" }, 2);
      assert.deepEqual(await news, [{ from: "admin" }, 2]);

      // And disconnects it.
      const id = user.id;
      const gone = once(user, "disconnect");
      ui.emit("_disconnect", "/", false, id);
      assert.deepEqual(await gone, ["io server disconnect", undefined]);
      const [, , reason] = await expect("socket_disconnected", (nsp, sid) => sid === id);
      assert.equal(reason, "server namespace disconnect");
    });
  });
}
