package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/polling"
)

// The tests of Session.SendWait need transports that report when they can
// be written (transport.Writable): the WebSocket and polling transports.
// Every queue here has the default bound, transport.DefaultMaxQueueBytes.

// numbered returns message frame i: "4" and i, padded with x to size bytes.
func numbered(i, size int) transport.Frame {
	s := "4" + strconv.Itoa(i) + ":"
	return transport.TextFrame(s + strings.Repeat("x", max(size-len(s), 0)))
}

// number returns the i of a frame made by numbered, or -1.
func number(f transport.Frame) int {
	s := string(f.Data)
	end := strings.IndexByte(s, ':')
	if f.Binary || !strings.HasPrefix(s, "4") || end < 0 {
		return -1
	}
	i, err := strconv.Atoi(s[1:end])
	if err != nil {
		return -1
	}
	return i
}

// waits returns a channel that gets a value each time a SendWait starts
// waiting, for the rest of the test.
func waits(t *testing.T) <-chan *engineio.Session {
	ch := make(chan *engineio.Session, 1024)
	engineio.OnSendWait(t, func(s *engineio.Session) {
		select {
		case ch <- s:
		default:
		}
	})
	return ch
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// fill sends frames of size bytes with SendWait and a cancelled context
// until the queue is over its bound (SendWait then fails with the context's
// error instead of waiting), and returns how many were queued.
func fill(t *testing.T, sess *engineio.Session, size int) int {
	t.Helper()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	limit := (64 << 20) / size // far beyond the default bound
	for i := 0; i < limit; i++ {
		err := sess.SendWait(cancelled, numbered(i, size))
		if err != nil {
			require.ErrorIs(t, err, context.Canceled, "frame %d", i)
			return i
		}
	}
	t.Fatalf("%d frames of %d bytes queued and the queue never reported it was full: does the transport implement transport.Writable?", limit, size)
	return 0
}

// pollFrames GETs once and returns the frames of the answer.
func pollFrames(t *testing.T, ts *testServer, sid string) []transport.Frame {
	t.Helper()
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	frames, err := polling.DecodePayload([]byte(res.body))
	require.NoError(t, err)
	return frames
}

// TestSendWaitDeliversBurst: a producer that uses SendWait can send far
// more than the queue's bound to a client that reads: it waits while the
// client catches up, and the client gets every frame, in order, with no
// overflow.
func TestSendWaitDeliversBurst(t *testing.T) {
	const n, size = 640, 16 << 10 // 10 MiB: 2.5 times the default bound
	for _, name := range []string{"websocket", "polling"} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
			waiting := waits(t)
			var (
				ws   *wsClient
				sid  string
				sess *engineio.Session
			)
			if name == "websocket" {
				ws = ts.dial(t, "EIO=4&transport=websocket", nil)
				parseOpen(t, ws.readText(t))
				sess = ts.next(t, "open").sess
			} else {
				sid = ts.pollHandshake(t)
				sess = ts.eio.Session(sid)
			}
			produced := make(chan error, 1)
			go func() {
				for i := range n {
					if err := sess.SendWait(context.Background(), numbered(i, size)); err != nil {
						produced <- fmt.Errorf("frame %d: %w", i, err)
						return
					}
				}
				produced <- nil
			}()
			// The client starts reading once the producer waits for it.
			waitFor(t, waiting, "the producer to wait")
			next := 0
			for next < n {
				var frames []transport.Frame
				if ws != nil {
					frames = []transport.Frame{ws.read(t)}
				} else {
					frames = pollFrames(t, ts, sid)
				}
				for _, f := range frames {
					if i := number(f); i >= 0 {
						require.Equal(t, next, i, "frames in order")
						next++
					}
				}
			}
			require.NoError(t, waitFor(t, produced, "the producer"))
			assert.Equal(t, int64(0), ts.eio.Stats().Overflows)
			assert.Equal(t, 1, ts.eio.Len(), "the session is open")
		})
	}
}

