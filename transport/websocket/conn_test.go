package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, true)
	big := bytes.Repeat([]byte("0123456789"), 20000) // 64-bit length
	mid := bytes.Repeat([]byte("x"), 300)            // 16-bit length
	frames := []transport.Frame{
		transport.TextFrame("4hello"),
		transport.BinaryFrame([]byte{0, 1, 2, 255}),
		transport.TextFrame(""),
		transport.TextFrame("4héllo wörld ✓"),
		transport.BinaryFrame(big),
		{Data: mid},
	}
	for _, fr := range frames {
		require.NoError(t, cc.WriteFrame(fr))
		got := rec.next(t)
		assert.Equal(t, fr.Binary, got.Binary)
		assert.Equal(t, string(fr.Data), string(got.Data))
		back, err := cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		assert.Equal(t, fr.Binary, back.Binary)
		assert.Equal(t, string(fr.Data), string(back.Data))
	}
}

func TestFragmentationWithInterleavedPing(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, false)
	word := []byte("Hello wörld") // "ö" is split across two fragments
	i := bytes.IndexByte(word, 0xc3) + 1
	cc.writeRaw(t,
		frame(false, 0, ws.OpText, word[:3], true),
		cframe(ws.OpPing, "p1"),
		frame(false, 0, ws.OpContinuation, word[3:i], true),
		cframe(ws.OpPong, "ignored"),
		frame(false, 0, ws.OpContinuation, nil, true),
		cframe(ws.OpPing, "p2"),
		frame(true, 0, ws.OpContinuation, word[i:], true),
		frame(false, 0, ws.OpBinary, []byte{1, 2}, true),
		frame(true, 0, ws.OpContinuation, []byte{3}, true),
	)
	assert.Equal(t, transport.TextFrame(string(word)), rec.next(t))
	assert.Equal(t, transport.BinaryFrame([]byte{1, 2, 3}), rec.next(t))
	for _, want := range []string{"p1", "p2"} {
		op, p := cc.readRaw(t)
		assert.Equal(t, ws.OpPong, op)
		assert.Equal(t, want, string(p))
	}
}

func TestPingPong(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, false)
	payload := strings.Repeat("p", 125)
	cc.writeRaw(t, cframe(ws.OpPing, payload), cframe(ws.OpPing, ""), cframe(ws.OpPong, "unsolicited"), cframe(ws.OpText, "after"))
	op, p := cc.readRaw(t)
	assert.Equal(t, ws.OpPong, op)
	assert.Equal(t, payload, string(p))
	op, p = cc.readRaw(t)
	assert.Equal(t, ws.OpPong, op)
	assert.Empty(t, p)
	// The pong was not delivered as a frame.
	assert.Equal(t, transport.TextFrame("after"), rec.next(t))
}

func TestClientCloses(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		want     CloseError
		wantEcho int
	}{
		{
			name:     "code and reason",
			body:     closeBody(4001, "bye"),
			want:     CloseError{Code: 4001, Reason: "bye"},
			wantEcho: 4001,
		},
		{
			name:     "normal",
			body:     closeBody(1000, ""),
			want:     CloseError{Code: 1000},
			wantEcho: 1000,
		},
		{
			name:     "going away",
			body:     closeBody(1001, "tab closed"),
			want:     CloseError{Code: 1001, Reason: "tab closed"},
			wantEcho: 1001,
		},
		{
			name:     "no status",
			body:     nil,
			want:     CloseError{Code: StatusNoStatus},
			wantEcho: StatusNoStatus,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, transport.Params{})
			cc, c, rec := f.pair(nil, false)
			cc.writeRaw(t, frame(true, 0, ws.OpClose, tt.body, true))
			code, _ := cc.expectClose(t)
			assert.Equal(t, tt.wantEcho, code)
			err := rec.wait(t)
			var ce *CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.want, *ce)
			assert.Contains(t, err.Error(), "websocket:")
			assert.ErrorIs(t, c.Send(transport.TextFrame("x")), transport.ErrClosed)
			// The server closed TCP after answering.
			_, _, err = cc.rd.next()
			assert.Error(t, err)
		})
	}
}

func TestClientCloseWithStatusHelper(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, false)
	require.NoError(t, cc.CloseWithStatus(4002, "done"))
	_, err := cc.ReadFrame(ctxT(t))
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 4002, ce.Code)
	require.ErrorAs(t, rec.wait(t), &ce)
	assert.Equal(t, CloseError{Code: 4002, Reason: "done"}, *ce)
}

