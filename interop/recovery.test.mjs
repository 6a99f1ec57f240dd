// Connection state recovery with the official socket.io-client against the
// server at /recovery/ (see internal/cmd/conformance): the connection is cut
// in the middle of a stream of broadcasts; the client reconnects, recovers
// its socket, and gets every item it missed, in order.

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { HTTP_URL, PARSER_NAME, STEP_TIMEOUT, TEST_TIMEOUT, once, withParser, withTimeout } from "./lib.mjs";

const sockets = [];
after(() => sockets.forEach((s) => s.disconnect()));

const MODES = [
  { name: "websocket only", transports: ["websocket"] },
  { name: "polling only", transports: ["polling"] },
];

for (const mode of MODES) {
  describe(`recovery, ${mode.name}${PARSER_NAME}`, () => {
    test("a cut mid-stream loses nothing", { timeout: TEST_TIMEOUT }, async () => {
      const socket = io(
        HTTP_URL,
        withParser({
          path: "/recovery/",
          forceNew: true,
          transports: mode.transports,
          reconnectionDelay: 50,
          reconnectionDelayMax: 100,
        }),
      );
      sockets.push(socket);
      await once(socket, "connect");
      assert.equal(socket.recovered, false, "a first connection is not a recovery");
      const firstID = socket.id;

      const N = 60;
      const got = [];
      let cut = false;
      const done = new Promise((resolve) => {
        socket.on("item", (i) => {
          got.push(i);
          if (i === 10 && !cut) {
            cut = true;
            // The connection drops, after the packets already read with
            // item 10: socket.io-client hands them over on later ticks, and
            // would buffer those arriving while it is disconnected and emit
            // them again at the reconnection, after asking the server for
            // what followed item 10 (duplicates whatever the server).
            setTimeout(() => socket.io.engine.close(), 0);
          }
          if (got.length === N || i === N - 1) resolve();
        });
      });
      const reconnected = once(socket, "connect", TEST_TIMEOUT);
      socket.emit("stream", N, 10);
      await reconnected;
      assert.equal(socket.recovered, true, "the socket was recovered");
      assert.equal(socket.id, firstID, "same socket id");
      await withTimeout(done, TEST_TIMEOUT, "every item");
      assert.deepEqual(got, Array.from({ length: N }, (_, i) => i), "every item once, in order");
    });

    test("after the window the client starts fresh", { timeout: TEST_TIMEOUT }, async () => {
      const socket = io(
        HTTP_URL,
        withParser({
          path: "/recovery/",
          forceNew: true,
          transports: mode.transports,
          reconnection: false,
        }),
      );
      sockets.push(socket);
      await once(socket, "connect");
      const firstID = socket.id;
      const item = once(socket, "item");
      socket.emit("stream", 1, 1);
      await item; // the client now has an offset to recover from
      const gone = once(socket, "disconnect");
      socket.io.engine.close();
      await gone;
      await new Promise((r) => setTimeout(r, 2500)); // the server keeps sessions 2 s
      socket.connect();
      await once(socket, "connect", STEP_TIMEOUT);
      assert.equal(socket.recovered, false, "not recovered after the window");
      assert.notEqual(socket.id, firstID);
    });
  });
}
