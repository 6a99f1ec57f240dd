package websocket

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// fragmentFrames encodes a client message of payload split into n frames
// (n >= 1) of near-equal size (empty ones when payload is shorter than n),
// with a ping after every pingEvery-th frame but the last (0: none); RSV1
// marks the first frame when compressed, and the last frame has FIN only
// when final.
func fragmentFrames(op ws.OpCode, payload []byte, n int, compressed, final bool, pingEvery int) []byte {
	var b []byte
	for i := range n {
		part := payload[i*len(payload)/n : (i+1)*len(payload)/n]
		fop, rsv := ws.OpContinuation, byte(0)
		if i == 0 {
			fop = op
			if compressed {
				rsv = rsv1
			}
		}
		b = append(b, frame(final && i == n-1, rsv, fop, part, true)...)
		if pingEvery > 0 && (i+1)%pingEvery == 0 && i < n-1 {
			b = append(b, cframe(ws.OpPing, strconv.Itoa(i))...)
		}
	}
	return b
}

// readPaths are the two ways a server Conn reads: the shared poller (on
// Linux; elsewhere a goroutine too) and a goroutine of its own.
var readPaths = []struct {
	name   string
	noPoll bool
}{
	{"poller", false},
	{"goroutine", true},
}

// TestMaxFragments: a message of exactly MaxFragments frames is delivered
// (text, binary, compressed, with pings between its frames); one frame more
// closes the connection with 1008 at once, although the message never ends.
func TestMaxFragments(t *testing.T) {
	for _, path := range readPaths {
		for _, tc := range []struct {
			name  string
			opt   int
			bound int
		}{
			{"bound=8", 8, 8},
			{"bound=1", 1, 1},
			{"default", 0, DefaultMaxFragments},
		} {
			t.Run(path.name+"/"+tc.name, func(t *testing.T) {
				f := newFixture(t, &Options{MaxFragments: tc.opt, NoPoller: path.noPoll, Compression: true}, transport.Params{})
				cc, _, rec := f.pair(&DialOptions{Compression: true}, false)
				n := tc.bound
				pings := max(1, n/4)
				text := []byte(strings.Repeat("wörld ", n))
				bin := bytes.Repeat([]byte{0, 1, 2}, n)
				z := deflateAppend(nil, text, 1)
				cc.writeRaw(t,
					fragmentFrames(ws.OpText, text, n, false, true, pings),
					fragmentFrames(ws.OpBinary, bin, n, false, true, 0),
					fragmentFrames(ws.OpText, z, n, true, true, pings),
				)
				assert.Equal(t, transport.Frame{Data: text}, rec.next(t))
				assert.Equal(t, transport.Frame{Binary: true, Data: bin}, rec.next(t))
				assert.Equal(t, transport.Frame{Data: text}, rec.next(t))

				// One frame more, and nothing after it.
				cc.writeRaw(t, fragmentFrames(ws.OpBinary, bin, n+1, false, false, pings))
				code, reason := cc.expectClose(t)
				assert.Equal(t, StatusPolicyViolation, code)
				assert.Contains(t, reason, "too many fragments")
				cc.nc.Close()
				err := rec.wait(t)
				assert.ErrorIs(t, err, ErrTooManyFragments)
				assert.ErrorIs(t, err, transport.ErrTooLarge)
				assert.Empty(t, rec.frames)
			})
		}
	}
}

// TestMaxFragmentsNegative: a negative MaxFragments means no bound.
func TestMaxFragmentsNegative(t *testing.T) {
	for _, path := range readPaths {
		t.Run(path.name, func(t *testing.T) {
			f := newFixture(t, &Options{MaxFragments: -1, NoPoller: path.noPoll}, transport.Params{})
			cc, _, rec := f.pair(nil, false)
			n := DefaultMaxFragments + 1
			msg := bytes.Repeat([]byte{7}, n)
			cc.writeRaw(t, fragmentFrames(ws.OpBinary, msg, n, false, true, 0))
			assert.Equal(t, transport.BinaryFrame(msg), rec.next(t))
		})
	}
}

