//go:build linux

package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// countHandler counts the messages it gets and their bytes.
type countHandler struct {
	msgs  int
	bytes int
	last  transport.Frame
}

func (h *countHandler) HandleFrame(f transport.Frame) error {
	h.msgs++
	h.bytes += len(f.Data)
	h.last = f
	return nil
}

func (h *countHandler) HandleClose(error) {}

// polledConn returns a server Conn read the way the poller reads it
// (processUnits over a pollState) but without a socket of its own: feed
// hands it bytes. What it writes (pongs, its close frame) is discarded.
func polledConn(tb testing.TB, opts *Options, p transport.Params, deflate bool, h transport.Handler) (*Conn, *pollState) {
	srv, cli := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, cli)
	}()
	tb.Cleanup(func() {
		_ = srv.Close()
		_ = cli.Close()
		<-done
	})
	o := Options{CloseTimeout: -1}
	if opts != nil {
		o = *opts
	}
	c := newConn(New(&o), srv, srv, p.WithDefaults(), deflate)
	c.h = h
	return c, new(pollState)
}

// feed hands b to c as if it arrived in reads of at most chunk bytes.
func feed(c *Conn, ps *pollState, b []byte, chunk int) bool {
	for len(b) > 0 {
		if ps.in == nil {
			buf := make([]byte, 0, pollBufSize)
			ps.in = &buf
		}
		n := min(chunk, len(b))
		*ps.in = append(*ps.in, b[:n]...)
		b = b[n:]
		if !c.processUnits(ps) {
			return false
		}
	}
	return true
}

// BenchmarkFragmentedMessage reads one message of n one-byte fragments
// through the poller's path, arriving 4 KiB at a time: ns/fragment must not
// grow with n.
func BenchmarkFragmentedMessage(b *testing.B) {
	for _, n := range []int{10, 100, 1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("fragments=%d", n), func(b *testing.B) {
			h := new(countHandler)
			c, ps := polledConn(b, &Options{MaxFragments: -1, CloseTimeout: -1}, transport.Params{}, false, h)
			msg := fragmentFrames(ws.OpBinary, make([]byte, n), n, false, true, 0)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if !feed(c, ps, msg, pollBufSize) {
					b.Fatal("connection ended")
				}
			}
			if h.msgs != b.N || h.bytes != b.N*n {
				b.Fatalf("got %d messages, %d bytes", h.msgs, h.bytes)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fragment")
		})
	}
}

// BenchmarkReceive reads small unfragmented messages through the poller's
// path, as many as fit in one 4 KiB read: the common case.
func BenchmarkReceive(b *testing.B) {
	for _, size := range []int{16, 120, 1000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			h := new(countHandler)
			c, ps := polledConn(b, nil, transport.Params{}, false, h)
			one := cframe(ws.OpText, string(bytes.Repeat([]byte("x"), size)))
			k := max(1, pollBufSize/len(one))
			read := bytes.Repeat(one, k)
			b.SetBytes(int64(len(read)))
			b.ReportAllocs()
			for b.Loop() {
				if !feed(c, ps, read, len(read)) {
					b.Fatal("connection ended")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/msg")
		})
	}
}

// frameLog is a transport.Handler recording every frame and how the
// connection ended.
type frameLog struct {
	frames []transport.Frame
	ended  bool
	err    error
}

func (l *frameLog) HandleFrame(f transport.Frame) error {
	l.frames = append(l.frames, f)
	return nil
}

func (l *frameLog) HandleClose(err error) { l.ended, l.err = true, err }

// TestPolledReadsSplitAnywhere: whatever the sizes of the reads a stream
// arrives in, the poller's path delivers the same messages (its units are
// walked across reads, resuming where the last read ended).
func TestPolledReadsSplitAnywhere(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		stream, want, _ := reassemblyStream(3, deflate)
		for _, chunk := range []int{1, 2, 3, 5, 7, 13, 64, 4096, len(stream)} {
			t.Run(fmt.Sprintf("deflate=%t/read=%d", deflate, chunk), func(t *testing.T) {
				l := new(frameLog)
				c, ps := polledConn(t, nil, transport.Params{}, deflate, l)
				require.True(t, feed(c, ps, stream, chunk), "ended: %v", l.err)
				require.Len(t, l.frames, len(want))
				for i, w := range want {
					require.Equal(t, w.Binary, l.frames[i].Binary, "message %d", i)
					require.Equal(t, w.Data, l.frames[i].Data, "message %d", i)
				}
				assert.Zero(t, ps.scan, "scan state left after the last unit")
			})
		}
	}
}

