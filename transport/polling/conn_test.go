package polling

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

const textPlain = "text/plain; charset=UTF-8"

func TestTransportName(t *testing.T) {
	tr := New(nil)
	assert.Equal(t, transport.NamePolling, tr.Name())
	c, err := tr.Accept(nil, &http.Request{RemoteAddr: "1.2.3.4:5"}, transport.Params{})
	require.NoError(t, err)
	assert.Equal(t, transport.NamePolling, c.Name())
	assert.Equal(t, "1.2.3.4:5", c.(*Conn).RemoteAddr())
	require.NoError(t, c.Close())
}

func TestHandshakeAnswersAtOnce(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	res := h.get("a")
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, textPlain, res.contentType)
	assert.Equal(t, `0{"sid":"a"}`, res.body)
}

func TestHeldGetReleasedBySend(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	c, _ := h.handshake("a")
	pending := h.goGet("a")
	require.NoError(t, c.Send(transport.TextFrame("4hello")))
	res := recv(t, pending, "GET answer")
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, textPlain, res.contentType)
	assert.Equal(t, "4hello", res.body)
}

func TestGetBatches(t *testing.T) {
	shared := transport.BinaryFrame([]byte{0, 1, 2, 0xfe, 0xff})
	tests := []struct {
		name       string
		maxPayload int64
		send       [][]transport.Frame // one Send call each
		want       []string            // successive GET bodies
	}{
		{"one", 0, [][]transport.Frame{{transport.TextFrame("4a")}}, []string{"4a"}},
		{"several in one Send", 0,
			[][]transport.Frame{{transport.TextFrame("4hello"), transport.TextFrame("2"), transport.TextFrame("4world")}},
			[]string{"4hello\x1e2\x1e4world"}},
		{"several Sends", 0,
			[][]transport.Frame{{transport.TextFrame("4a")}, {transport.TextFrame("4b")}, {transport.TextFrame("4c")}},
			[]string{"4a\x1e4b\x1e4c"}},
		{"binary", 0, [][]transport.Frame{{shared}}, []string{"bAAEC/v8="}},
		{"mixed", 0,
			[][]transport.Frame{{transport.TextFrame(`451-["x",{"_placeholder":true,"num":0}]`), shared}},
			[]string{`451-["x",{"_placeholder":true,"num":0}]` + "\x1ebAAEC/v8="}},
		{"split at maxPayload", 10,
			[][]transport.Frame{{transport.TextFrame("4aaaa"), transport.TextFrame("4bbbb"), transport.TextFrame("4ccc"), transport.TextFrame("4dddddddddddddd")}},
			[]string{"4aaaa", "4bbbb\x1e4ccc", "4dddddddddddddd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, transport.Params{MaxPayload: tt.maxPayload})
			c, _ := h.handshake("a")
			before := bytes.Clone(shared.Data)
			for _, frames := range tt.send {
				require.NoError(t, c.Send(frames...))
			}
			for _, want := range tt.want {
				res := h.get("a")
				require.NoError(t, res.err)
				assert.Equal(t, http.StatusOK, res.status)
				assert.Equal(t, want, res.body)
			}
			assert.Equal(t, before, shared.Data, "shared frame modified")
			// Everything was taken: the next GET is held.
			pending := h.goGet("a")
			require.NoError(t, c.Close())
			assert.Equal(t, "6", recv(t, pending, "GET answer").body)
		})
	}
}

func TestBinaryRoundTripOverHTTP(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	c, rec := h.handshake("a")
	data := make([]byte, 256)
	for i := range data {
		data[i] = byte(i)
	}
	require.NoError(t, c.Send(transport.BinaryFrame(data), transport.TextFrame("4t")))
	res := h.get("a")
	require.NoError(t, res.err)
	got, err := DecodePayload([]byte(res.body))
	require.NoError(t, err)
	assertFramesEqual(t, []transport.Frame{transport.BinaryFrame(data), transport.TextFrame("4t")}, got)

	// And back: the client encodes with AppendPayload.
	res = h.post("a", string(AppendPayload(nil, got)))
	require.NoError(t, res.err)
	require.Equal(t, http.StatusOK, res.status)
	f := recv(t, rec.frames, "binary frame")
	assert.True(t, f.Binary)
	assert.Equal(t, data, f.Data)
	f = recv(t, rec.frames, "text frame")
	assert.Equal(t, transport.TextFrame("4t"), f)
}

