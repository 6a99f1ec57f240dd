package site

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientJSMissing(t *testing.T) {
	_, err := ClientJS(filepath.Join(t.TempDir(), "socket.io.min.js"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNoClientJS))
	assert.Contains(t, err.Error(), "npm ci --prefix examples")
}

func TestMount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "socket.io.min.js")
	require.NoError(t, os.WriteFile(path, []byte("/* the bundle */"), 0o644))
	b, err := ClientJS(path)
	require.NoError(t, err)
	mux := http.NewServeMux()
	Mount(mux, b)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		path, contentType, body string
		status                  int
	}{
		{"/socket.io.js", "text/javascript", "/* the bundle */", http.StatusOK},
		{"/assets/style.css", "text/css", ".card", http.StatusOK},
		{"/assets/page.js", "text/javascript", "window.RT", http.StatusOK},
		{"/socket.io.min.js.map", "", "", http.StatusNotFound}, // no map file next to this bundle
		{"/assets/nothing.js", "", "", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + tc.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.status == http.StatusOK {
				assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType), resp.Header.Get("Content-Type"))
				assert.Contains(t, string(body), tc.body)
			}
		})
	}
}