// TestPolledFragmentBoundAcrossReads: the fragment bound holds across
// reads and across units (a ping between fragments ends a unit), and the
// refusal comes with the header of the frame past the bound.
func TestPolledFragmentBoundAcrossReads(t *testing.T) {
	const bound = 6
	for _, chunk := range []int{1, 3, 7, 4096} {
		t.Run(fmt.Sprintf("read=%d", chunk), func(t *testing.T) {
			l := new(frameLog)
			c, ps := polledConn(t, &Options{MaxFragments: bound, CloseTimeout: -1}, transport.Params{}, false, l)
			ok := fragmentFrames(ws.OpBinary, []byte("abcdef"), bound, false, true, 1)
			require.True(t, feed(c, ps, ok, chunk))
			require.Len(t, l.frames, 1)
			assert.Equal(t, "abcdef", string(l.frames[0].Data))

			over := fragmentFrames(ws.OpBinary, []byte("abcdefg"), bound+1, false, false, 2)
			// The last frame's 2 first bytes are all it takes.
			over = over[:len(over)-len(frame(false, 0, ws.OpContinuation, []byte("g"), true))+2]
			assert.False(t, feed(c, ps, over, chunk), "connection still open")
			require.True(t, l.ended)
			assert.ErrorIs(t, l.err, ErrTooManyFragments)
			assert.Len(t, l.frames, 1)
		})
	}
}

// TestPolledHugeLengthAtBufferEnd: a frame header declaring a length over
// 2^62, at the very end of a full read buffer and without its mask key yet,
// waits for the key and then closes the connection with 1009 (it once
// sliced past the buffer and panicked).
func TestPolledHugeLengthAtBufferEnd(t *testing.T) {
	hdr := []byte{0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, prefix := range [][]byte{nil, cframe(ws.OpText, "4hello")} {
		l := new(frameLog)
		c, ps := polledConn(t, nil, transport.Params{}, false, l)
		b := append(bytes.Clone(prefix), hdr...)
		b = b[:len(b):len(b)] // full: the read that filled it had no room left
		ps.in = &b
		require.True(t, c.processUnits(ps), "ended: %v", l.err)
		assert.Len(t, l.frames, min(len(prefix), 1))
		require.False(t, feed(c, ps, []byte{1, 2, 3, 4}, 4), "mask key: connection still open")
		assert.ErrorIs(t, l.err, transport.ErrTooLarge)
	}
}

// FuzzPolledRead compares the poller's path, fed data in reads of chunk
// bytes, with the frame reader reading data in one go: the same messages
// must come out, and the connection must end exactly when the reader
// fails on something other than the end of the data.
func FuzzPolledRead(f *testing.F) {
	z := deflateAppend(nil, []byte("hello hello hello hello"), 1)
	seeds := [][]byte{
		cframe(ws.OpText, "4hello"),
		append(frame(false, 0, ws.OpText, []byte("He"), true), append(cframe(ws.OpPing, "x"), frame(true, 0, ws.OpContinuation, []byte("llo"), true)...)...),
		fragmentFrames(ws.OpBinary, []byte("abcdefgh"), 8, false, true, 3),
		fragmentFrames(ws.OpBinary, []byte("abcdefghi"), 9, false, true, 4),
		fragmentFrames(ws.OpText, z, 5, true, true, 2),
		frame(true, 0, ws.OpBinary, make([]byte, 300), true),
		frame(true, 0, ws.OpClose, closeBody(1000, "bye"), true),
		{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x89, 0xfe, 0, 5, 1, 2, 3, 4, 1, 2, 3, 4, 5},
	}
	for _, s := range seeds {
		for _, chunk := range []uint16{1, 3, 4096} {
			f.Add(s, chunk, false)
			f.Add(s, chunk, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, deflate bool) {
		const maxPayload, maxFrags = 1 << 10, 8
		p := transport.Params{MaxPayload: maxPayload}
		opts := &Options{MaxFragments: maxFrags, CloseTimeout: -1}

		// The reference: the frame reader over all of data.
		rd := frameReader{src: bytes.NewReader(data), maxPayload: maxPayload, maxFrags: maxFrags, masked: true, deflate: deflate}
		var want []transport.Frame
		var refErr error
		for {
			op, msg, err := rd.next()
			if err != nil {
				refErr = err
				break
			}
			if op == ws.OpClose {
				if _, err := parseClose(msg); err != nil {
					refErr = err
				} else {
					refErr = errors.New("close frame")
				}
				break
			}
			if op.IsData() {
				want = append(want, frameOf(op, msg))
			}
		}
		ends := !errors.Is(refErr, io.EOF) && !errors.Is(refErr, io.ErrUnexpectedEOF)

		l := new(frameLog)
		c, ps := polledConn(t, opts, p, deflate, l)
		open := feed(c, ps, data, max(1, int(chunk)))
		if !open && !ends {
			t.Fatalf("poller path ended (%v), reader: %v", l.err, refErr)
		}
		if open && ends {
			// A frame the reader refuses on its header bits is refused on
			// the poller's path once its payload has arrived too (sizes
			// and the fragment bound are checked at once): complete it
			// (0x80 bytes make empty final masked frames).
			open = feed(c, ps, bytes.Repeat([]byte{0x80}, 2*maxPayload), max(1, int(chunk)))
			if open {
				t.Fatalf("poller path still open, reader: %v", refErr)
			}
		}
		if l.ended == open {
			t.Fatalf("poller path open=%t but HandleClose called=%t", open, l.ended)
		}
		if len(l.frames) != len(want) {
			t.Fatalf("poller path delivered %d messages, reader %d", len(l.frames), len(want))
		}
		for i := range want {
			if want[i].Binary != l.frames[i].Binary || !bytes.Equal(want[i].Data, l.frames[i].Data) {
				t.Fatalf("message %d differs", i)
			}
		}
	})
}
