package engineio

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// discardConn is a transport.Conn that drops what it is sent: benchmarks
// and measurements with it count only what the Engine.IO layer does.
type discardConn struct{}

func (discardConn) Name() string                  { return transport.NameWebSocket }
func (discardConn) Start(transport.Handler)       {}
func (discardConn) Send(...transport.Frame) error { return nil }
func (discardConn) Close() error                  { return nil }

// BenchmarkHeartbeatCycle measures one session's heartbeat round: picked
// by a scheduler wake-up among 1,000 due sessions, pinged, and its pong
// recorded.
func BenchmarkHeartbeatCycle(b *testing.B) {
	const n = 1000
	srv := NewServer(HandlerFunc(func(*Session) SessionHandler { return nil }),
		&Options{PingInterval: time.Hour, PingTimeout: time.Hour})
	sessions := make([]*Session, n)
	for i := range sessions {
		sessions[i] = srv.ServeConn(discardConn{}, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		srv.hb.mu.Lock()
		for s := srv.hb.waiting.head; s != nil; s = s.hbNext {
			s.hbDeadline = 0 // due now
		}
		srv.hb.mu.Unlock()
		srv.hb.fire()
		for _, s := range sessions {
			srv.hb.pong(s)
		}
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// TestPingDeadlines: the sessions pinged by one wake-up share one pong
// deadline (so their timeouts share a wake-up too), which is never later
// than PingTimeout after any of their pings was due, and leaves PingTimeout
// after the pings went out unless they were late.
func TestPingDeadlines(t *testing.T) {
	const timeout = time.Minute
	srv := NewServer(HandlerFunc(func(*Session) SessionHandler { return nil }),
		&Options{PingInterval: time.Hour, PingTimeout: timeout})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	h := srv.hb
	for _, tt := range []struct {
		name       string
		firstDue   int64 // relative to now, ns
		secondDue  int64
		pingedLate bool
	}{
		{"first ping late", -int64(10 * time.Millisecond), h.slack / 2, true},
		{"both early", h.slack / 4, h.slack / 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := srv.ServeConn(discardConn{}, nil), srv.ServeConn(discardConn{}, nil)
			defer func() { _, _ = a.Close(), b.Close() }()
			h.mu.Lock()
			require.Equal(t, a, h.waiting.head)
			require.Equal(t, b, a.hbNext)
			before := h.now()
			aDue, bDue := before+tt.firstDue, before+tt.secondDue
			a.hbDeadline, b.hbDeadline = aDue, bDue
			h.mu.Unlock()
			h.fire()

			h.mu.Lock()
			defer h.mu.Unlock()
			require.Equal(t, hbPinged, a.hbList)
			require.Equal(t, hbPinged, b.hbList)
			assert.Equal(t, a.hbDeadline, b.hbDeadline, "pinged together, one deadline")
			assert.Equal(t, a.hbDeadline, a.pongDue.Load())
			assert.LessOrEqual(t, a.hbDeadline, aDue+int64(timeout), "later than PingTimeout after the first ping was due")
			if tt.pingedLate {
				assert.Equal(t, aDue+int64(timeout), a.hbDeadline)
			} else {
				assert.GreaterOrEqual(t, a.hbDeadline, before+int64(timeout), "less than PingTimeout after the pings")
			}
		})
	}
}
