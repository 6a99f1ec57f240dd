// Package e2e proves the examples end to end: it builds examples/chat,
// examples/namespaces and examples/rooms, starts them on free loopback
// ports, and drives them with independent clients —
//
//   - browser.test.mjs: headless Chromium (Debian's /usr/bin/chromium)
//     driven by playwright-core, over WebSocket and over HTTP long-polling
//     only (?transports=polling); screenshots go to e2e/artifacts/;
//   - react-client.test.mjs: the official socket.io-client in Node, playing
//     the seed article's React component against examples/chat;
//   - python_client.py: python-socketio 5 (Debian's python3-socketio) over
//     WebSocket and polling: rooms, events and acknowledgements.
//
// The package holds only tests. Run them with
//
//	npm ci --prefix examples && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix e2e
//	REALTIME_E2E=1 go test -count=1 ./e2e/
//
// (make test does both). Without REALTIME_E2E the tests skip; with it,
// anything missing (node, Chromium, python3-socketio, node_modules) fails
// them with a message saying what to install.
package e2e
