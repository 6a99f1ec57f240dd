package engineio_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/websocket"
)

// TestSessionHandshakeDetails checks what a session keeps of its
// handshake request, over polling and WebSocket.
func TestSessionHandshakeDetails(t *testing.T) {
	header := http.Header{
		"X-Token":  {"abc"},
		"X-Multi":  {"one", "two"},
		"Cookie":   {"io=1; user=x"},
		"X-Binary": {"caf\xc3\xa9"},
	}
	tests := []struct {
		name string
		open func(ts *testServer) *engineio.Session
	}{
		{"polling", func(ts *testServer) *engineio.Session {
			res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&foo=bar", "", header)
			require.Equal(t, http.StatusOK, res.status)
			return ts.next(t, "open").sess
		}},
		{"websocket", func(ts *testServer) *engineio.Session {
			c := ts.dial(t, "EIO=4&transport=websocket&foo=bar", &websocket.DialOptions{Header: header})
			parseOpen(t, c.readText(t))
			return ts.next(t, "open").sess
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			sess := tt.open(ts)
			h := sess.Header()
			for k, vs := range header {
				assert.Equal(t, vs, h[k], "header %s", k)
			}
			assert.Equal(t, "abc", sess.HeaderValue("x-token"))
			assert.Equal(t, "one", sess.HeaderValue("X-MULTI"))
			assert.Equal(t, "caf\xc3\xa9", sess.HeaderValue("X-Binary"))
			assert.Empty(t, sess.HeaderValue("X-Missing"))
			assert.Equal(t, h.Get("User-Agent"), sess.HeaderValue("User-Agent"))

			// Every call returns the caller's own copy.
			h.Set("X-Token", "changed")
			h.Add("X-Multi", "three")
			assert.Equal(t, "abc", sess.Header().Get("X-Token"))
			assert.Equal(t, []string{"one", "two"}, sess.Header()["X-Multi"])

			host := strings.TrimPrefix(ts.http.URL, "http://")
			assert.Equal(t, host, sess.Host())
			assert.True(t, strings.HasPrefix(sess.RequestURI(), "/engine.io/?EIO=4&transport="), sess.RequestURI())
			assert.Equal(t, "bar", sess.URL().Query().Get("foo"))
			assert.NotEmpty(t, sess.RemoteAddr())
			assert.False(t, sess.Secure())
			assert.Len(t, sess.ID(), 20)
			assert.Same(t, sess, ts.eio.Session(sess.ID()))
		})
	}
}

// TestServeConnWithoutRequest checks a session's details when ServeConn is
// given no request.
func TestServeConnWithoutRequest(t *testing.T) {
	srv := engineio.NewServer(engineio.HandlerFunc(func(*engineio.Session) engineio.SessionHandler { return nil }), nil)
	sess := srv.ServeConn(engineio.NopConn{}, nil)
	require.NotNil(t, sess)
	assert.Equal(t, http.Header{}, sess.Header())
	assert.Empty(t, sess.HeaderValue("Origin"))
	assert.Equal(t, "/", sess.RequestURI())
	assert.Equal(t, "/", sess.URL().Path)
	assert.Empty(t, sess.RemoteAddr())
	assert.Empty(t, sess.Host())
	require.NoError(t, sess.Close())
}