func TestServerCloses(t *testing.T) {
	tests := []struct {
		name   string
		close  func(c *Conn) error
		code   int
		reason string
	}{
		{
			name:  "Close",
			close: (*Conn).Close,
			code:  1000,
		},
		{
			name:   "going away",
			close:  func(c *Conn) error { return c.CloseWithStatus(1001, "server shutdown") },
			code:   1001,
			reason: "server shutdown",
		},
		{
			name:   "long reason cut at a rune boundary",
			close:  func(c *Conn) error { return c.CloseWithStatus(4000, strings.Repeat("é", 100)) },
			code:   4000,
			reason: strings.Repeat("é", 61),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, transport.Params{})
			cc, c, rec := f.pair(nil, false)
			require.NoError(t, tt.close(c))
			require.NoError(t, c.Close(), "idempotent")
			_, err := cc.ReadFrame(ctxT(t)) // answers the close
			var ce *CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, CloseError{Code: tt.code, Reason: tt.reason}, *ce)
			assert.NoError(t, rec.wait(t))
			assert.ErrorIs(t, c.Send(transport.TextFrame("x")), transport.ErrClosed)
		})
	}
}

func TestCloseWithStatusInvalidCode(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, c, _ := f.pair(nil, true)
	for _, code := range []int{0, 999, 1005, 1006, 1015, 2000, 5000} {
		assert.Error(t, c.CloseWithStatus(code, ""), code)
	}
	// Still open.
	require.NoError(t, cc.WriteFrame(transport.TextFrame("still")))
	got, err := cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "still", string(got.Data))
}

