package polling

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flowtest"
)

// startedConn is a started Conn served without an HTTP server: the test
// passes requests to ServeHTTP itself, so that a GET has been answered (and
// its frames released) when ServeHTTP returns.

// serveGet passes a GET to c and returns the response.
func serveGet(c *Conn) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	return w
}

func (c *Conn) queuedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.budget.Used()
}

// frameOf returns a text frame of n bytes.
func frameOf(n int) transport.Frame {
	return transport.TextFrame("4" + strings.Repeat("x", n-1))
}

// The queue is bounded in bytes, FrameOverhead per frame included: Send
// is refused once it is at its bound (the Conn closes), a frame larger than
// the bound still goes into an empty queue, and a flood of tiny frames
// overflows too.
func TestQueueBound(t *testing.T) {
	const bound = 3 * (2 + transport.FrameOverhead) // three frames of 2 bytes
	for _, tt := range []struct {
		name  string
		sends [][]transport.Frame // accepted, one Send each
		// then Send(frameOf(2)) overflows, unless nil
	}{
		{name: "frames up to the bound", sends: [][]transport.Frame{{frameOf(2), frameOf(2)}, {frameOf(2)}}},
		{name: "one Send over the bound into an empty queue", sends: [][]transport.Frame{{frameOf(2), frameOf(2), frameOf(2), frameOf(2)}}},
		{name: "a frame larger than the bound", sends: [][]transport.Frame{{frameOf(10 * bound)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := startedConn(t, transport.Params{MaxQueueBytes: bound})
			for _, frames := range tt.sends {
				require.NoError(t, c.Send(frames...))
			}
			err := c.Send(frameOf(2))
			require.ErrorIs(t, err, transport.ErrQueueFull)
			assert.True(t, strings.HasPrefix(err.Error(), "polling: "), err.Error())
			assert.ErrorIs(t, rec.waitClose(t), transport.ErrQueueFull)
			assert.ErrorIs(t, c.Send(frameOf(2)), transport.ErrClosed)
			assert.Equal(t, http.StatusBadRequest, serveGet(c).Code)
		})
	}
	t.Run("flood of empty frames", func(t *testing.T) {
		c, rec := startedConn(t, transport.Params{MaxQueueBytes: bound})
		var err error
		sends := 0
		for ; sends < 1000 && err == nil; sends++ {
			err = c.Send(transport.TextFrame(""))
		}
		require.ErrorIs(t, err, transport.ErrQueueFull)
		accepted := sends - 1
		assert.Equal(t, (bound+transport.FrameOverhead-1)/transport.FrameOverhead, accepted, "empty frames accepted")
		assert.ErrorIs(t, rec.waitClose(t), transport.ErrQueueFull)
	})
}

// Each GET takes the oldest frames fitting in MaxPayload bytes; they count
// against the bound until the response is written, and then wake the
// producers waiting on Writable.
func TestWritableAsGetsTakeFrames(t *testing.T) {
	const size = 300                                     // bytes per frame
	bound := int64(3 * (size + transport.FrameOverhead)) // three frames
	c, _ := startedConn(t, transport.Params{MaxPayload: 1000, MaxQueueBytes: bound})
	require.Nil(t, c.Writable(), "empty queue")
	frames := []transport.Frame{frameOf(size), frameOf(size), frameOf(size), frameOf(size)}
	require.NoError(t, c.Send(frames...))
	ch := c.Writable()
	require.NotNil(t, ch, "four frames, over the bound")
	assert.True(t, ch == c.Writable(), "waiters share one channel")

	// The response carries three frames (three fit in MaxPayload, four
	// do not); its writer blocks until released.
	w := newBlockingWriter()
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	recv(t, w.writing, "GET response write")
	assert.Equal(t, 4*(size+transport.FrameOverhead), int(c.queuedBytes()), "frames count until written")
	assert.False(t, flowtest.Closed(ch), "woken before the response is written")
	close(w.release)
	recv(t, answered, "GET answered")
	got, err := DecodePayload([]byte(w.body.String()))
	require.NoError(t, err)
	assertFramesEqual(t, frames[:3], got)

	assert.True(t, flowtest.Closed(ch), "not woken once the response was written")
	assert.Equal(t, int64(size+transport.FrameOverhead), c.queuedBytes())
	assert.Nil(t, c.Writable())
	got, err = DecodePayload(serveGet(c).Body.Bytes())
	require.NoError(t, err)
	assertFramesEqual(t, frames[3:], got)
	assert.Zero(t, c.queuedBytes())
}

// blockingWriter is a ResponseWriter whose Write waits for release.
type blockingWriter struct {
	*httptest.ResponseRecorder
	writing chan struct{} // receives when Write starts
	release chan struct{} // closed to let Write finish
	body    *strings.Builder
}

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{ResponseRecorder: httptest.NewRecorder(), writing: make(chan struct{}, 1), release: make(chan struct{}), body: new(strings.Builder)}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.writing <- struct{}{}
	<-w.release
	return w.body.Write(p)
}

// Whatever closes the Conn wakes the producers waiting on Writable, Drain
// (the upgrade to WebSocket) included; Writable then returns nil.
func TestWritableWokenOnClose(t *testing.T) {
	for _, tt := range []struct {
		name  string
		close func(t *testing.T, c *Conn, queued []transport.Frame)
	}{
		{"Close", func(t *testing.T, c *Conn, _ []transport.Frame) { require.NoError(t, c.Close()) }},
		{"Drain", func(t *testing.T, c *Conn, queued []transport.Frame) { assertFramesEqual(t, queued, c.Drain()) }},
		{"Send at the bound", func(t *testing.T, c *Conn, _ []transport.Frame) {
			require.ErrorIs(t, c.Send(frameOf(2)), transport.ErrQueueFull)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := startedConn(t, transport.Params{MaxQueueBytes: 100})
			queued := []transport.Frame{frameOf(50), frameOf(50)}
			require.NoError(t, c.Send(queued...))
			ch := c.Writable()
			require.NotNil(t, ch)
			tt.close(t, c, queued)
			assert.True(t, flowtest.Closed(ch), "waiters not woken")
			assert.Nil(t, c.Writable())
			assert.ErrorIs(t, c.Send(frameOf(2)), transport.ErrClosed)
		})
	}
}

// TrySend queues frames only while a GET is held, waiting for data: they
// answer it at once. Otherwise it queues nothing and the session goes on.
func TestTrySendOnlyToAHeldGet(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	c, rec := h.handshake("a")
	assert.False(t, c.TrySend(transport.TextFrame("4dropped")), "no GET held")

	pending := h.goGet("a")
	assert.True(t, c.TrySend(transport.TextFrame("4v1")), "GET held")
	assert.False(t, c.TrySend(transport.TextFrame("4v2")), "the held GET already has its answer")
	assert.Equal(t, "4v1", recv(t, pending, "held GET").body)

	require.NoError(t, c.Send(transport.TextFrame("4sent")))
	assert.Equal(t, "4sent", h.get("a").body, "refused frames were not queued")

	require.NoError(t, c.Close())
	assert.NoError(t, rec.waitClose(t))
	assert.False(t, c.TrySend(transport.TextFrame("4late")), "closed")
}
