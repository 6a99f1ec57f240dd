package engineio

import (
	"context"
	"testing"
	"time"

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
