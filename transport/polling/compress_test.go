package polling

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

func TestAcceptedCoding(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"", codingNone},
		{"identity", codingNone},
		{"br", codingNone},
		{"gzip", codingGzip},
		{"GZIP", codingGzip},
		{"deflate", codingDeflate},
		{"gzip, deflate", codingGzip},
		{"gzip, deflate, br, zstd", codingGzip},
		{"deflate, gzip", codingDeflate}, // a tie: the header's order
		{"gzip;q=0.5, deflate", codingDeflate},
		{"gzip;q=0, deflate;q=0", codingNone},
		{"gzip;q=0", codingNone},
		{"*", codingGzip},
		{"*;q=0", codingNone},
		{"*, gzip;q=0", codingDeflate},
		{"deflate;q=0.5, *", codingGzip},
		{"gzip ; q=0.8 , deflate ; q=0.9", codingDeflate},
		{"gzip;q=abc", codingNone},
	} {
		assert.Equal(t, tc.want, acceptedCoding(tc.header), "Accept-Encoding %q", tc.header)
	}
}

// rawGet sends a GET with the given Accept-Encoding and returns the
// response with its body as sent (not decoded by the client).
func (h *harness) rawGet(sid, acceptEncoding string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid, nil)
	require.NoError(h.t, err)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	// Without DisableCompression the client would ask for gzip itself and
	// decode the body.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: waitTimeout}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	require.Equal(h.t, http.StatusOK, resp.StatusCode, string(body))
	return resp, body
}

func decode(t *testing.T, coding string, body []byte) string {
	t.Helper()
	var r io.Reader
	var err error
	switch coding {
	case "":
		return string(body)
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", coding)
	}
	require.NoError(t, err)
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(out)
}

func TestGetCompression(t *testing.T) {
	big := "4" + strings.Repeat("x", 2000)
	small := "4" + strings.Repeat("y", 500)
	for _, tc := range []struct {
		name   string
		opts   *Compression
		accept string
		frames []transport.Frame
		want   string // Content-Encoding
	}{
		{name: "gzip above the threshold", accept: "gzip, deflate", frames: []transport.Frame{transport.TextFrame(big)}, want: "gzip"},
		{name: "deflate", accept: "deflate", frames: []transport.Frame{transport.TextFrame(big)}, want: "deflate"},
		{name: "no Accept-Encoding", frames: []transport.Frame{transport.TextFrame(big)}},
		{name: "identity only", accept: "identity", frames: []transport.Frame{transport.TextFrame(big)}},
		{name: "under the threshold", accept: "gzip", frames: []transport.Frame{transport.TextFrame(small)}},
		{name: "small frames adding up over the threshold", accept: "gzip", frames: []transport.Frame{transport.TextFrame(small), transport.TextFrame(small), transport.TextFrame(small)}, want: "gzip"},
		{name: "binary frames", accept: "gzip", frames: []transport.Frame{transport.BinaryFrame(bytes.Repeat([]byte{7}, 2000))}, want: "gzip"},
		{name: "NoCompress", accept: "gzip", frames: []transport.Frame{{Data: []byte(big), NoCompress: true}}},
		{name: "NoCompress on every frame", accept: "gzip", frames: []transport.Frame{{Data: []byte(big), NoCompress: true}, {Data: []byte(small), NoCompress: true}}},
		{name: "one frame allows it", accept: "gzip", frames: []transport.Frame{{Data: []byte(big), NoCompress: true}, transport.TextFrame("42")}, want: "gzip"},
		{name: "disabled", opts: &Compression{Disable: true}, accept: "gzip", frames: []transport.Frame{transport.TextFrame(big)}},
		{name: "lower threshold", opts: &Compression{Threshold: 100}, accept: "gzip", frames: []transport.Frame{transport.TextFrame(small)}, want: "gzip"},
		{name: "negative threshold", opts: &Compression{Threshold: -1}, accept: "gzip", frames: []transport.Frame{transport.TextFrame("42")}, want: "gzip"},
		{name: "best speed", opts: &Compression{Level: 1}, accept: "gzip", frames: []transport.Frame{transport.TextFrame(big)}, want: "gzip"},
		{name: "best compression", opts: &Compression{Level: 9}, accept: "deflate", frames: []transport.Frame{transport.TextFrame(big)}, want: "deflate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &Options{Compression: tc.opts}, transport.Params{})
			c, _ := h.handshake("s")
			require.NoError(t, c.Send(tc.frames...))
			resp, body := h.rawGet("s", tc.accept)
			assert.Equal(t, tc.want, resp.Header.Get("Content-Encoding"))
			assert.Equal(t, "text/plain; charset=UTF-8", resp.Header.Get("Content-Type"))
			assert.EqualValues(t, len(body), resp.ContentLength)
			if tc.want != "" && len(body) > 100 {
				assert.Less(t, len(body), len(AppendPayload(nil, tc.frames)), "compressed body")
			}
			assert.Equal(t, string(AppendPayload(nil, tc.frames)), decode(t, tc.want, body))
		})
	}
}

// The Conn's own packets do not ask for compression: a close that sends
// only the noop packet, and a response carrying only NoCompress frames and
// the noop, are sent as they are even with a threshold of 0.
func TestGetCompressionOwnPackets(t *testing.T) {
	h := newHarness(t, &Options{Compression: &Compression{Threshold: -1}}, transport.Params{})
	c, _ := h.handshake("s")
	ch := h.goGet("s")
	require.NoError(t, c.Close())
	res := recv(t, ch, "GET answer")
	require.NoError(t, res.err)
	assert.Equal(t, "6", res.body)
}

// A response that needs no compression costs no allocation more than
// before; the benchmark shows the compressed path too.
func BenchmarkGetCompression(b *testing.B) {
	for _, bc := range []struct {
		name   string
		opts   *Options
		size   int
		accept string
	}{
		{"off/size=4096", &Options{Compression: &Compression{Disable: true}}, 4096, "gzip"},
		{"on/under-threshold/size=100", nil, 100, "gzip"},
		{"on/no-accept-encoding/size=4096", nil, 4096, ""},
		{"on/gzip/size=4096", nil, 4096, "gzip, deflate"},
		{"on/gzip-speed/size=4096", &Options{Compression: &Compression{Level: 1}}, 4096, "gzip"},
		{"on/deflate/size=4096", nil, 4096, "deflate"},
	} {
		b.Run(bc.name, func(b *testing.B) { benchGet(b, bc.opts, bc.size, bc.accept) })
	}
}
