package polling

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/go-realtime/realtime/transport"
)

// discardWriter is an http.ResponseWriter that keeps nothing, so that a
// benchmark measures the Conn, not a recorder.
type discardWriter struct{ hdr http.Header }

func (w *discardWriter) Header() http.Header         { return w.hdr }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkGet answers GETs of one session, each carrying one queued frame
// of the given size.
func BenchmarkGet(b *testing.B) {
	for _, size := range []int{100, 4096} {
		b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
			benchGet(b, nil, size, "")
		})
	}
}

func benchGet(b *testing.B, opts *Options, size int, acceptEncoding string) {
	tr := New(opts)
	tc, _ := tr.Accept(nil, nil, transport.Params{})
	c := tc.(*Conn)
	c.Start(nopHandler{})
	defer c.Close()
	frame := transport.TextFrame("4" + strings.Repeat("abcdefgh", size/8))
	r, _ := http.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil)
	if acceptEncoding != "" {
		r.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := &discardWriter{hdr: make(http.Header)}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.Send(frame); err != nil {
			b.Fatal(err)
		}
		c.ServeHTTP(w, r)
	}
}

type nopHandler struct{}

func (nopHandler) HandleFrame(transport.Frame) error { return nil }
func (nopHandler) HandleClose(error)                 {}