// reassemblyStream is a run of client messages split at random into
// fragments (of 7-, 16- and 64-bit lengths, some empty) with pings
// between them: the bytes to send, the messages the server must deliver
// and the pongs it must answer with.
func reassemblyStream(seed uint64, deflate bool) (stream []byte, want []transport.Frame, pongs []string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	payload := func(n int, text bool) []byte {
		if text {
			return []byte(truncateUTF8(strings.Repeat("héllo wörld ✓ ", n/10+1), n))
		}
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		return p
	}
	for i := range 40 {
		text := i%2 == 0
		size := []int{0, 1, 11, 125, 126, 300, 70_000}[rng.IntN(7)]
		p := payload(size, text)
		op := ws.OpBinary
		if text {
			op = ws.OpText
		}
		want = append(want, transport.Frame{Binary: !text, Data: p})
		wire := p
		compressed := deflate && rng.IntN(2) == 0
		if compressed {
			wire = deflateAppend(nil, p, 1)
		}
		// Cut points at random (text messages are cut inside runes too).
		n := 1 + rng.IntN(min(len(wire), 20)+1)
		cuts := []int{0}
		for range n - 1 {
			cuts = append(cuts, rng.IntN(len(wire)+1))
		}
		cuts = append(cuts, len(wire))
		slices.Sort(cuts)
		for j := range n {
			fop, rsv := ws.OpContinuation, byte(0)
			if j == 0 {
				fop = op
				if compressed {
					rsv = rsv1
				}
			}
			stream = append(stream, frame(j == n-1, rsv, fop, wire[cuts[j]:cuts[j+1]], true)...)
			if j < n-1 && rng.IntN(3) == 0 {
				ping := fmt.Sprintf("p%d.%d", i, j)
				pongs = append(pongs, ping)
				stream = append(stream, cframe(ws.OpPing, ping)...)
			}
		}
	}
	return stream, want, pongs
}

// TestFragmentReassembly: fragmented messages come out whole and in order,
// pings between fragments are answered, on both read paths, with and
// without permessage-deflate.
func TestFragmentReassembly(t *testing.T) {
	for _, path := range readPaths {
		for _, deflate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/deflate=%t", path.name, deflate), func(t *testing.T) {
				f := newFixture(t, &Options{NoPoller: path.noPoll, Compression: deflate}, transport.Params{})
				cc, _, rec := f.pair(&DialOptions{Compression: deflate}, false)
				require.Equal(t, deflate, cc.Compression())
				stream, want, pongs := reassemblyStream(1, deflate)
				// In pieces of random sizes, so reads end anywhere.
				rng := rand.New(rand.NewPCG(2, 2))
				for len(stream) > 0 {
					k := min(len(stream), 1+rng.IntN(3000))
					cc.writeRaw(t, stream[:k])
					stream = stream[k:]
				}
				for i, w := range want {
					got := rec.next(t)
					require.Equal(t, w.Binary, got.Binary, "message %d", i)
					require.Equal(t, w.Data, got.Data, "message %d", i)
				}
				// A pong may answer only the latest of the pings waiting
				// for one (RFC 6455 section 5.5.3): the pongs are the pings,
				// in order, some perhaps left out, ending with the last.
				for next := 0; next < len(pongs); {
					op, got := cc.readRaw(t)
					require.Equal(t, ws.OpPong, op)
					i := slices.Index(pongs[next:], string(got))
					require.GreaterOrEqual(t, i, 0, "pong %q is not one of the pings still unanswered", got)
					next += i + 1
				}
			})
		}
	}
}