// TestSendWaitEnds: a SendWait waiting for a client that does not read
// ends when its context does, or when the session closes.
func TestSendWaitEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(sess *engineio.Session, cancel context.CancelFunc)
		want error
	}{
		{"context cancelled", func(_ *engineio.Session, cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"session closed", func(sess *engineio.Session, _ context.CancelFunc) { _ = sess.Close() }, engineio.ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
			waiting := waits(t)
			sid := ts.pollHandshake(t) // and never polls
			sess := ts.eio.Session(sid)
			queued := fill(t, sess, 64<<10)
			assert.Greater(t, queued, 0)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- sess.SendWait(ctx, numbered(queued, 10)) }()
			waitFor(t, waiting, "SendWait to wait")
			tc.end(sess, cancel)
			assert.ErrorIs(t, waitFor(t, done, "SendWait to return"), tc.want)
			assert.Equal(t, int64(0), ts.eio.Stats().Overflows, "waiting never overflows the queue")
		})
	}
}

// TestSendWaitFollowsUpgrade: a SendWait waiting on a polling session's
// full queue carries on on the WebSocket the session moves to, after what
// the polling queue held, in order. The upgrade itself never overflows the
// full polling queue.
func TestSendWaitFollowsUpgrade(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
	waiting := waits(t)
	sid := ts.pollHandshake(t)
	sess := ts.eio.Session(sid)
	const size = 64 << 10
	queued := fill(t, sess, size)

	done := make(chan error, 1)
	go func() { done <- sess.SendWait(context.Background(), numbered(queued, 10)) }()
	waitFor(t, waiting, "SendWait to wait")

	ws := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	ws.send(t, transport.TextFrame("2probe"))
	assert.Equal(t, "3probe", ws.readText(t))
	ws.send(t, transport.TextFrame("5"))
	for want := 0; want <= queued; want++ {
		f := ws.read(t)
		if !f.Binary && string(f.Data) == "6" {
			want--
			continue
		}
		require.Equal(t, want, number(f), "frame %d of %d, in order, then the waiting one", want, queued)
	}
	require.NoError(t, waitFor(t, done, "SendWait to return"))
	assert.Equal(t, "websocket", sess.Transport())
	assert.Equal(t, int64(0), ts.eio.Stats().Overflows)
	assert.Equal(t, int64(1), ts.eio.Stats().Upgrades)
}

// TestPingFollowsBacklog: a ping due while the queue is over its bound
// (producers waiting with SendWait keep it there while a client catches
// up) does not overflow it, which would close the session of a client that
// reads: it is written after the backlog, and the session carries on.
func TestPingFollowsBacklog(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: 50 * time.Millisecond, PingTimeout: time.Minute})
	sid := ts.pollHandshake(t)
	sess := ts.eio.Session(sid)
	queued := fill(t, sess, 64<<10)
	require.Eventually(t, func() bool { return engineio.PingWaiting(sess) }, 10*time.Second, time.Millisecond,
		"a ping comes due while the queue is full")

	next, pinged := 0, false
	for !pinged {
		for _, f := range pollFrames(t, ts, sid) {
			switch {
			case !f.Binary && string(f.Data) == "2":
				assert.Equal(t, queued, next, "the ping comes after the backlog")
				pinged = true
			case number(f) >= 0:
				require.Equal(t, next, number(f))
				next++
			}
		}
	}
	res := ts.do(t, http.MethodPost, "EIO=4&transport=polling&sid="+sid, "3", nil)
	require.Equal(t, http.StatusOK, res.status)
	require.NoError(t, sess.Send(engineio.Text([]byte("after"))))
	for _, f := range pollFrames(t, ts, sid) {
		if string(f.Data) != "2" {
			assert.Equal(t, "4after", string(f.Data))
		}
	}
	assert.Equal(t, int64(0), ts.eio.Stats().Overflows)
	assert.Equal(t, 1, ts.eio.Len(), "the session is open")
	select {
	case ev := <-ts.events:
		if ev.kind == "close" {
			t.Fatalf("session closed: %v", ev.err)
		}
	default:
	}
}

// TestSendWaitRefusesNonMessages: like Send, SendWait takes message
// packets only.
func TestSendWaitRefusesNonMessages(t *testing.T) {
	ts := newTestServer(t, nil)
	sess := ts.eio.Session(ts.pollHandshake(t))
	err := sess.SendWait(context.Background(), transport.TextFrame("2"))
	assert.True(t, errors.Is(err, engineio.ErrNotMessage), "%v", err)
}
