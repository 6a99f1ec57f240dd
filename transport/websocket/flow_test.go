package websocket

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/racedetect"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flowtest"
)

// The flow-control tests make the server's writes stall by not reading on
// the client: a frame much larger than every kernel buffer between the two
// ends stays in flight, counted against the bound, until the client reads
// it. (The server's send buffer is left alone: a small one slows the
// writes down a lot once the client reads.)

const (
	flowBound = 64 << 10 // Params.MaxQueueBytes of the flow tests
	hugeSize  = 16 << 20 // a frame the kernel buffers cannot take
)

// smallReadBuffer bounds what the kernel holds for a client that does not
// read, and stops its receive buffer from growing.
func smallReadBuffer(t testing.TB, cc *ClientConn) {
	t.Helper()
	nc := cc.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	require.NoError(t, nc.(*net.TCPConn).SetReadBuffer(256<<10))
}

// newTLSFixture is newFixture over TLS: no raw descriptor, so frames are
// written by a writer goroutine with blocking writes.
func newTLSFixture(t testing.TB, opts *Options, p transport.Params) (*fixture, *DialOptions) {
	f := newFixture(t, opts, p)
	f.srv.Close()
	f.srv = httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(f.srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	return f, &DialOptions{TLSConfig: &tls.Config{RootCAs: pool}}
}

// flowPair opens a started connection bounded by flowBound whose client
// does not read (until the test reads from it). tlsConn picks TLS.
func flowPair(t *testing.T, tlsConn bool, rec *recorder) (*ClientConn, *Conn) {
	t.Helper()
	opts := &Options{}
	p := transport.Params{MaxQueueBytes: flowBound}
	f, dial := newFixture(t, opts, p), &DialOptions{}
	if tlsConn {
		f, dial = newTLSFixture(t, opts, p)
	}
	dial.MaxPayload = 2 * hugeSize
	cc := f.dial(dial)
	smallReadBuffer(t, cc)
	c := f.accept()
	c.Start(rec)
	t.Cleanup(func() {
		_ = cc.nc.Close()
		_ = c.Close()
		rec.wait(t)
	})
	return cc, c
}

// sendWaiting sends frames one by one as a producer that must not lose any
// would: waiting on Writable while the queue is at its bound. It returns
// how often it waited and the most bytes seen waiting right after a Send.
// It runs on a goroutine of its own: it reports failures with t.Errorf.
func sendWaiting(t testing.TB, c *Conn, frames []transport.Frame) (waits int, peak int64) {
	for _, fr := range frames {
		if ch := c.Writable(); ch != nil {
			waits++
			select {
			case <-ch:
			case <-time.After(flowtest.Timeout):
				t.Errorf("the producer's Writable channel was never closed")
				return waits, peak
			}
			assert.Nil(t, c.Writable(), "woken while still at the bound")
		}
		if err := c.Send(fr); err != nil {
			t.Errorf("Send after Writable: %v", err)
			return waits, peak
		}
		peak = max(peak, c.pending())
	}
	return waits, peak
}

// A client that stops reading makes Writable return a channel, closed once
// it reads again, whoever writes the frames: the shared flushers, the
// handler's goroutine (inline write) or a writer goroutine (TLS). Meanwhile
// TrySend refuses. A producer waiting on Writable then loses nothing and
// keeps the queue within its bound.
func TestWritableUntilTheClientReads(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tls    bool
		inline bool // the huge frame is sent by the handler
	}{
		{name: "flushers"},
		{name: "inline", inline: true},
		{name: "writer goroutine (TLS)", tls: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			huge := transport.BinaryFrame(make([]byte, hugeSize))
			rec := newRecorder()
			conn, sent := make(chan *Conn, 1), make(chan error, 1)
			rec.onFrame = func(transport.Frame) error {
				sent <- (<-conn).Send(huge)
				return nil
			}
			cc, c := flowPair(t, tt.tls, rec)
			require.Nil(t, c.Writable(), "empty queue")
			if tt.inline {
				conn <- c
				require.NoError(t, cc.WriteFrame(transport.TextFrame("go")))
				require.NoError(t, flowtest.Recv(t, sent, "handler's Send"))
			} else {
				// Larger than the bound, accepted into the empty queue.
				require.NoError(t, c.Send(huge))
			}
			ch := c.Writable()
			require.NotNil(t, ch, "%d bytes waiting", c.pending())
			assert.False(t, flowtest.Closed(ch), "closed while the client does not read")
			assert.True(t, ch == c.Writable(), "waiters share one channel")
			assert.False(t, c.TrySend(transport.TextFrame("volatile")), "TrySend while a frame is being written")

			got, err := cc.ReadFrame(ctxT(t))
			require.NoError(t, err)
			require.Len(t, got.Data, hugeSize)
			flowtest.Recv(t, ch, "the Writable channel once the client read")
			assert.Nil(t, c.Writable())
			assert.True(t, c.TrySend(transport.TextFrame("now")), "TrySend with nothing waiting")
			got, err = cc.ReadFrame(ctxT(t))
			require.NoError(t, err)
			assert.Equal(t, "now", string(got.Data), "the refused frame was not queued")

			const n = 3000
			frames := make([]transport.Frame, n)
			for i := range frames {
				frames[i] = transport.TextFrame(fmt.Sprintf("%04d%s", i, strings.Repeat("x", 1020)))
			}
			done := make(chan struct{})
			var waits int
			var peak int64
			go func() {
				defer close(done)
				waits, peak = sendWaiting(t, c, frames)
			}()
			for i := range n {
				got, err := cc.ReadFrame(ctxT(t))
				require.NoError(t, err, "frame %d", i)
				require.Equal(t, frames[i].Data, got.Data, "frame %d", i)
			}
			<-done
			assert.Less(t, peak, int64(flowBound+len(frames[0].Data)+transport.FrameOverhead), "bytes waiting")
			t.Logf("%d frames of %d bytes: the producer waited %d times", n, len(frames[0].Data), waits)
		})
	}
}