func TestPostDeliversInOrder(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	_, rec := h.handshake("a")
	res := h.post("a", "4hello\x1ebAQID\x1e3\x1e4world")
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "text/html", res.contentType)
	assert.Equal(t, "ok", res.body)
	want := []transport.Frame{transport.TextFrame("4hello"), transport.BinaryFrame([]byte{1, 2, 3}), transport.TextFrame("3"), transport.TextFrame("4world")}
	for i, w := range want {
		f := recv(t, rec.frames, fmt.Sprintf("frame %d", i))
		assert.Equal(t, w, f)
	}
	// Several POSTs one after the other are fine.
	for i := range 3 {
		res := h.post("a", "4n"+strconv.Itoa(i))
		require.NoError(t, res.err)
		assert.Equal(t, "ok", res.body)
		assert.Equal(t, "4n"+strconv.Itoa(i), string(recv(t, rec.frames, "frame").Data))
	}
}

func TestSecondGetClosesSession(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	c, rec := h.handshake("a")
	pending := h.goGet("a")
	res := h.get("a")
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.NotEmpty(t, res.body)
	assert.Equal(t, "1", recv(t, pending, "pending GET").body)

	err := rec.waitClose(t)
	assert.ErrorIs(t, err, transport.ErrBadRequest)
	assert.ErrorIs(t, err, ErrOverlap)
	assert.ErrorIs(t, c.Send(transport.TextFrame("4late")), transport.ErrClosed)
	assert.Equal(t, http.StatusBadRequest, h.get("a").status)
	assert.Equal(t, http.StatusBadRequest, h.post("a", "4x").status)
	rec.noFrames(t)
}

func TestSecondPostClosesSession(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server closes, even when the test fails
	h.onFrame = func(_ *Conn, f transport.Frame) error {
		if string(f.Data) == "4block" {
			entered <- struct{}{}
			<-release
		}
		return nil
	}
	_, rec := h.handshake("a")
	pending := h.goGet("a")
	first := make(chan response, 1)
	go func() { first <- h.post("a", "4block\x1e4after") }()
	recv(t, entered, "first POST in HandleFrame")

	res := h.post("a", "4second")
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.Equal(t, "1", recv(t, pending, "pending GET").body)
	select {
	case err := <-rec.closed:
		t.Fatalf("HandleClose(%v) while HandleFrame runs", err)
	default:
	}

	unblock()
	assert.Equal(t, http.StatusBadRequest, recv(t, first, "first POST").status)
	err := rec.waitClose(t)
	assert.ErrorIs(t, err, ErrOverlap)
	assert.ErrorIs(t, err, transport.ErrBadRequest)
	assert.Equal(t, "4block", string(recv(t, rec.frames, "frame").Data))
	rec.noFrames(t) // neither "4after" nor "4second"
}

func TestPostTooLarge(t *testing.T) {
	tests := []struct {
		name    string
		chunked bool
	}{{"content-length", false}, {"chunked", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, transport.Params{MaxPayload: 10})
			_, rec := h.handshake("a")
			pending := h.goGet("a")
			var body io.Reader = strings.NewReader("4abcdefghij") // 11 bytes
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			res := h.do(context.Background(), http.MethodPost, "a", body)
			require.NoError(t, res.err)
			assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
			assert.Equal(t, "1", recv(t, pending, "pending GET").body)
			assert.ErrorIs(t, rec.waitClose(t), transport.ErrTooLarge)
			rec.noFrames(t)
		})
	}
	t.Run("exactly max", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{MaxPayload: 10})
		_, rec := h.handshake("a")
		for _, body := range []io.Reader{strings.NewReader("4abcdefghi"), io.MultiReader(strings.NewReader("4abcdefghi"))} {
			res := h.do(context.Background(), http.MethodPost, "a", body)
			require.NoError(t, res.err)
			assert.Equal(t, "ok", res.body)
			assert.Equal(t, "4abcdefghi", string(recv(t, rec.frames, "frame").Data))
		}
	})
}

func TestPostBadPayload(t *testing.T) {
	for _, body := range []string{"", "\x1e", "4a\x1e", "4a\x1e\x1e4b", "b!!!!", "4a\x1ebA"} {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			h := newHarness(t, nil, transport.Params{})
			_, rec := h.handshake("a")
			pending := h.goGet("a")
			res := h.post("a", body)
			require.NoError(t, res.err)
			assert.Equal(t, http.StatusBadRequest, res.status)
			assert.Equal(t, "1", recv(t, pending, "pending GET").body)
			err := rec.waitClose(t)
			assert.ErrorIs(t, err, transport.ErrBadRequest)
			var pe *PayloadError
			assert.ErrorAs(t, err, &pe)
			rec.noFrames(t) // nothing of a bad payload is delivered
		})
	}
}

