package hub_test

import (
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/netpoll"
	"github.com/go-realtime/realtime/internal/soak"
	"github.com/go-realtime/realtime/namespace"
)

// TestChurnNoLeaks opens and closes connections in every way a client can
// (complete sessions on each transport, cuts mid-handshake and
// mid-upgrade) and checks that sessions and goroutines return to the
// baseline. The 100,000-connection version is `go run ./internal/cmd/soak`.
func TestChurnNoLeaks(t *testing.T) {
	// Sessions cut mid-upgrade end by heartbeat: short enough to keep the
	// test quick, long enough that live sessions survive a loaded machine.
	h := newHub(t, &hub.Options{PingInterval: 1500 * time.Millisecond, PingTimeout: 1500 * time.Millisecond})
	h.OnConnection(func(s *namespace.Socket) { s.On("hello", func(*namespace.Event) {}) })
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, _ = netpoll.Default() // started by the first WebSocket; part of the baseline
	baseline := runtime.NumGoroutine()

	res := soak.Run(testCtx(t), srv.URL, 600, 16)
	require.NoError(t, res.First)
	for kind, n := range res.Done {
		assert.Equal(t, int64(100), n, kind)
	}
	require.Eventually(t, func() bool { return h.Stats().Sessions == 0 }, 20*time.Second, 10*time.Millisecond,
		"sessions left open: %d", h.Stats().Sessions)
	srv.CloseClientConnections()
	// +1: Eventually runs the condition on a goroutine of its own.
	if !assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+1 }, 10*time.Second, 10*time.Millisecond) {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d, baseline %d:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
	}
	assert.Zero(t, h.Of("/").Len())
}