func TestProtocolViolations(t *testing.T) {
	long := make([]byte, 8)
	long[0] = 0x80 // 64-bit length with the most significant bit set
	tests := []struct {
		name  string
		send  [][]byte
		code  int
		isErr error
	}{
		{
			name:  "unmasked frame",
			send:  [][]byte{frame(true, 0, ws.OpText, []byte("hi"), false)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "RSV1 without deflate",
			send:  [][]byte{frame(true, 4, ws.OpText, []byte("hi"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "RSV2",
			send:  [][]byte{frame(true, 2, ws.OpText, []byte("hi"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "RSV3",
			send:  [][]byte{frame(true, 1, ws.OpBinary, []byte("hi"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "reserved data opcode",
			send:  [][]byte{frame(true, 0, 0x3, []byte("hi"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "reserved control opcode",
			send:  [][]byte{frame(true, 0, 0xb, nil, true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "control frame too long",
			send:  [][]byte{frame(true, 0, ws.OpPing, make([]byte, 126), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "fragmented control frame",
			send:  [][]byte{frame(false, 0, ws.OpPing, []byte("x"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "continuation without message",
			send:  [][]byte{frame(true, 0, ws.OpContinuation, []byte("x"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "new message inside fragmented one",
			send:  [][]byte{frame(false, 0, ws.OpText, []byte("a"), true), frame(true, 0, ws.OpText, []byte("b"), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "length MSB set",
			send:  [][]byte{append(append([]byte{0x81, 0x80 | 127}, long...), 1, 2, 3, 4)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "invalid UTF-8",
			send:  [][]byte{frame(true, 0, ws.OpText, []byte{'4', 0xff, 0xfe}, true)},
			code:  1007,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "invalid UTF-8 across fragments",
			send:  [][]byte{frame(false, 0, ws.OpText, []byte{'a', 0xc3}, true), frame(true, 0, ws.OpContinuation, []byte{'b'}, true)},
			code:  1007,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "too large",
			send:  [][]byte{frame(true, 0, ws.OpText, bytes.Repeat([]byte("a"), 17), true)},
			code:  1009,
			isErr: transport.ErrTooLarge,
		},
		{
			name:  "too large declared, never sent",
			send:  [][]byte{{0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}},
			code:  1009,
			isErr: transport.ErrTooLarge,
		},
		{
			name: "too large fragmented",
			send: [][]byte{
				frame(false, 0, ws.OpBinary, bytes.Repeat([]byte("a"), 10), true),
				frame(true, 0, ws.OpContinuation, bytes.Repeat([]byte("a"), 7), true),
			},
			code:  1009,
			isErr: transport.ErrTooLarge,
		},
		{
			name:  "close with 1-byte payload",
			send:  [][]byte{frame(true, 0, ws.OpClose, []byte{3}, true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "close with reserved code",
			send:  [][]byte{frame(true, 0, ws.OpClose, closeBody(1005, ""), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "close with out of range code",
			send:  [][]byte{frame(true, 0, ws.OpClose, closeBody(999, ""), true)},
			code:  1002,
			isErr: transport.ErrBadRequest,
		},
		{
			name:  "close reason not UTF-8",
			send:  [][]byte{frame(true, 0, ws.OpClose, closeBody(1000, "\xff"), true)},
			code:  1007,
			isErr: transport.ErrBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, transport.Params{MaxPayload: 16})
			cc, c, rec := f.pair(nil, false)
			// A valid message of exactly MaxPayload bytes goes through.
			cc.writeRaw(t, cframe(ws.OpText, strings.Repeat("a", 16)))
			assert.Len(t, rec.next(t).Data, 16)

			cc.writeRaw(t, tt.send...)
			code, reason := cc.expectClose(t)
			assert.Equal(t, tt.code, code)
			assert.NotEmpty(t, reason)
			assert.LessOrEqual(t, len(reason), 123)
			cc.nc.Close()
			err := rec.wait(t)
			assert.ErrorIs(t, err, tt.isErr)
			assert.True(t, strings.HasPrefix(err.Error(), "websocket: "), err.Error())
			assert.ErrorIs(t, c.Send(transport.TextFrame("x")), transport.ErrClosed)
		})
	}
}

// After a protocol error the server parses on until the client answers its
// close frame, then closes TCP: no need for the client to close first.
func TestProtocolErrorClosingHandshake(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, false)
	cc.writeRaw(t, frame(true, 0, ws.OpText, []byte{0xff}, true))
	_, err := cc.ReadFrame(ctxT(t)) // answers the close
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 1007, ce.Code)
	assert.ErrorIs(t, rec.wait(t), transport.ErrBadRequest)
	_, _, err = cc.rd.next()
	assert.Error(t, err, "server closed TCP")
}

func TestHandlerError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		reason string
	}{
		{
			name:   "protocol error",
			err:    errors.New("engine.io: invalid packet"),
			code:   1002,
			reason: "engine.io: invalid packet",
		},
		{
			name:   "too large",
			err:    fmt.Errorf("engine.io: too many attachments: %w", transport.ErrTooLarge),
			code:   1009,
			reason: "engine.io: too many attachments: transport: payload too large",
		},
		{
			name:   "long error truncated",
			err:    errors.New(strings.Repeat("x", 300)),
			code:   1002,
			reason: strings.Repeat("x", 123),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, transport.Params{})
			cc, _, rec := f.pair(nil, false)
			rec.onFrame = func(fr transport.Frame) error {
				if string(fr.Data) == "bad" {
					return tt.err
				}
				return nil
			}
			cc.writeRaw(t, cframe(ws.OpText, "good"), cframe(ws.OpText, "bad"), cframe(ws.OpText, "dropped"))
			assert.Equal(t, "good", string(rec.next(t).Data))
			code, reason := cc.expectClose(t)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.reason, reason)
			cc.nc.Close()
			assert.Same(t, tt.err, rec.wait(t))
			assert.Empty(t, rec.frames, "no frame after the failing one")
		})
	}
}

func TestCompressionRoundTrip(t *testing.T) {
	f := newFixture(t, &Options{Compression: true, CompressionThreshold: 64}, transport.Params{})
	cc, c, rec := f.pair(&DialOptions{Compression: true, CompressionThreshold: 64}, true)
	require.True(t, cc.Compression())
	require.True(t, c.Compression())

	big := strings.Repeat("4compressible payload ", 200)
	for _, s := range []string{big, "4small", big + "é", ""} {
		require.NoError(t, cc.WriteFrame(transport.TextFrame(s)))
		assert.Equal(t, s, string(rec.next(t).Data))
		back, err := cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		assert.Equal(t, s, string(back.Data))
	}
	bin := bytes.Repeat([]byte{1, 2, 3, 4}, 1000)
	require.NoError(t, cc.WriteFrame(transport.BinaryFrame(bin)))
	assert.Equal(t, bin, rec.next(t).Data)
	back, err := cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, transport.BinaryFrame(bin), back)
}

// On the wire: frames at or over the threshold have RSV1 and a deflated
// payload, smaller ones are plain; the shared frame data is not modified.
func TestCompressionOnTheWire(t *testing.T) {
	f := newFixture(t, &Options{Compression: true, CompressionThreshold: 100}, transport.Params{})
	cc, c, _ := f.pair(&DialOptions{Compression: true}, false)
	big := []byte(strings.Repeat("abcdefgh", 100))
	orig := bytes.Clone(big)
	require.NoError(t, c.Send(transport.TextFrame("small"), transport.BinaryFrame(big)))

	require.NoError(t, cc.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	h, err := ws.ReadHeader(cc.rd.src)
	require.NoError(t, err)
	assert.Zero(t, h.Rsv)
	assert.EqualValues(t, 5, h.Length)
	p := make([]byte, h.Length)
	_, err = io.ReadFull(cc.rd.src, p)
	require.NoError(t, err)

	h, err = ws.ReadHeader(cc.rd.src)
	require.NoError(t, err)
	assert.Equal(t, byte(rsv1), h.Rsv)
	assert.Equal(t, ws.OpBinary, h.OpCode)
	assert.Less(t, h.Length, int64(len(big)))
	p = make([]byte, h.Length)
	_, err = io.ReadFull(cc.rd.src, p)
	require.NoError(t, err)
	out, err := inflate(p, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, big, out)
	assert.Equal(t, orig, big)
}

// A frame with NoCompress goes out plain even over the threshold, between
// frames that are compressed.
func TestCompressionNoCompressFrame(t *testing.T) {
	f := newFixture(t, &Options{Compression: true, CompressionThreshold: 100}, transport.Params{})
	cc, c, _ := f.pair(&DialOptions{Compression: true}, false)
	big := strings.Repeat("abcdefgh", 100)
	require.NoError(t, c.Send(transport.TextFrame(big), transport.Frame{Data: []byte(big), NoCompress: true}, transport.TextFrame(big)))

	require.NoError(t, cc.nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	for i, compressed := range []bool{true, false, true} {
		h, err := ws.ReadHeader(cc.rd.src)
		require.NoError(t, err)
		p := make([]byte, h.Length)
		_, err = io.ReadFull(cc.rd.src, p)
		require.NoError(t, err)
		if !compressed {
			assert.Zero(t, h.Rsv, "frame %d", i)
			assert.Equal(t, big, string(p), "frame %d", i)
			continue
		}
		assert.Equal(t, byte(rsv1), h.Rsv, "frame %d", i)
		out, err := inflate(p, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, big, string(out), "frame %d", i)
	}
}

func TestCompressedFromClient(t *testing.T) {
	f := newFixture(t, &Options{Compression: true}, transport.Params{MaxPayload: 1000})
	cc, _, rec := f.pair(&DialOptions{Compression: true}, false)
	msg := []byte(strings.Repeat("héllo ", 100))
	z := deflateAppend(nil, msg, 9)
	// Compressed and fragmented: RSV1 on the first fragment only.
	cc.writeRaw(t,
		frame(false, rsv1, ws.OpText, z[:len(z)/2], true),
		cframe(ws.OpPing, "x"),
		frame(true, 0, ws.OpContinuation, z[len(z)/2:], true),
		cframe(ws.OpText, "plain"),
	)
	assert.Equal(t, string(msg), string(rec.next(t).Data))
	assert.Equal(t, "plain", string(rec.next(t).Data))

	// A decompression bomb: a few bytes inflating over MaxPayload.
	bomb := deflateAppend(nil, make([]byte, 1<<20), 9)
	require.Less(t, len(bomb), 2000)
	cc.writeRaw(t, frame(true, rsv1, ws.OpBinary, bomb, true))
	code, _ := cc.expectClose(t)
	assert.Equal(t, 1009, code)
	cc.nc.Close()
	assert.ErrorIs(t, rec.wait(t), transport.ErrTooLarge)
}

func TestCompressionViolations(t *testing.T) {
	tests := []struct {
		name string
		send []byte
		code int
	}{
		{
			name: "RSV1 on continuation",
			send: append(frame(false, 0, ws.OpText, []byte("a"), true), frame(true, rsv1, ws.OpContinuation, []byte("b"), true)...),
			code: 1002,
		},
		{
			name: "RSV1 on control frame",
			send: frame(true, rsv1, ws.OpPing, nil, true),
			code: 1002,
		},
		{
			name: "corrupt deflate stream",
			send: frame(true, rsv1, ws.OpText, []byte{0xff, 0xff, 0xff}, true),
			code: 1007,
		},
		{
			name: "inflates to invalid UTF-8",
			send: frame(true, rsv1, ws.OpText, deflateAppend(nil, []byte{0xff}, 1), true),
			code: 1007,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &Options{Compression: true}, transport.Params{})
			cc, _, rec := f.pair(&DialOptions{Compression: true}, false)
			cc.writeRaw(t, tt.send)
			code, _ := cc.expectClose(t)
			assert.Equal(t, tt.code, code)
			cc.nc.Close()
			assert.ErrorIs(t, rec.wait(t), transport.ErrBadRequest)
		})
	}
}

func TestQueueOverflow(t *testing.T) {
	f := newFixture(t, nil, transport.Params{MaxQueueBytes: 8 << 20})
	cc, c, rec := f.pair(nil, false)
	_ = cc // never reads
	big := transport.BinaryFrame(make([]byte, 1<<20))
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = c.Send(big)
	}
	require.ErrorIs(t, err, transport.ErrQueueFull)
	assert.True(t, strings.HasPrefix(err.Error(), "websocket: "))
	assert.ErrorIs(t, rec.wait(t), transport.ErrQueueFull)
	assert.ErrorIs(t, c.Send(big), transport.ErrClosed)
}

func TestWriteTimeout(t *testing.T) {
	f := newFixture(t, &Options{WriteTimeout: 100 * time.Millisecond}, transport.Params{MaxQueueBytes: 1 << 30})
	_, c, rec := f.pair(nil, false)
	big := transport.BinaryFrame(make([]byte, 1<<20))
	for range 64 {
		if c.Send(big) != nil {
			break
		}
	}
	err := rec.wait(t)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestConcurrentSendersKeepOrder(t *testing.T) {
	const senders, each = 4, 300
	f := newFixture(t, nil, transport.Params{})
	cc, c, _ := f.pair(nil, false)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				assert.NoError(t, c.Send(transport.TextFrame(fmt.Sprintf("%d:%d", s, i))))
			}
		})
	}
	next := make([]int, senders)
	for range senders * each {
		fr, err := cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		var s, i int
		_, err = fmt.Sscanf(string(fr.Data), "%d:%d", &s, &i)
		require.NoError(t, err)
		require.Equal(t, next[s], i, "sender %d out of order", s)
		next[s]++
	}
	wg.Wait()
}

func TestCloseFlushesQueue(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, c, rec := f.pair(nil, false)
	const n = 500
	for i := range n {
		require.NoError(t, c.Send(transport.TextFrame(fmt.Sprint(i))))
	}
	require.NoError(t, c.Close())
	for i := range n {
		fr, err := cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), string(fr.Data))
	}
	_, err := cc.ReadFrame(ctxT(t))
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 1000, ce.Code)
	assert.NoError(t, rec.wait(t))
}

// Close before Start still writes the close frame and releases the TCP
// connection; a later Start reports the end at once.
func TestCloseBeforeStart(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc := f.dial(nil)
	c := f.accept()
	require.NoError(t, c.Send(transport.TextFrame("last")))
	require.NoError(t, c.Close())
	fr, err := cc.ReadFrame(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "last", string(fr.Data))
	code, _ := cc.expectClose(t)
	assert.Equal(t, 1000, code)
	_, _, err = cc.rd.next()
	assert.Error(t, err, "TCP closed")

	rec := newRecorder()
	c.Start(rec)
	assert.NoError(t, rec.wait(t))
	c.Start(rec) // ignored
}

// A client that vanishes without a close frame.
func TestPeerDisappears(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, false)
	cc.writeRaw(t, frame(false, 0, ws.OpText, []byte("half"), true))
	cc.nc.Close()
	err := rec.wait(t)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestClientClose(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, rec := f.pair(nil, true)
	require.NoError(t, cc.WriteFrame(transport.TextFrame("x")))
	require.NoError(t, cc.Close())
	var ce *CloseError
	require.ErrorAs(t, rec.wait(t), &ce)
	assert.Equal(t, 1000, ce.Code)
	assert.ErrorIs(t, cc.WriteFrame(transport.TextFrame("y")), transport.ErrClosed)
}

func TestClientReadFrameContext(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	cc, _, _ := f.pair(nil, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := cc.ReadFrame(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = cc.ReadFrame(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// Many frames of varied sizes written as one batch (over IOV_MAX buffers,
// with partial writes) arrive intact and in order.
func TestLargeBatchIntegrity(t *testing.T) {
	f := newFixture(t, nil, transport.Params{MaxQueueBytes: 64 << 20})
	cc, c, _ := f.pair(nil, false)
	rnd := rand.New(rand.NewPCG(1, 2))
	frames := make([]transport.Frame, 1500)
	for i := range frames {
		p := make([]byte, rnd.IntN(3000))
		for j := range p {
			p[j] = byte(rnd.Uint32())
		}
		if i%100 == 0 {
			p = make([]byte, 70000+i)
		}
		frames[i] = transport.BinaryFrame(p)
	}
	require.NoError(t, c.Send(frames...))
	for i, want := range frames {
		got, err := cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		require.Equal(t, want.Data, got.Data, "frame %d", i)
	}
}

// Over TLS (no writev: batches are joined before the write).
func TestTLS(t *testing.T) {
	tr := New(&Options{Compression: true})
	conns := make(chan *Conn, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tr.Accept(w, r, transport.Params{})
		if !assert.NoError(t, err) {
			return
		}
		conns <- c.(*Conn)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cc, err := Dial(ctxT(t), srv.URL, &DialOptions{TLSConfig: &tls.Config{RootCAs: pool}, Compression: true})
	require.NoError(t, err)
	defer cc.nc.Close()
	c := <-conns
	rec := newRecorder()
	rec.onFrame = func(fr transport.Frame) error { return c.Send(fr, fr) }
	c.Start(rec)
	msg := strings.Repeat("tls ", 1000)
	require.NoError(t, cc.WriteFrame(transport.TextFrame(msg)))
	for range 2 {
		got, err := cc.ReadFrame(ctxT(t))
		require.NoError(t, err)
		assert.Equal(t, msg, string(got.Data))
	}
	require.NoError(t, c.CloseWithStatus(1001, "bye"))
	_, err = cc.ReadFrame(ctxT(t))
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 1001, ce.Code)
	assert.NoError(t, rec.wait(t))
}

// Replies sent from the handler are written inline; when the client stops
// reading, the socket fills up and the rest goes through a writer goroutine
// with blocking writes. Nothing is lost or reordered, with and without
// compression, and the reader is never blocked by the full socket.
func TestInlineRepliesToASlowReader(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compression=%v", compress), func(t *testing.T) {
			f := newFixture(t, &Options{Compression: compress, SendBuffer: 8 << 10}, transport.Params{MaxQueueBytes: 16 << 20})
			cc := f.dial(&DialOptions{Compression: compress})
			c := f.accept()
			rnd := rand.New(rand.NewPCG(3, 4))
			const n = 300
			replies := make([][]byte, n)
			for i := range replies {
				p := make([]byte, 2000+rnd.IntN(4000))
				for j := range p {
					p[j] = byte('a' + rnd.IntN(26))
				}
				replies[i] = p
			}
			handled := make(chan int, n)
			rec := newRecorder()
			var next int
			rec.onFrame = func(fr transport.Frame) error {
				i := next
				next++
				err := c.Send(transport.TextFrame(string(replies[i])))
				handled <- i
				return err
			}
			c.Start(rec)
			t.Cleanup(func() {
				_ = cc.nc.Close()
				_ = c.Close()
				rec.wait(t)
			})
			// All requests are handled before the client reads a byte:
			// the handler never waits for the peer.
			for i := 0; i < n; i++ {
				require.NoError(t, cc.WriteFrame(transport.TextFrame("q")))
			}
			for i := 0; i < n; i++ {
				select {
				case got := <-handled:
					require.Equal(t, i, got)
				case <-time.After(waitTimeout):
					t.Fatalf("request %d not handled: the reader is blocked", i)
				}
			}
			for i := 0; i < n; i++ {
				got, err := cc.ReadFrame(ctxT(t))
				require.NoError(t, err)
				require.Equal(t, replies[i], got.Data, "reply %d", i)
			}
		})
	}
}
