package websocket

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/go-realtime/realtime/transport"
)

// FuzzServerRead feeds arbitrary bytes, as the client side of a connection,
// to a server Conn: it must neither panic nor hang, and must call
// HandleClose exactly once.
func FuzzServerRead(f *testing.F) {
	z := deflateAppend(nil, []byte("hello hello hello hello"), 1)
	seeds := [][]byte{
		cframe(ws.OpText, "4hello"),
		cframe(ws.OpBinary, "\x00\x01"),
		append(frame(false, 0, ws.OpText, []byte("He"), true), append(cframe(ws.OpPing, "x"), frame(true, 0, ws.OpContinuation, []byte("llo"), true)...)...),
		frame(true, 0, ws.OpClose, closeBody(1000, "bye"), true),
		frame(true, 0, ws.OpClose, []byte{1}, true),
		frame(true, 0, ws.OpText, []byte("unmasked"), false),
		frame(true, rsv1, ws.OpText, z, true),
		frame(true, rsv1, ws.OpText, []byte{0xff, 0x00}, true),
		frame(true, 0, ws.OpText, []byte{0xc3}, true),
		{0x82, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
		{0x81, 0xfe, 0xff},
		{},
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, deflate bool) {
		srv, cli := net.Pipe()
		tr := New(&Options{WriteTimeout: time.Second, CloseTimeout: 50 * time.Millisecond, CompressionThreshold: 8})
		c := newConn(tr, srv, srv, transport.Params{MaxPayload: 1 << 12, MaxQueueBytes: 8 << 10}, deflate)
		rec := newRecorder()
		rec.onFrame = func(fr transport.Frame) error {
			if len(fr.Data) > 1<<12 {
				t.Errorf("frame of %d bytes over MaxPayload", len(fr.Data))
			}
			return c.Send(fr) // echo, exercising the writer
		}
		c.Start(rec)

		drained := make(chan struct{})
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, cli)
		}()
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = cli.Write(data) // fails once the server has closed
			_ = cli.Close()
		}()

		waitFor(t, rec.done, "HandleClose")
		waitFor(t, wrote, "client write")
		if n := rec.closes.Load(); n != 1 {
			t.Fatalf("HandleClose called %d times", n)
		}
		waitFor(t, drained, "client read")
		writer := make(chan struct{})
		go func() { c.wg.Wait(); close(writer) }()
		waitFor(t, writer, "writer exit")
	})
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s hangs\n%s", what, buf[:runtime.Stack(buf, true)])
	}
}
