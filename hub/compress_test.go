package hub_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// TestHTTPCompression: polling responses are compressed by default, and
// Options.HTTPCompression reaches the default polling transport.
func TestHTTPCompression(t *testing.T) {
	big := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name string
		opts *hub.Compression
		want string
	}{
		{"default", nil, "gzip"},
		{"disabled", &hub.Compression{Disable: true}, ""},
		{"threshold above the response", &hub.Compression{Threshold: 10000}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, &hub.Options{HTTPCompression: tc.opts})
			h.OnConnection(func(s *namespace.Socket) { _ = s.Emit("big", big) })
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			op, _ := handshake(t, srv)
			path := "/socket.io/?EIO=4&transport=polling&sid=" + op.SID
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("40"))
			require.NoError(t, err)
			res, err := srv.Client().Do(req)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			require.Equal(t, http.StatusOK, res.StatusCode)

			// An explicit Accept-Encoding: the client leaves the body as sent.
			res, body := get(t, srv, http.MethodGet, path, http.Header{"Accept-Encoding": {"gzip"}})
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, tc.want, res.Header.Get("Content-Encoding"))
			if tc.want == "" {
				assert.Contains(t, body, big)
			} else {
				assert.Less(t, len(body), len(big))
			}

			req, err = http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("1"))
			require.NoError(t, err)
			res, err = srv.Client().Do(req)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
		})
	}
}
