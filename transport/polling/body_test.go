package polling

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// stallingBody is a POST body that gives data, then blocks until released,
// as a client does that announced more than it sends.
type stallingBody struct {
	data    []byte
	stalled chan struct{} // closed when data is exhausted
	release chan struct{} // closed by the test: Read then fails
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	select {
	case <-b.stalled:
	default:
		close(b.stalled)
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// startedConn returns a Conn whose handshake is done, with a recorder.
func startedConn(t testing.TB, p transport.Params) (*Conn, *recorder) {
	t.Helper()
	tc, err := New(nil).Accept(nil, httptest.NewRequest(http.MethodGet, "/", nil), p)
	require.NoError(t, err)
	c := tc.(*Conn)
	rec := newRecorder(t)
	c.Start(rec)
	t.Cleanup(func() {
		_ = c.Close()
		recv(t, rec.done, "HandleClose")
	})
	return c, rec
}

// TestStalledPostAllocatesWhatArrives: a POST that announces MaxPayload
// bytes and sends 100 holds memory for what it sent, not for what it
// announced (before, the whole Content-Length was allocated up front, so
// 300 such requests held 300 MB).
func TestStalledPostAllocatesWhatArrives(t *testing.T) {
	const announced = transport.DefaultMaxPayload
	const bound = 64 << 10 // what the read may allocate, besides what net/http does
	c, rec := startedConn(t, transport.Params{MaxPayload: announced})

	body := &stallingBody{data: []byte("4" + strings.Repeat("x", 99)), stalled: make(chan struct{}), release: make(chan struct{})}
	req := httptest.NewRequest(http.MethodPost, "/", body)
	req.ContentLength = announced
	w := httptest.NewRecorder()

	var before, during runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.ServeHTTP(w, req)
	}()
	recv(t, body.stalled, "the body to stall")
	runtime.ReadMemStats(&during)
	close(body.release)
	recv(t, done, "the POST to end")

	allocated := during.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(bound), "a stalled POST of %d bytes announced and 100 sent allocated %d bytes", announced, allocated)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.ErrorIs(t, rec.waitClose(t), ErrAborted)
	rec.noFrames(t)
}

// TestPostBodyInPieces: a body that arrives a few bytes at a time, larger
// than the first read buffer, is read whole, with or without a
// Content-Length; one shorter than its Content-Length is an aborted request.
func TestPostBodyInPieces(t *testing.T) {
	big := "4" + strings.Repeat("0123456789", 30_000) // 300 KB: several buffer growths
	tests := []struct {
		name   string
		body   io.Reader
		length int64
		want   []string
	}{
		{"one byte at a time", iotest.OneByteReader(strings.NewReader("4hello\x1e4world")), 13, []string{"4hello", "4world"}},
		{"half reads, content-length", iotest.HalfReader(strings.NewReader(big)), int64(len(big)), []string{big}},
		{"half reads, no length", iotest.HalfReader(strings.NewReader(big)), -1, []string{big}},
		{"data with EOF", iotest.DataErrReader(strings.NewReader(big + "\x1e4end")), int64(len(big) + 5), []string{big, "4end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := startedConn(t, transport.Params{})
			req := httptest.NewRequest(http.MethodPost, "/", tt.body)
			req.ContentLength = tt.length
			w := httptest.NewRecorder()
			c.ServeHTTP(w, req)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			var got []string
			for len(rec.frames) > 0 {
				got = append(got, string((<-rec.frames).Data))
			}
			assert.Equal(t, tt.want, got)
			require.NoError(t, c.Close())
			assert.NoError(t, rec.waitClose(t))
		})
	}
	t.Run("shorter than announced", func(t *testing.T) {
		c, rec := startedConn(t, transport.Params{})
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("4hello")))
		req.ContentLength = 100
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		assert.Equal(t, http.StatusBadRequest, w.Code)
		err := rec.waitClose(t)
		assert.ErrorIs(t, err, ErrAborted)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		rec.noFrames(t)
	})
}

// BenchmarkReadFrames measures reading and splitting POST bodies of
// several sizes with their Content-Length, as they arrive from net/http (in
// reads of at most 4 KB).
func BenchmarkReadFrames(b *testing.B) {
	for _, size := range []int{100, 64 << 10, 1_000_000} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			c, _ := startedConn(b, transport.Params{})
			data := append([]byte{'4'}, bytes.Repeat([]byte("x"), size-1)...)
			r := bytes.NewReader(data)
			br := bufio.NewReaderSize(r, 4096)
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			req.Body, req.ContentLength = io.NopCloser(br), int64(size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(data)
				br.Reset(r)
				frames, _, err := c.readFrames(req)
				if err != nil || len(frames) != 1 {
					b.Fatal(len(frames), err)
				}
			}
			b.StopTimer()
			_ = c.Close()
		})
	}
}
