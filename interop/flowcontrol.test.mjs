// Flow control with the official socket.io-client against the server at
// /flow/ (see internal/cmd/conformance), over WebSocket only and polling
// only: a client that keeps reading loses nothing, whatever the volume. A
// handler's burst of 10,000 events of 1 KB to its own socket arrives whole
// and in order; a client that missed 3,000 broadcasts (8 KB each over
// WebSocket, 1 KB over polling) recovers them all after a forced transport
// close, with its pid and offset.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { HTTP_URL, once, withTimeout } from "./lib.mjs";

/** Bounds of one test and of one step: generous, the server may run with the race detector. */
const FLOW_TIMEOUT = 180000;
const FLOW_STEP = 120000;

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

function connectFlow(transports, options = {}) {
  const socket = io(HTTP_URL, { path: "/flow/", forceNew: true, transports, ...options });
  sockets.push(socket);
  return socket;
}

/** Settles like p, or rejects at once when the socket's connection closes first. */
function unlessLost(socket, p, what) {
  let onLost;
  const lost = new Promise((_, reject) => {
    onLost = (reason) => reject(new Error(`connection closed (${reason}) while waiting for ${what()}`));
    socket.io.once("close", onLost);
  });
  return withTimeout(Promise.race([p, lost]), FLOW_STEP, what()).finally(() => socket.io.off("close", onLost));
}

/** Indices that are not 0..n-1 in order, for a short failure message. */
function disorder(got, n) {
  const wrong = [];
  for (let i = 0; i < Math.max(got.length, n) && wrong.length < 5; i++) {
    if (got[i] !== i) wrong.push(`#${i}: ${got[i]}`);
  }
  return wrong.join(", ");
}

const MODES = [
  { name: "websocket only", transports: ["websocket"], replaySize: 8192 },
  { name: "polling only", transports: ["polling"], replaySize: 1024 },
];

for (const mode of MODES) {
  describe(`flow control, ${mode.name}`, () => {
    test("a handler's burst of 10,000 events of 1 KB arrives whole and in order", { timeout: FLOW_TIMEOUT }, async () => {
      const N = 10000;
      const SIZE = 1024;
      const socket = connectFlow(mode.transports);
      await once(socket, "connect");
      const got = [];
      let badSize = 0;
      socket.on("burst-item", (i, data) => {
        got.push(i);
        if (data.length !== SIZE) badSize++;
      });
      // The ack is sent after the last item: it arrives after them all.
      const reply = await withTimeout(socket.emitWithAck("burst", N, SIZE), FLOW_STEP, "the burst's ack");
      assert.equal(reply, N);
      assert.equal(got.length, N, `${got.length} of ${N} items arrived`);
      assert.equal(disorder(got, N), "", "every item once, in order");
      assert.equal(badSize, 0, "every item whole");
      assert.equal(socket.connected, true, "the session carries on");
    });

    test(`a recovery replay of 3,000 events of ${mode.replaySize} bytes arrives complete`, { timeout: FLOW_TIMEOUT }, async () => {
      const N = 3000;
      const room = `replay ${mode.name}`;
      const observer = connectFlow(["websocket"]);
      await once(observer, "connect");
      assert.equal(await observer.emitWithAck("observe"), "ok");

      const socket = connectFlow(mode.transports, { reconnection: false });
      await once(socket, "connect");
      assert.equal(socket.recovered, false);
      const firstID = socket.id;
      assert.equal(await socket.emitWithAck("join", room), "ok");
      const primed = once(socket, "item");
      socket.emit("prime", room);
      await primed; // the client now has an offset to recover from

      // Once the client is gone, the server broadcasts N items to its room.
      assert.equal(await socket.emitWithAck("fill-after-close", room, N, mode.replaySize), "ok");
      const filled = once(observer, "filled", FLOW_STEP);
      const gone = once(socket, "disconnect");
      socket.io.engine.close(); // a forced transport close
      const [reason] = await gone;
      assert.equal(reason, "forced close"); // as the client sees its own engine.close()
      const [filledRoom, filledCount] = await filled; // and the broadcast's offset
      assert.deepEqual([filledRoom, filledCount], [room, N]);

      const got = [];
      let badSize = 0;
      const all = new Promise((resolve) => {
        socket.on("item", (i, data) => {
          got.push(i);
          if (data.length !== mode.replaySize) badSize++;
          if (got.length === N) resolve();
        });
      });
      const connected = new Promise((resolve) => socket.once("connect", resolve));
      socket.connect(); // with its pid and offset
      await unlessLost(socket, connected, () => "the connection");
      assert.equal(socket.recovered, true, "the socket was recovered");
      assert.equal(socket.id, firstID, "same socket id");
      await unlessLost(socket, all, () => `the ${N} missed items (${got.length} arrived)`);
      assert.equal(disorder(got, N), "", "every missed item once, in order");
      assert.equal(badSize, 0, "every item whole");
      assert.equal(socket.connected, true, "the session carries on");
    });
  });
}