// Producers waiting on Writable are held from half the bound, leaving the
// other half to Sends that do not wait (broadcasts, heartbeats).
func TestWritableFromHalfTheBound(t *testing.T) {
	huge := transport.BinaryFrame(make([]byte, hugeSize))
	half := int64(hugeSize + transport.FrameOverhead)
	f := newFixture(t, nil, transport.Params{MaxQueueBytes: 2 * half})
	cc, c, _ := f.pair(&DialOptions{MaxPayload: 2 * hugeSize}, false)
	smallReadBuffer(t, cc)
	require.NoError(t, c.Send(huge))
	ch := c.Writable()
	require.NotNil(t, ch, "half the bound")
	require.NoError(t, c.Send(transport.TextFrame("not waiting")), "under the bound")
	assert.False(t, flowtest.Closed(ch))

	got, err := cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	require.Len(t, got.Data, hugeSize)
	got, err = cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "not waiting", string(got.Data))
	flowtest.Recv(t, ch, "the Writable channel")
}

// TrySend refuses frames while others wait to be written, even far under
// the bound, and queues nothing then; the connection goes on.
func TestTrySendRefusesWhileFramesWait(t *testing.T) {
	f := newFixture(t, nil, transport.Params{MaxQueueBytes: 4 * hugeSize})
	cc, c, _ := f.pair(&DialOptions{MaxPayload: 2 * hugeSize}, false)
	smallReadBuffer(t, cc)
	assert.True(t, c.TrySend(transport.TextFrame("first")), "nothing waits")
	got, err := cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, "first", string(got.Data))

	require.NoError(t, c.Send(transport.BinaryFrame(make([]byte, hugeSize))))
	assert.Nil(t, c.Writable(), "under the bound")
	assert.False(t, c.TrySend(transport.TextFrame("volatile 1")), "a frame is being written")
	require.NoError(t, c.Send(transport.TextFrame("queued")))
	assert.False(t, c.TrySend(transport.TextFrame("volatile 2")), "a frame is queued")

	got, err = cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	require.Len(t, got.Data, hugeSize)
	require.NoError(t, c.Send(transport.TextFrame("last")))
	for _, want := range []string{"queued", "last"} {
		got, err = cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		assert.Equal(t, want, string(got.Data), "refused frames are not queued")
	}
}

// stalledByHandler is flowPair whose handler has sent a huge frame: when it
// returns, the frame is being written (inline, then by a writer goroutine)
// and stays so until the client reads.
func stalledByHandler(t *testing.T) (*ClientConn, *Conn, *recorder) {
	t.Helper()
	rec := newRecorder()
	conn := make(chan *Conn, 1)
	rec.onFrame = func(f transport.Frame) error {
		if string(f.Data) == "go" {
			return (<-conn).Send(transport.BinaryFrame(make([]byte, hugeSize)))
		}
		return nil
	}
	cc, c := flowPair(t, false, rec)
	conn <- c
	require.NoError(t, cc.WriteFrame(transport.TextFrame("go")))
	require.Equal(t, "go", string(rec.next(t).Data))
	require.Equal(t, int64(hugeSize+transport.FrameOverhead), c.pending())
	return cc, c, rec
}

