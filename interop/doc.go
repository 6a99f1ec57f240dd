// Package interop checks that the library is wire-compatible with the
// official Socket.IO v4 clients (and, behind AllowEIO3, the 2.x client). It holds no library code: its test,
// TestInterop in interop_test.go, builds internal/cmd/conformance, starts it
// on a free loopback port and runs the Node.js suites in this directory
// against it with `node --test`:
//
//   - engineio.test.mjs: the official engine.io-client (websocket, polling,
//     polling upgraded to websocket) against the /engine.io/ echo server;
//   - engineio-protocol.test.mjs: raw Engine.IO v4 wire checks (fetch, ws);
//   - socketio.test.mjs: the official socket.io-client (namespaces, auth,
//     events, acks both ways, binary, rooms, disconnects, bursts);
//   - socketio-protocol.test.mjs: raw Socket.IO v5 wire checks;
//   - options.test.mjs: the official socket.io-client against the /options/
//     hub: GenerateID's session ids, the sticky session cookie sent back,
//     refusals reported to OnConnectionError, the served client bundle;
//   - recovery.test.mjs: connection state recovery with socket.io-client;
//   - flowcontrol.test.mjs: socket.io-client over WebSocket only and polling
//     only gets a handler's burst of 10,000 events of 1 KB, and a recovery
//     replay of 3,000 missed broadcasts, whole and in order;
//   - events.test.mjs: the socket's event API seen by socket.io-client,
//     against the /events/ hub: several listeners of one event in order,
//     Once, Off, per-event middlewares (Use) whose refusals reach OnError
//     (and leave the ack unanswered unless the middleware answers it),
//     OnAny/PrependAny/OffAny, OnAnyOutgoing, Join in a connection
//     middleware, the typed Handle/HandleAck ({"error": ...} acks) and the
//     typed EmitWithAck;
//   - eio3.test.mjs: socket.io-client 2.x (npm alias socket.io-client-v2;
//     Engine.IO revision 3, Socket.IO protocol 4) against the /eio3/ hub
//     (hub.Options.AllowEIO3), over websocket, polling and the upgrade,
//     with binary data as binary and as base64: the implicit "/" connect,
//     socket ids, query as auth, events and acks both ways with binary,
//     client-driven heartbeats, refusals, server disconnect; and raw
//     checks: EIO=3 refused by default, JSONP refused, XHR2 binary polling
//     payloads read and written by the client's own engine.io-parser 2.x;
//   - eio3-browser.test.mjs: the 2.x browser bundle (served by the /eio3/
//     hub) in headless Chromium (/usr/bin/chromium, via playwright-core),
//     which polls with XHR2 and so sends and gets binary polling payloads.
//
// Start with `make test` at the repository root: it installs the pinned npm
// packages (npm ci --prefix interop) and runs the test with
// REALTIME_INTEROP=1. Without that variable the test skips; with it, a
// missing node or node_modules is a failure. To run one suite by hand
// against a server you started yourself:
//
//	go run ./internal/cmd/conformance -addr 127.0.0.1:3000 &
//	cd interop && REALTIME_ADDR=127.0.0.1:3000 node --test socketio.test.mjs
package interop
