package engineio_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/memory"
)

// TestHeartbeatManySessions opens many WebSocket sessions that share the
// server's heartbeat scheduler: every client that answers keeps being
// pinged, and the one that stops answering times out, alone.
func TestHeartbeatManySessions(t *testing.T) {
	const n = 40
	ts := newTestServer(t, &engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: 400 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type ping struct{ client int }
	pings := make(chan ping, 1024)
	sids := make([]string, n)
	readersDone := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		c := ts.dial(t, "EIO=4&transport=websocket", nil)
		sids[i] = parseOpen(t, c.readText(t)).SID
		ts.next(t, "open")
		silent := i == 0
		go func() {
			defer func() { readersDone <- struct{}{} }()
			for {
				f, err := c.ReadFrame(ctx)
				if err != nil {
					return
				}
				if f.Binary || string(f.Data) != "2" {
					continue
				}
				if !silent {
					if c.WriteFrame(transport.TextFrame("3")) != nil {
						return
					}
				}
				select {
				case pings <- ping{client: i}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	ev := ts.next(t, "close")
	assert.ErrorIs(t, ev.err, engineio.ErrPingTimeout)
	assert.Equal(t, sids[0], ev.sess.ID(), "the silent client times out")

	// Every other client keeps getting pinged.
	counts := make([]int, n)
	missing := n - 1
	timeout := time.After(10 * time.Second)
	for missing > 0 {
		select {
		case p := <-pings:
			counts[p.client]++
			if p.client != 0 && counts[p.client] == 3 {
				missing--
			}
		case <-timeout:
			t.Fatalf("pings per client after 10s: %v", counts)
		}
	}
	assert.Equal(t, n-1, ts.eio.Len())
	select {
	case ev := <-ts.events:
		assert.NotEqual(t, "close", ev.kind, "unexpected close: %v", ev.err)
	default:
	}
	cancel()
	for i := 0; i < n; i++ {
		<-readersDone
	}
}

// TestHeartbeatAfterUpgrade checks that a session keeps its heartbeat when
// it moves from polling to WebSocket.
func TestHeartbeatAfterUpgrade(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: 2 * time.Second})
	sid := ts.pollHandshake(t)
	c := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	c.send(t, transport.TextFrame("2probe"))
	require.Equal(t, "3probe", string(c.read(t).Data))
	c.send(t, transport.TextFrame("5"))
	for i := 0; i < 3; i++ {
		f := c.read(t)
		require.Equal(t, "2", string(f.Data))
		c.send(t, transport.TextFrame("3"))
	}
	sess := ts.eio.Session(sid)
	require.NotNil(t, sess)
	assert.Equal(t, transport.NameWebSocket, sess.Transport())
}

// TestHeartbeatIdleServer checks that the heartbeat timer runs only while
// there are sessions, and that nothing is left running once they are gone.
func TestHeartbeatIdleServer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rec := &recorder{events: make(chan event, 64)}
	srv := engineio.NewServer(rec, &engineio.Options{PingInterval: 10 * time.Millisecond, PingTimeout: 10 * time.Millisecond})
	assert.False(t, engineio.HeartbeatArmed(srv), "a server without sessions has no timer")

	// Clients that never answer: their sessions time out.
	for i := 0; i < 3; i++ {
		serverEnd, clientEnd := memory.Pipe(transport.Params{})
		clientEnd.Start(clientHandler{frames: make(chan transport.Frame, 16), closed: make(chan error, 1)})
		require.NotNil(t, srv.ServeConn(serverEnd, nil))
	}
	assert.True(t, engineio.HeartbeatArmed(srv))
	for i := 0; i < 3; i++ {
		assert.ErrorIs(t, rec.next(t, "close").err, engineio.ErrPingTimeout)
	}
	assert.Equal(t, 0, srv.Len())
	assert.False(t, engineio.HeartbeatArmed(srv), "the timer stops with the last session")

	// Sessions closed by the application and by shutdown take their
	// heartbeats with them too.
	serverEnd, clientEnd := memory.Pipe(transport.Params{})
	clientEnd.Start(clientHandler{frames: make(chan transport.Frame, 16), closed: make(chan error, 1)})
	sess := srv.ServeConn(serverEnd, nil)
	require.NotNil(t, sess)
	require.NoError(t, sess.Close())
	assert.ErrorIs(t, rec.next(t, "close").err, engineio.ErrForcedClose)
	assert.False(t, engineio.HeartbeatArmed(srv))

	serverEnd, clientEnd = memory.Pipe(transport.Params{})
	clientEnd.Start(clientHandler{frames: make(chan transport.Frame, 16), closed: make(chan error, 1)})
	require.NotNil(t, srv.ServeConn(serverEnd, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.False(t, engineio.HeartbeatArmed(srv))
}

// BenchmarkOpenClose measures opening and closing a session (handshake
// packet, registration, heartbeat scheduling) on a server with n sessions.
func BenchmarkOpenClose(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			srv := engineio.NewServer(engineio.HandlerFunc(func(*engineio.Session) engineio.SessionHandler { return nil }),
				&engineio.Options{PingInterval: time.Hour, PingTimeout: time.Hour})
			for i := 0; i < n; i++ {
				srv.ServeConn(engineio.NopConn{}, nil)
			}
			b.ReportAllocs()
			for b.Loop() {
				s := srv.ServeConn(engineio.NopConn{}, nil)
				_ = s.Close()
			}
			b.StopTimer()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
		})
	}
}

