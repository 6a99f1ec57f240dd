package hub_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/logtest"
)

// bundle is a stand-in for socket.io-client's dist directory.
var bundle = fstest.MapFS{
	"socket.io.js":                 {Data: []byte("/*!\n * Socket.IO v4.8.4\n */\nvar io = 'full';\n")},
	"socket.io.js.map":             {Data: []byte(`{"version":3,"file":"socket.io.js"}`)},
	"socket.io.min.js":             {Data: []byte("/*!\n * Socket.IO v4.8.4\n */\nvar io='min';")},
	"socket.io.min.js.map":         {Data: []byte(`{"version":3,"file":"socket.io.min.js"}`)},
	"socket.io.esm.min.js":         {Data: []byte("/*!\n * Socket.IO v4.8.4\n */\nexport{io};")},
	"socket.io.msgpack.min.js":     {Data: []byte("/*!\n * Socket.IO v4.8.4\n */\nvar msgpack;")},
	"socket.io.msgpack.min.js.map": {Data: []byte(`{}`)},
	// socket.io.esm.min.js.map is missing.
}

// get sends a request to srv and returns the response with its body.
func get(t *testing.T, srv *httptest.Server, method, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(body)
}

func TestClientFiles(t *testing.T) {
	logs := logtest.New()
	h := newHub(t, &hub.Options{ClientFiles: bundle, Logger: logs.Logger(), Transports: quickTransports()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	tests := []struct {
		path, contentType, body string
		version                 bool // the ETag names the version
	}{
		{"/socket.io/socket.io.js", "application/javascript; charset=utf-8", "var io = 'full';", true},
		{"/socket.io/socket.io.min.js", "application/javascript; charset=utf-8", "var io='min';", true},
		{"/socket.io/socket.io.esm.min.js", "application/javascript; charset=utf-8", "export{io};", true},
		{"/socket.io/socket.io.js.map", "application/json; charset=utf-8", `"file":"socket.io.js"`, false},
		{"/socket.io/socket.io.min.js.map", "application/json; charset=utf-8", `"file":"socket.io.min.js"`, false},
		{"/socket.io/socket.io.js?EIO=4&transport=polling", "application/javascript; charset=utf-8", "var io = 'full';", true},
	}
	etags := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, srv, http.MethodGet, tt.path, nil)
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			assert.Equal(t, tt.contentType, res.Header.Get("Content-Type"))
			assert.Equal(t, "public, max-age=0", res.Header.Get("Cache-Control"))
			assert.Contains(t, body, tt.body)
			etag := res.Header.Get("ETag")
			require.Regexp(t, `^"[0-9a-zA-Z.+-]+"$`, etag, "a strong, quoted ETag")
			if tt.version {
				assert.True(t, strings.HasPrefix(etag, `"4.8.4-`), etag)
			}
			etags[etag] = true

			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				res, body = get(t, srv, http.MethodGet, tt.path, http.Header{"If-None-Match": {inm}})
				assert.Equal(t, http.StatusNotModified, res.StatusCode, "If-None-Match: %s", inm)
				assert.Empty(t, body)
				assert.Equal(t, etag, res.Header.Get("ETag"))
			}
			res, body = get(t, srv, http.MethodGet, tt.path, http.Header{"If-None-Match": {`"4.8.3"`}})
			assert.Equal(t, http.StatusOK, res.StatusCode, "another version")
			assert.Contains(t, body, tt.body)

			res, body = get(t, srv, http.MethodHead, tt.path, nil)
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Empty(t, body)
			assert.Equal(t, etag, res.Header.Get("ETag"))
		})
	}
	assert.Len(t, etags, len(tests)-1, "each file has its own ETag")

	for _, tt := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"missing from the FS", http.MethodGet, "/socket.io/socket.io.esm.min.js.map", http.StatusNotFound, "not in Options.ClientFiles"},
		{"msgpack bundle", http.MethodGet, "/socket.io/socket.io.msgpack.min.js", http.StatusNotFound, "msgpack"},
		{"POST", http.MethodPost, "/socket.io/socket.io.js", http.StatusMethodNotAllowed, "GET and HEAD"},
		{"another file", http.MethodGet, "/socket.io/other.js", http.StatusBadRequest, `"Transport unknown"`},
		{"the hub still answers handshakes", http.MethodGet, "/socket.io/?EIO=4&transport=polling", http.StatusOK, `"sid"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, srv, tt.method, tt.path, nil)
			assert.Equal(t, tt.status, res.StatusCode, body)
			assert.Contains(t, body, tt.body)
		})
	}
	assert.Empty(t, logs.Matching(logtest.Message("hub:")), "nothing to warn about")
}

// TestClientFilesMsgpack: a hub with the msgpack parser also serves the
// msgpack bundle (socket.io-msgpack-parser built in).
func TestClientFilesMsgpack(t *testing.T) {
	h := newHub(t, &hub.Options{ClientFiles: bundle, Parser: hub.MsgpackParser})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	res, body := get(t, srv, http.MethodGet, "/socket.io/socket.io.msgpack.min.js", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "application/javascript; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, body, "var msgpack;")
	res, body = get(t, srv, http.MethodGet, "/socket.io/socket.io.msgpack.min.js.map", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
}

// TestClientFilesNotServed: without Options.ClientFiles, the bundle's URLs
// answer 404 saying how to serve it, never Engine.IO's "Transport unknown".
func TestClientFilesNotServed(t *testing.T) {
	logs := logtest.New()
	h := newHub(t, &hub.Options{Logger: logs.Logger()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, name := range []string{"socket.io.js", "socket.io.min.js", "socket.io.esm.min.js", "socket.io.js.map"} {
		res, body := get(t, srv, http.MethodGet, "/socket.io/"+name, nil)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, name)
		assert.Contains(t, body, "ClientFiles", name)
		assert.Contains(t, body, "npm install socket.io-client", name)
		assert.NotContains(t, body, "Transport unknown", name)
	}
	warned := logs.Matching(logtest.Message("hub: a page asked for the socket.io client bundle"))
	require.Len(t, warned, 1, "logged once")
	assert.Equal(t, "/socket.io/socket.io.js", warned[0].Attrs["path"])
}

// TestClientFilesPath: the files follow the hub's Path.
func TestClientFilesPath(t *testing.T) {
	h := newHub(t, &hub.Options{Path: "/rt/", ClientFiles: bundle})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	res, body := get(t, srv, http.MethodGet, "/rt/socket.io.min.js", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "var io='min';")
	res, _ = get(t, srv, http.MethodGet, "/socket.io/socket.io.min.js", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// TestClientFilesWrongDirectory: a file system without the bundle at its
// root is reported at New, with the fix.
func TestClientFilesWrongDirectory(t *testing.T) {
	tests := []struct {
		name string
		fsys fs.FS
		hint string
	}{
		{"the package directory", fstest.MapFS{"dist/socket.io.js": {Data: []byte("x")}, "package.json": {Data: []byte("{}")}}, `fs.Sub(fsys, "dist")`},
		{"elsewhere", fstest.MapFS{"index.html": {Data: []byte("x")}}, "node_modules/socket.io-client/dist"},
		{"a file system that panics", panicFS{}, "node_modules/socket.io-client/dist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := logtest.New()
			newHub(t, &hub.Options{ClientFiles: tt.fsys, Logger: logs.Logger()})
			warned := logs.Matching(logtest.Message("hub: Options.ClientFiles has no socket.io.js"))
			require.Len(t, warned, 1)
			assert.Contains(t, warned[0].Message, tt.hint)
		})
	}
}

// panicFS is a file system that panics.
type panicFS struct{}

func (panicFS) Open(string) (fs.File, error) { panic("broken file system") }

// TestClientFilesPanic: a file system that panics answers 500 and is
// logged; the hub carries on.
func TestClientFilesPanic(t *testing.T) {
	logs := logtest.New()
	h := newHub(t, &hub.Options{ClientFiles: panicFS{}, Logger: logs.Logger()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	res, body := get(t, srv, http.MethodGet, "/socket.io/socket.io.js", nil)
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.NotContains(t, body, "broken", "the panic stays in the log")
	rec, ok := logs.Wait(testTimeout, logtest.Message("hub: Options.ClientFiles panicked"))
	require.True(t, ok)
	assert.Equal(t, "broken file system", rec.Attrs["panic"])
	res, body = get(t, srv, http.MethodGet, "/socket.io/?EIO=4&transport=tobi", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "Transport unknown", "Engine.IO still answers")
}