func TestHandleFrameError(t *testing.T) {
	errJunk := errors.New("engineio: unknown packet type")
	errBig := fmt.Errorf("engineio: huge: %w", transport.ErrTooLarge)
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"protocol error", errJunk, http.StatusBadRequest},
		{"too large", errBig, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, transport.Params{})
			h.onFrame = func(_ *Conn, f transport.Frame) error {
				if string(f.Data) == "abc" {
					return tt.err
				}
				return nil
			}
			_, rec := h.handshake("a")
			pending := h.goGet("a")
			res := h.post("a", "4ok\x1eabc\x1e4never")
			require.NoError(t, res.err)
			assert.Equal(t, tt.status, res.status)
			assert.Equal(t, "1", recv(t, pending, "pending GET").body)
			assert.Equal(t, tt.err, rec.waitClose(t), "HandleClose gets the Handler's error")
			assert.Equal(t, "4ok", string(recv(t, rec.frames, "frame").Data))
			rec.noFrames(t)
		})
	}
}

func TestClose(t *testing.T) {
	t.Run("pending GET gets noop", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		c, rec := h.handshake("a")
		pending := h.goGet("a")
		require.NoError(t, c.Close())
		require.NoError(t, c.Close())
		res := recv(t, pending, "pending GET")
		assert.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "6", res.body)
		assert.NoError(t, rec.waitClose(t))
		assert.Equal(t, http.StatusBadRequest, h.get("a").status)
		assert.Equal(t, http.StatusBadRequest, h.post("a", "4x").status)
		assert.ErrorIs(t, c.Send(transport.TextFrame("4x")), transport.ErrClosed)
	})
	t.Run("Send then Close releases the frames", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		c, rec := h.handshake("a")
		pending := h.goGet("a")
		require.NoError(t, c.Send(transport.TextFrame("41"), transport.TextFrame("1")))
		require.NoError(t, c.Close())
		assert.Equal(t, "41\x1e1", recv(t, pending, "pending GET").body)
		assert.NoError(t, rec.waitClose(t))
	})
	t.Run("without GET the next GET collects the frames", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		c, rec := h.handshake("a")
		require.NoError(t, c.Send(transport.TextFrame("4last"), transport.TextFrame("1")))
		require.NoError(t, c.Close())
		assert.ErrorIs(t, c.Send(transport.TextFrame("4x")), transport.ErrClosed)
		assert.Equal(t, http.StatusBadRequest, h.post("a", "4x").status, "only a GET is served")
		res := h.get("a")
		assert.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "4last\x1e1", res.body)
		assert.NoError(t, rec.waitClose(t))
		rec.noFrames(t)
		assert.Equal(t, http.StatusBadRequest, h.get("a").status)
	})
	for _, tt := range []struct {
		name    string
		timeout time.Duration
	}{
		{"without GET the frames are dropped after CloseTimeout", time.Millisecond},
		{"without GET a negative CloseTimeout drops the frames", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &Options{CloseTimeout: tt.timeout}, transport.Params{})
			c, rec := h.handshake("a")
			require.NoError(t, c.Send(transport.TextFrame("4dropped")))
			require.NoError(t, c.Close())
			assert.NoError(t, rec.waitClose(t))
			assert.Equal(t, http.StatusBadRequest, h.get("a").status)
		})
	}
	t.Run("without anything queued nothing waits", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		c, rec := h.handshake("a")
		require.NoError(t, c.Close())
		assert.NoError(t, rec.waitClose(t))
		assert.Equal(t, http.StatusBadRequest, h.get("a").status)
	})
	t.Run("client close packet via POST", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		h.onFrame = func(c *Conn, f transport.Frame) error {
			if string(f.Data) == "1" {
				return c.Close() // from inside HandleFrame
			}
			return nil
		}
		_, rec := h.handshake("a")
		pending := h.goGet("a")
		res := h.post("a", "4x\x1e1\x1e4after")
		assert.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "ok", res.body)
		assert.Equal(t, "6", recv(t, pending, "pending GET").body)
		assert.NoError(t, rec.waitClose(t))
		assert.Equal(t, "4x", string(recv(t, rec.frames, "frame").Data))
		assert.Equal(t, "1", string(recv(t, rec.frames, "frame").Data))
		rec.noFrames(t)
		assert.Equal(t, http.StatusBadRequest, h.get("a").status)
	})
}

func TestDrain(t *testing.T) {
	t.Run("queued frames", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		c, rec := h.handshake("a")
		require.NoError(t, c.Send(transport.TextFrame("4a"), transport.TextFrame("4b")))
		require.NoError(t, c.Send(transport.TextFrame("4c")))
		var d transport.Drainer = c
		got := d.Drain()
		assertFramesEqual(t, []transport.Frame{transport.TextFrame("4a"), transport.TextFrame("4b"), transport.TextFrame("4c")}, got)
		assert.NoError(t, rec.waitClose(t))
		assert.Nil(t, c.Drain())
		assert.Equal(t, http.StatusBadRequest, h.get("a").status)
	})
	t.Run("pending GET gets noop", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		c, rec := h.handshake("a")
		pending := h.goGet("a")
		assert.Empty(t, c.Drain())
		assert.Equal(t, "6", recv(t, pending, "pending GET").body)
		assert.NoError(t, rec.waitClose(t))
	})
}