// A client's ping is answered even while producers keep the queue at its
// bound (waiting on Writable, as they may): the pong is not an overflow.
func TestPingAnsweredAtTheBound(t *testing.T) {
	cc, c, rec := stalledByHandler(t)
	require.NotNil(t, c.Writable(), "at the bound")
	// The reader handles the ping before the frame after it.
	cc.writeRaw(t, cframe(ws.OpPing, "are you there"), cframe(ws.OpText, "after the ping"))
	assert.Equal(t, "after the ping", string(rec.next(t).Data))

	op, p := cc.readRaw(t)
	require.Equal(t, ws.OpBinary, op)
	require.Len(t, p, hugeSize)
	op, p = cc.readRaw(t)
	assert.Equal(t, ws.OpPong, op)
	assert.Equal(t, "are you there", string(p))
}

// A client that floods pings without reading gets one pong, answering the
// latest: its pings cost no more queue.
func TestPingFloodKeepsOnePong(t *testing.T) {
	cc, c, rec := stalledByHandler(t)
	ch := c.Writable()
	require.NotNil(t, ch)
	before := c.pending()
	for i := range 1000 {
		cc.writeRaw(t, cframe(ws.OpPing, fmt.Sprintf("ping %d", i)))
	}
	cc.writeRaw(t, cframe(ws.OpText, "after the pings"))
	assert.Equal(t, "after the pings", string(rec.next(t).Data))
	assert.Equal(t, before+int64(len("ping 999"))+transport.FrameOverhead, c.pending(), "bytes waiting")

	op, _ := cc.readRaw(t)
	require.Equal(t, ws.OpBinary, op)
	op, p := cc.readRaw(t)
	require.Equal(t, ws.OpPong, op)
	assert.Equal(t, "ping 999", string(p))
	flowtest.Recv(t, ch, "the Writable channel")
	require.NoError(t, c.Send(transport.TextFrame("end")))
	op, p = cc.readRaw(t)
	assert.Equal(t, ws.OpText, op, "a single pong")
	assert.Equal(t, "end", string(p))
}

// Whatever ends the connection wakes the producers waiting for its queue
// to drain; Writable then returns nil, and Send says why.
func TestWritableWokenOnClose(t *testing.T) {
	for _, tt := range []struct {
		name  string
		close func(t *testing.T, cc *ClientConn, c *Conn)
		full  bool // HandleClose gets ErrQueueFull
	}{
		{
			name: "Send at the bound",
			close: func(t *testing.T, _ *ClientConn, c *Conn) {
				err := c.Send(transport.TextFrame("x"))
				require.ErrorIs(t, err, transport.ErrQueueFull)
				assert.True(t, strings.HasPrefix(err.Error(), "websocket: "), err.Error())
			},
			full: true,
		},
		{
			name:  "Close",
			close: func(_ *testing.T, _ *ClientConn, c *Conn) { _ = c.Close() },
		},
		{
			name:  "client goes away",
			close: func(_ *testing.T, cc *ClientConn, _ *Conn) { _ = cc.nc.Close() },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			cc, c := flowPair(t, false, rec)
			require.NoError(t, c.Send(transport.BinaryFrame(make([]byte, hugeSize))))
			ch := c.Writable()
			require.NotNil(t, ch)
			tt.close(t, cc, c)
			flowtest.Recv(t, ch, "the Writable channel")
			assert.Nil(t, c.Writable(), "closed")
			assert.ErrorIs(t, c.Send(transport.TextFrame("late")), transport.ErrClosed)
			assert.False(t, c.TrySend(transport.TextFrame("late")))
			// A graceful Close still waits for the huge frame: give up on it.
			_ = cc.nc.Close()
			err := rec.wait(t)
			if tt.full {
				assert.ErrorIs(t, err, transport.ErrQueueFull)
			}
		})
	}
}

// Frames count FrameOverhead bytes each besides their data, so a flood of
// empty frames to a client that does not read overflows too, with the
// queue holding at most bound/FrameOverhead frames.
func TestFloodOfTinyFramesIsBounded(t *testing.T) {
	rec := newRecorder()
	_, c := flowPair(t, false, rec)
	empty := transport.TextFrame("")
	var err error
	peak := 0
	sends := 0
	for ; sends < 1<<22 && err == nil; sends++ {
		err = c.Send(empty)
		c.mu.Lock()
		peak = max(peak, len(c.queue))
		c.mu.Unlock()
	}
	require.ErrorIs(t, err, transport.ErrQueueFull)
	assert.ErrorIs(t, rec.wait(t), transport.ErrQueueFull)
	assert.LessOrEqual(t, peak, flowBound/transport.FrameOverhead, "frames queued")
	t.Logf("overflowed after %d empty frames, at most %d queued", sends, peak)
}

// Asking whether a connection is writable costs no allocation while it is.
func TestWritableDoesNotAllocate(t *testing.T) {
	if racedetect.Enabled {
		t.Skip("allocations are counted without the race detector")
	}
	rec := newRecorder()
	_, c := flowPair(t, false, rec)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if c.Writable() != nil {
			t.Fatal("empty queue")
		}
	}))
}
