// Package leaktest holds the goleak options of test packages that use real
// WebSocket connections. Call Options in TestMain:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leaktest.Options()...) }
package leaktest

import "go.uber.org/goleak"

// Options ignores the goroutines that outlive a test by design: the shared
// poller's goroutine and its idle workers (internal/netpoll), and the
// WebSocket transport's idle flushers. Workers and flushers exit after a
// second without work; the poller lives as long as the process.
func Options() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/go-realtime/realtime/internal/netpoll.(*Poller).run"),
		goleak.IgnoreAnyFunction("github.com/go-realtime/realtime/internal/netpoll.(*Poller).worker"),
		goleak.IgnoreAnyFunction("github.com/go-realtime/realtime/transport/websocket.(*flushPool).run"),
	}
}
