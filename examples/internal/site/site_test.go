package site

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClientFilesMissing(t *testing.T) {
	_, err := ClientFiles(t.TempDir())
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNoClientFiles))
	assert.Contains(t, err.Error(), "npm ci --prefix examples")
}

// TestMount: the hub serves the bundle ClientFiles found, Mount the
// shared assets.
func TestMount(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "socket.io.js"), []byte("/* the bundle */"), 0o644))
	files, err := ClientFiles(dir)
	require.NoError(t, err)
	h := hub.New(&hub.Options{ClientFiles: files})
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		path, contentType, body string
		status                  int
	}{
		{"/socket.io/socket.io.js", "application/javascript", "/* the bundle */", http.StatusOK},
		{"/assets/style.css", "text/css", ".card", http.StatusOK},
		{"/assets/page.js", "text/javascript", "window.RT", http.StatusOK},
		{"/socket.io/socket.io.min.js", "", "", http.StatusNotFound}, // not in this directory
		{"/socket.io.js", "", "", http.StatusNotFound},               // the old address
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

// TestServeStopsHubFirst: on its signal, serve stops the hub before the
// http.Server, so a long-polling client's held GET is answered with the
// close packet at once and both stop without error (the server first would
// wait for that GET until its 5 seconds are over).
func TestServeStopsHubFirst(t *testing.T) {
	h := hub.New(nil)
	left := make(chan string, 2)
	h.OnConnection(func(s *namespace.Socket) { s.OnDisconnect(func(r string) { left <- r }) })
	held := make(chan struct{}, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Held") != "" {
			held <- struct{}{}
		}
		h.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, "test", ln, handler, h.Shutdown) }()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=polling"
	do := func(method, url, body, hdr string) string {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		require.NoError(t, err)
		if hdr != "" {
			req.Header.Set("X-Held", hdr)
		}
		res, err := client.Do(req)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	open := do(http.MethodGet, url, "", "")
	require.True(t, strings.HasPrefix(open, `0{"sid":"`), open)
	url += "&sid=" + open[len(`0{"sid":"`):len(`0{"sid":"`)+20]
	require.Equal(t, "ok", do(http.MethodPost, url, "40", ""))
	require.True(t, strings.HasPrefix(do(http.MethodGet, url, "", ""), "40{"))
	answer := make(chan string, 1)
	go func() { answer <- do(http.MethodGet, url, "", "1") }()
	<-held

	stop() // as SIGINT does
	assert.Equal(t, "1", <-answer, "the held GET gets the close packet")
	assert.Equal(t, "server shutting down", <-left)
	assert.NoError(t, <-served)
}