// TestPingTimeoutIsNeverLate: a client that never answers the ping finds its
// session gone pingInterval+pingTimeout after the handshake, to the
// millisecond, as the official socket.io-protocol suite checks: it polls
// exactly that long after reading the handshake's answer. The deadline is
// taken when the test has read the open packet, so it is a little after the
// server's (which started counting before sending it), however loaded the
// machine; a timer that fires late must not keep the session alive.
func TestPingTimeoutIsNeverLate(t *testing.T) {
	const interval, timeout = 300 * time.Millisecond, 200 * time.Millisecond
	opts := &engineio.Options{PingInterval: interval, PingTimeout: timeout}
	waitUntil := func(deadline time.Time) { <-time.After(time.Until(deadline)) }

	t.Run("polling GET", func(t *testing.T) {
		ts := newTestServer(t, opts)
		sid := ts.pollHandshake(t)
		waitUntil(time.Now().Add(interval + timeout))
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.status, res.body)
		assert.JSONEq(t, `{"code":1,"message":"Session ID unknown"}`, res.body)
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrPingTimeout)
	})
	t.Run("polling late pong", func(t *testing.T) {
		ts := newTestServer(t, opts)
		sid := ts.pollHandshake(t)
		q := "EIO=4&transport=polling&sid=" + sid
		deadline := time.Now().Add(interval + timeout)
		res := ts.do(t, http.MethodGet, q, "", nil) // held until the ping
		require.Equal(t, "2", res.body)
		waitUntil(deadline)
		res = ts.do(t, http.MethodPost, q, "3", nil)
		assert.Equal(t, http.StatusBadRequest, res.status, "a pong after the deadline is too late: %s", res.body)
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrPingTimeout)
	})
	t.Run("websocket late pong", func(t *testing.T) {
		ts := newTestServer(t, opts)
		c := ts.dial(t, "EIO=4&transport=websocket", nil)
		parseOpen(t, c.readText(t))
		deadline := time.Now().Add(interval + timeout)
		require.Equal(t, "2", string(c.read(t).Data))
		waitUntil(deadline)
		// The pong is late: the session must be closed, not kept (and
		// pinged again).
		if err := c.WriteFrame(transport.TextFrame("3")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			f, err := c.ReadFrame(ctx)
			require.Error(t, err, "the session carries on after its deadline: got %q", f.Data)
			require.NotErrorIs(t, err, context.DeadlineExceeded, "the WebSocket stays open after the deadline")
		}
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrPingTimeout)
	})
	t.Run("websocket session lookup", func(t *testing.T) {
		ts := newTestServer(t, opts)
		c := ts.dial(t, "EIO=4&transport=websocket", nil)
		sid := parseOpen(t, c.readText(t)).SID
		deadline := time.Now().Add(interval + timeout)
		require.NotNil(t, ts.eio.Session(sid))
		waitUntil(deadline)
		assert.True(t, ts.eio.Session(sid) == nil, "the session is still open after its deadline")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		for err == nil {
			_, err = c.ReadFrame(ctx)
		}
		require.NotErrorIs(t, err, context.DeadlineExceeded, "the WebSocket stays open after the deadline")
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrPingTimeout)
	})
}