// TestPingAfterNearlyFullFragments: a ping between fragments that already
// hold nearly MaxPayload bytes is answered, not taken for part of the
// message (the poller's path once counted it against the size limit, cut
// the unit before its payload and dropped the connection).
func TestPingAfterNearlyFullFragments(t *testing.T) {
	for _, path := range readPaths {
		t.Run(path.name, func(t *testing.T) {
			f := newFixture(t, &Options{NoPoller: path.noPoll}, transport.Params{MaxPayload: 1000})
			cc, _, rec := f.pair(nil, false)
			msg := bytes.Repeat([]byte("m"), 1000)
			ping := strings.Repeat("p", maxControlPayload)
			cc.writeRaw(t,
				frame(false, 0, ws.OpBinary, msg, true),
				cframe(ws.OpPing, ping),
				frame(true, 0, ws.OpContinuation, nil, true),
			)
			op, p := cc.readRaw(t)
			assert.Equal(t, ws.OpPong, op)
			assert.Equal(t, ping, string(p))
			assert.Equal(t, transport.BinaryFrame(msg), rec.next(t))
		})
	}
}

// BenchmarkFragmentedMessageReader reads one message of n one-byte
// fragments with the frame reader alone, as a connection's own goroutine
// does (here from memory: the goroutine's read system calls, 3 per frame,
// are not counted). ns/fragment must not grow with n.
func BenchmarkFragmentedMessageReader(b *testing.B) {
	for _, n := range []int{10, 100, 1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("fragments=%d", n), func(b *testing.B) {
			msg := fragmentFrames(ws.OpBinary, make([]byte, n), n, false, true, 0)
			var src bytes.Reader
			rd := frameReader{src: &src, maxPayload: transport.DefaultMaxPayload, masked: true}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(msg)
				if _, p, err := rd.next(); err != nil || len(p) != n {
					b.Fatalf("got %d bytes, %v", len(p), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fragment")
		})
	}
}

// TestAppendFragmented: AppendFragmented splits a message into frames of
// the size asked for (the server's fragment bound counts them), WriteRaw
// sends them, and the server gets the message whole.
func TestAppendFragmented(t *testing.T) {
	f := newFixture(t, &Options{MaxFragments: 100}, transport.Params{})
	cc, _, rec := f.pair(nil, false)
	text := strings.Repeat("wörld", 50) // 300 bytes, cut inside runes
	bin := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 20_000)
	for _, m := range []struct {
		f    transport.Frame
		size int
	}{
		{transport.TextFrame(""), 1},
		{transport.TextFrame(text), 3},
		{transport.TextFrame(text), 0},
		{transport.BinaryFrame(bin), 1000}, // 100 frames
	} {
		require.NoError(t, cc.WriteRaw(AppendFragmented(nil, m.f, m.size)))
		assert.Equal(t, m.f, rec.next(t))
	}

	require.NoError(t, cc.WriteRaw(AppendFragmented(nil, transport.BinaryFrame(bin), 999))) // 101 frames
	_, err := cc.ReadFrame(ctxT(t))
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, StatusPolicyViolation, ce.Code)
	assert.ErrorIs(t, cc.WriteRaw(cframe(ws.OpText, "late")), transport.ErrClosed)
	cc.nc.Close()
	assert.ErrorIs(t, rec.wait(t), ErrTooManyFragments)
}

// TestReaderUnmaskedFragments: the client's reader (unmasked frames)
// joins short and long fragments too.
func TestReaderUnmaskedFragments(t *testing.T) {
	long := bytes.Repeat([]byte("L"), 300)
	var b []byte
	b = append(b, frame(false, 0, ws.OpBinary, []byte("ab"), false)...)
	b = append(b, frame(false, 0, ws.OpContinuation, nil, false)...)
	b = append(b, frame(false, 0, ws.OpContinuation, long, false)...)
	b = append(b, frame(true, 0, ws.OpContinuation, []byte("cd"), false)...)
	rd := frameReader{src: bytes.NewReader(b), maxPayload: 1000, maxFrags: 4}
	op, p, err := rd.next()
	require.NoError(t, err)
	assert.Equal(t, ws.OpBinary, op)
	assert.Equal(t, "ab"+string(long)+"cd", string(p))
}
