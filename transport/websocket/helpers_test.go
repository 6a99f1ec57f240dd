package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/leaktest"

	"github.com/go-realtime/realtime/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

const waitTimeout = 10 * time.Second

// recorder is a transport.Handler recording what it gets.
type recorder struct {
	frames  chan transport.Frame
	done    chan struct{} // closed by HandleClose
	err     error         // HandleClose's argument, valid after done
	onFrame func(transport.Frame) error
	closes  atomic.Int32
	late    atomic.Int32 // HandleFrame calls after HandleClose
}

func newRecorder() *recorder {
	return &recorder{frames: make(chan transport.Frame, 8192), done: make(chan struct{})}
}

func (r *recorder) HandleFrame(f transport.Frame) error {
	if r.closes.Load() > 0 {
		r.late.Add(1)
	}
	if r.onFrame != nil {
		if err := r.onFrame(f); err != nil {
			return err
		}
	}
	r.frames <- f
	return nil
}

func (r *recorder) HandleClose(err error) {
	if r.closes.Add(1) == 1 {
		r.err = err
		close(r.done)
	}
}

// wait waits for HandleClose and returns its error.
func (r *recorder) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(waitTimeout):
		t.Fatal("HandleClose not called")
	}
	require.EqualValues(t, 1, r.closes.Load(), "HandleClose calls")
	require.Zero(t, r.late.Load(), "HandleFrame after HandleClose")
	return r.err
}

func (r *recorder) next(t testing.TB) transport.Frame {
	t.Helper()
	select {
	case f := <-r.frames:
		return f
	case <-r.done:
		t.Fatalf("connection closed: %v", r.err)
	case <-time.After(waitTimeout):
		t.Fatal("no frame received")
	}
	return transport.Frame{}
}

// fixture is an httptest server whose handler accepts WebSocket conns.
type fixture struct {
	t     testing.TB
	srv   *httptest.Server
	tr    *Transport
	conns chan *Conn
	errs  chan error
}

func newFixture(t testing.TB, opts *Options, p transport.Params) *fixture {
	f := &fixture{t: t, tr: New(opts), conns: make(chan *Conn, 16), errs: make(chan error, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := f.tr.Accept(w, r, p)
		if err != nil {
			f.errs <- err
			return
		}
		f.conns <- c.(*Conn)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) url() string { return "ws" + f.srv.URL[len("http"):] + "/ws" }

func (f *fixture) accept() *Conn {
	f.t.Helper()
	select {
	case c := <-f.conns:
		return c
	case err := <-f.errs:
		f.t.Fatalf("accept: %v", err)
	case <-time.After(waitTimeout):
		f.t.Fatal("no connection accepted")
	}
	return nil
}

func (f *fixture) acceptErr() error {
	f.t.Helper()
	select {
	case err := <-f.errs:
		return err
	case c := <-f.conns:
		c.Close()
		f.t.Fatal("connection accepted")
	case <-time.After(waitTimeout):
		f.t.Fatal("no accept error")
	}
	return nil
}

func (f *fixture) dial(opts *DialOptions) *ClientConn {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cc, err := Dial(ctx, f.url(), opts)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = cc.nc.Close() })
	return cc
}

// pair dials, accepts and starts the server conn with a recorder (echoing
// every frame back when echo). Cleanup closes both ends and waits for
// HandleClose.
func (f *fixture) pair(opts *DialOptions, echo bool) (*ClientConn, *Conn, *recorder) {
	f.t.Helper()
	cc := f.dial(opts)
	c := f.accept()
	rec := newRecorder()
	if echo {
		rec.onFrame = func(fr transport.Frame) error { return c.Send(fr) }
	}
	c.Start(rec)
	f.t.Cleanup(func() {
		_ = cc.nc.Close()
		_ = c.Close()
		rec.wait(f.t)
	})
	return cc, c, rec
}

// frame encodes a raw frame as a client would (masked when masked).
func frame(fin bool, rsv byte, op ws.OpCode, payload []byte, masked bool) []byte {
	b0 := rsv<<4 | byte(op)
	if fin {
		b0 |= 0x80
	}
	var b []byte
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, b0, m|byte(n))
	case n <= 0xffff:
		b = append(b, b0, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	p := append([]byte(nil), payload...)
	if masked {
		mask := [4]byte{0x12, 0x34, 0x56, 0x78}
		b = append(b, mask[:]...)
		ws.Cipher(p, mask, 0)
	}
	return append(b, p...)
}

// cframe is a complete masked client frame.
func cframe(op ws.OpCode, payload string) []byte {
	return frame(true, 0, op, []byte(payload), true)
}

func closeBody(code int, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

func (cc *ClientConn) writeRaw(t testing.TB, b ...[]byte) {
	t.Helper()
	var all []byte
	for _, p := range b {
		all = append(all, p...)
	}
	_, err := cc.nc.Write(all)
	require.NoError(t, err)
}

// readRaw reads the next frame or message from the server, control frames
// included.
func (cc *ClientConn) readRaw(t testing.TB) (ws.OpCode, []byte) {
	t.Helper()
	require.NoError(t, cc.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	op, p, err := cc.rd.next()
	require.NoError(t, err)
	return op, p
}

// expectClose reads frames until the server's close frame and returns its
// code and reason.
func (cc *ClientConn) expectClose(t testing.TB) (int, string) {
	t.Helper()
	for {
		op, p := cc.readRaw(t)
		if op != ws.OpClose {
			continue
		}
		if len(p) < 2 {
			return StatusNoStatus, ""
		}
		return int(binary.BigEndian.Uint16(p)), string(p[2:])
	}
}

func isTooLarge(err error) bool { return errors.Is(err, transport.ErrTooLarge) }