func TestClientAbortsHeldGet(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	c, rec := h.handshake("a")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan response, 1)
	go func() { done <- h.do(ctx, http.MethodGet, "a", nil) }()
	recv(t, h.parked, "GET to be held")
	cancel()
	assert.ErrorIs(t, recv(t, done, "client GET").err, context.Canceled)
	err := rec.waitClose(t)
	assert.ErrorIs(t, err, ErrAborted)
	assert.ErrorIs(t, c.Send(transport.TextFrame("4x")), transport.ErrClosed)
	assert.Equal(t, http.StatusBadRequest, h.get("a").status)
}

func TestMethodNotAllowed(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	c, _ := h.handshake("a")
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodHead} {
		res := h.do(context.Background(), m, "a", nil)
		require.NoError(t, res.err)
		assert.Equal(t, http.StatusBadRequest, res.status, m)
	}
	require.NoError(t, c.Send(transport.TextFrame("4still open")))
	assert.Equal(t, "4still open", h.get("a").body)
}

func TestPostBeforeStart(t *testing.T) {
	t.Run("waits for Start", func(t *testing.T) {
		h := newHarness(t, nil, transport.Params{})
		h.accept = func(sid string, c *Conn) *recorder {
			require.NoError(t, c.Send(transport.TextFrame("0{}")))
			return nil // started below
		}
		res := h.get("a")
		require.Equal(t, "0{}", res.body)
		c, _ := h.conn("a")
		posted := make(chan response, 1)
		go func() { posted <- h.post("a", "4early") }()
		recv(t, h.waiting, "POST to wait for Start")
		rec := newRecorder(t)
		c.Start(rec)
		assert.Equal(t, "ok", recv(t, posted, "POST").body)
		assert.Equal(t, "4early", string(recv(t, rec.frames, "frame").Data))
		require.NoError(t, c.Close())
		assert.NoError(t, rec.waitClose(t))
	})
	t.Run("refused after StartTimeout", func(t *testing.T) {
		h := newHarness(t, &Options{StartTimeout: time.Millisecond}, transport.Params{})
		h.accept = func(sid string, c *Conn) *recorder {
			require.NoError(t, c.Send(transport.TextFrame("0{}")))
			return nil
		}
		require.Equal(t, "0{}", h.get("a").body)
		c, _ := h.conn("a")
		res := h.post("a", "4early")
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.ErrorIs(t, c.Send(transport.TextFrame("4x")), transport.ErrClosed)
		rec := newRecorder(t)
		c.Start(rec) // already closed: told at once
		assert.ErrorIs(t, rec.waitClose(t), ErrNotStarted)
		rec.noFrames(t)
	})
}

// Many goroutines Send while a client polls: every frame arrives once, and
// each sender's frames in order.
func TestConcurrentSenders(t *testing.T) {
	const senders, perSender = 8, 200
	h := newHarness(t, nil, transport.Params{})
	c, _ := h.handshake("a")

	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range perSender {
				if err := c.Send(transport.TextFrame(fmt.Sprintf("4%d:%d", s, i))); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	next := make([]int, senders)
	for got := 0; got < senders*perSender; {
		res := h.get("a")
		require.NoError(t, res.err)
		require.Equal(t, http.StatusOK, res.status, res.body)
		frames, err := DecodePayload([]byte(res.body))
		require.NoError(t, err)
		for _, f := range frames {
			var s, i int
			_, err := fmt.Sscanf(string(f.Data), "4%d:%d", &s, &i)
			require.NoError(t, err, "%q", f.Data)
			require.Equal(t, next[s], i, "sender %d out of order", s)
			next[s]++
			got++
		}
	}
	wg.Wait()
}

// A held GET and a POST proceed independently: the POST's Handler answers
// through the held GET (an echo server).
func TestEchoWhileGetHeld(t *testing.T) {
	h := newHarness(t, nil, transport.Params{})
	h.onFrame = func(c *Conn, f transport.Frame) error { return c.Send(f) }
	h.handshake("a")
	pending := h.goGet("a")
	res := h.post("a", "4hello\x1ebAQI=")
	require.NoError(t, res.err)
	assert.Equal(t, "ok", res.body)
	var got []transport.Frame
	for body := recv(t, pending, "held GET").body; ; body = h.get("a").body {
		frames, err := DecodePayload([]byte(body))
		require.NoError(t, err, "%q", body)
		got = append(got, frames...)
		if len(got) >= 2 {
			break
		}
	}
	assertFramesEqual(t, []transport.Frame{transport.TextFrame("4hello"), transport.BinaryFrame([]byte{1, 2})}, got)
}
