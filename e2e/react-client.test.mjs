// The seed article's "use from a front-end framework" step, in Node: a
// component using the official socket.io-client package, written for
// socket.io's classic chat demo, against examples/chat. Its
// componentDidMount listens for "login", "add user" and "new message", as
// in the article; a second client plays another user of the demo.
//
// Run by e2e_test.go with CHAT_URL set to a running examples/chat.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const CHAT = process.env.CHAT_URL;
if (!CHAT) throw new Error("CHAT_URL is not set: run these tests through e2e_test.go (REALTIME_E2E=1 go test ./e2e/)");
const WAIT = 10_000;

// ChatComponent is the article's React component without React: the same
// lifecycle and listeners; what it renders is kept in this.state.
class ChatComponent {
  constructor(url, options) {
    this.socket = io(url, { ...options, forceNew: true, reconnection: false });
    this.state = { login: null, logins: 0, addUser: [], messages: [] };
    this.waiters = [];
  }

  componentDidMount() {
    const socket = this.socket;
    socket.on("login", (data) => this.setState({ login: data, logins: this.state.logins + 1 }));
    socket.on("add user", (data) => this.setState({ addUser: [...this.state.addUser, data] }));
    socket.on("new message", (data) => this.setState({ messages: [...this.state.messages, data] }));
  }

  componentWillUnmount() {
    this.socket.close();
  }

  setState(patch) {
    this.state = { ...this.state, ...patch };
    this.waiters = this.waiters.filter((w) => !w(this.state));
  }

  // until resolves once pred(state) holds.
  until(what, pred) {
    return within(what, new Promise((resolve) => {
      const w = (s) => pred(s) && (resolve(s), true);
      if (!w(this.state)) this.waiters.push(w);
    }));
  }
}

function within(what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT} ms waiting for ${what}`)), WAIT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// next resolves with the arguments of socket's next event.
const next = (socket, event) => within(`"${event}"`, new Promise((resolve) => socket.once(event, (...args) => resolve(args))));

for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
  test(`the seed's React component over ${transports.join("+")}`, { timeout: 60_000 }, async () => {
    const component = new ChatComponent(CHAT, { transports });
    const peer = io(CHAT, { transports, forceNew: true, reconnection: false });
    try {
      component.componentDidMount();
      // The server greets every client on connection ({mess}, as in the
      // seed; username and message for clients of the classic demo).
      const [greeting] = await component.until("the initial message", (s) => s.messages.length > 0).then((s) => s.messages);
      assert.equal(greeting.username, "server");
      assert.match(greeting.mess, /initial message/);
      assert.equal(greeting.message, greeting.mess);
      if (!peer.connected) await next(peer, "connect");

      // add user → login {numUsers} for the sender, user joined for the others.
      component.socket.emit("add user", "react");
      const { login } = await component.until("login", (s) => s.login);
      assert.equal(typeof login.numUsers, "number");
      assert.ok(login.numUsers >= 1);
      const joined = next(component.socket, "user joined");
      peer.emit("add user", "peer");
      const [peerLogin] = await next(peer, "login");
      assert.deepEqual(peerLogin, { numUsers: login.numUsers + 1 });
      assert.deepEqual((await joined)[0], { username: "peer", numUsers: login.numUsers + 1 });

      // new message (a string) → {username, message} to the others.
      const before = component.state.messages.length;
      peer.emit("new message", "hello from peer");
      const s = await component.until("the peer's message", (s) => s.messages.length > before);
      assert.deepEqual(s.messages.at(-1), { username: "peer", message: "hello from peer" });

      const toPeer = next(peer, "new message");
      const ack = await within("the ack", component.socket.emitWithAck("new message", "hello from react"));
      assert.deepEqual(ack, { ok: true, username: "react" });
      assert.deepEqual((await toPeer)[0], { username: "react", message: "hello from react" });

      // typing / stop typing → {username} to the others.
      const typing = next(component.socket, "typing");
      peer.emit("typing");
      assert.deepEqual((await typing)[0], { username: "peer" });
      const stop = next(component.socket, "stop typing");
      peer.emit("stop typing");
      assert.deepEqual((await stop)[0], { username: "peer" });

      // A named user's disconnect → user left {username, numUsers}.
      const left = next(component.socket, "user left");
      peer.close();
      assert.deepEqual((await left)[0], { username: "peer", numUsers: login.numUsers });

      // "add user" is client → server only: the server never sends it, and
      // a second one from the same client changes nothing.
      component.socket.emit("add user", "again");
      await within("an ack", component.socket.emitWithAck("new message", "sync"));
      assert.deepEqual(component.state.addUser, []);
      assert.equal(component.state.logins, 1, "a second add user was answered");

      // The transport asked for (the default pair upgrades to WebSocket).
      const engine = component.socket.io.engine;
      const want = transports.at(-1);
      if (engine.transport.name !== want) await next(engine, "upgrade");
      assert.equal(engine.transport.name, want);
    } finally {
      peer.close();
      component.componentWillUnmount();
    }
  });
}
