package engineio_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/memory"
)

// rawUpgrade sends a WebSocket handshake for query to ts over a plain TCP
// connection and returns the response (its header), leaving the connection
// to the test's cleanup.
func (ts *testServer) rawUpgrade(t *testing.T, query string) *http.Response {
	t.Helper()
	addr := strings.TrimPrefix(ts.http.URL, "http://")
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = fmt.Fprintf(c, "GET /engine.io/?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", query, addr)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	return res
}

func TestCookie(t *testing.T) {
	tests := []struct {
		name   string
		cookie *engineio.Cookie
		want   string // with SID for the session id; "" for no cookie
	}{
		{"off by default", nil, ""},
		{"engine.io's cookie: true", &engineio.Cookie{}, "io=SID; Path=/; HttpOnly; SameSite=Lax"},
		{"name", &engineio.Cookie{Name: "woot"}, "woot=SID; Path=/; HttpOnly; SameSite=Lax"},
		{"path", &engineio.Cookie{Path: "/custom"}, "io=SID; Path=/custom; HttpOnly; SameSite=Lax"},
		{"not HttpOnly", &engineio.Cookie{DisableHTTPOnly: true}, "io=SID; Path=/; SameSite=Lax"},
		{"SameSite strict", &engineio.Cookie{SameSite: http.SameSiteStrictMode}, "io=SID; Path=/; HttpOnly; SameSite=Strict"},
		{"no SameSite", &engineio.Cookie{SameSite: http.SameSiteDefaultMode}, "io=SID; Path=/; HttpOnly"},
		{"every attribute", &engineio.Cookie{Name: "lb", Path: "/rt", Domain: "example.com", MaxAge: 90 * time.Second, Secure: true, SameSite: http.SameSiteNoneMode},
			"lb=SID; Path=/rt; Domain=example.com; Max-Age=90; HttpOnly; Secure; SameSite=None"},
		{"invalid name and path: defaults", &engineio.Cookie{Name: "bad name", Path: "/a;b"}, "io=SID; Path=/; HttpOnly; SameSite=Lax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := logtest.New()
			ts := newTestServer(t, &engineio.Options{Cookie: tt.cookie, Logger: logs.Logger()})

			// Polling: the handshake response sets the cookie, later
			// responses don't.
			res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
			require.Equal(t, http.StatusOK, res.status, res.body)
			sid := parseOpen(t, res.body).SID
			ts.next(t, "open")
			if tt.want == "" {
				assert.Empty(t, res.header.Values("Set-Cookie"))
			} else {
				assert.Equal(t, []string{strings.Replace(tt.want, "SID", sid, 1)}, res.header.Values("Set-Cookie"))
			}
			res = ts.do(t, http.MethodPost, "EIO=4&transport=polling&sid="+sid, "4hello", nil)
			require.Equal(t, http.StatusOK, res.status, res.body)
			assert.Empty(t, res.header.Values("Set-Cookie"), "a later request")

			// The upgrade of that session does not set it again.
			up := ts.rawUpgrade(t, "EIO=4&transport=websocket&sid="+sid)
			require.Equal(t, http.StatusSwitchingProtocols, up.StatusCode)
			assert.Empty(t, up.Header.Values("Set-Cookie"), "upgrade of a polling session")

			// A handshake over WebSocket: the upgrade response sets it.
			up = ts.rawUpgrade(t, "EIO=4&transport=websocket")
			require.Equal(t, http.StatusSwitchingProtocols, up.StatusCode)
			ev := ts.next(t, "open")
			if tt.want == "" {
				assert.Empty(t, up.Header.Values("Set-Cookie"))
			} else {
				assert.Equal(t, []string{strings.Replace(tt.want, "SID", ev.sess.ID(), 1)}, up.Header.Values("Set-Cookie"))
			}

			invalid := logs.Matching(logtest.Message("engineio: invalid Cookie option"))
			if strings.HasPrefix(tt.name, "invalid") {
				assert.Len(t, invalid, 1)
			} else {
				assert.Empty(t, invalid)
			}
		})
	}
}

// errorRecorder collects what OnConnectionError is told.
type errorRecorder chan *engineio.ConnectionError

func (r errorRecorder) hook(e *engineio.ConnectionError) { r <- e }

func (r errorRecorder) next(t *testing.T) *engineio.ConnectionError {
	t.Helper()
	select {
	case e := <-r:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("OnConnectionError not called within 5s")
		return nil
	}
}

func TestGenerateID(t *testing.T) {
	tooLong := strings.Repeat("a", engineio.MaxIDLength+1)
	tests := []struct {
		name    string
		gen     func(*http.Request) (string, error)
		wantID  string // "" when the handshake is refused
		wantErr error  // wrapped by Context["error"] when refused
	}{
		{"from the request", func(r *http.Request) (string, error) { return "user-" + r.URL.Query().Get("u"), nil }, "user-7", nil},
		{"every allowed character", func(*http.Request) (string, error) { return "AZaz09-_.~", nil }, "AZaz09-_.~", nil},
		{"longest", func(*http.Request) (string, error) { return tooLong[1:], nil }, tooLong[1:], nil},
		{"empty", func(*http.Request) (string, error) { return "", nil }, "", engineio.ErrInvalidID},
		{"too long", func(*http.Request) (string, error) { return tooLong, nil }, "", engineio.ErrInvalidID},
		{"space", func(*http.Request) (string, error) { return "a b", nil }, "", engineio.ErrInvalidID},
		{"quote", func(*http.Request) (string, error) { return `a"b`, nil }, "", engineio.ErrInvalidID},
		{"slash", func(*http.Request) (string, error) { return "a/b", nil }, "", engineio.ErrInvalidID},
		{"non-ASCII", func(*http.Request) (string, error) { return "é", nil }, "", engineio.ErrInvalidID},
		{"error", func(*http.Request) (string, error) { return "x", errUnlucky }, "", errUnlucky},
	}
	for _, tt := range tests {
		for _, tr := range []string{transport.NamePolling, transport.NameWebSocket} {
			t.Run(tt.name+"/"+tr, func(t *testing.T) {
				errs := make(errorRecorder, 4)
				ts := newTestServer(t, &engineio.Options{GenerateID: tt.gen, OnConnectionError: errs.hook, Cookie: &engineio.Cookie{}})
				query := "EIO=4&transport=" + tr + "&u=7"
				if tr == transport.NamePolling {
					res := ts.do(t, http.MethodGet, query, "", nil)
					if tt.wantID != "" {
						require.Equal(t, http.StatusOK, res.status, res.body)
						assert.Equal(t, tt.wantID, parseOpen(t, res.body).SID)
						assert.Equal(t, "io="+tt.wantID+"; Path=/; HttpOnly; SameSite=Lax", res.header.Get("Set-Cookie"))
						assert.Equal(t, tt.wantID, ts.next(t, "open").sess.ID())
						return
					}
					assert.Equal(t, http.StatusBadRequest, res.status)
					assert.JSONEq(t, `{"code":3,"message":"Bad request"}`, res.body)
					assert.Empty(t, res.header.Values("Set-Cookie"))
				} else {
					res := ts.rawUpgrade(t, query)
					if tt.wantID != "" {
						require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
						assert.Equal(t, tt.wantID, ts.next(t, "open").sess.ID())
						return
					}
					assert.Equal(t, http.StatusBadRequest, res.StatusCode)
				}
				e := errs.next(t)
				assert.Equal(t, engineio.CodeBadRequest, e.Code)
				assert.Equal(t, "ID_GENERATION_ERROR", e.Context["name"])
				err, _ := e.Context["error"].(error)
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, 0, ts.eio.Len())
			})
		}
	}
}

var errUnlucky = errors.New("test: unlucky")

// TestGenerateIDDuplicate: an id in use refuses the handshake, even when
// two handshakes get it at the same time; once its session has closed, the
// id may be used again.
func TestGenerateIDDuplicate(t *testing.T) {
	errs := make(errorRecorder, 16)
	ts := newTestServer(t, &engineio.Options{
		GenerateID:        func(*http.Request) (string, error) { return "same", nil },
		OnConnectionError: errs.hook,
	})
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := ts.http.Client().Get(ts.url + "?EIO=4&transport=polling")
			if err != nil {
				statuses <- -1
				return
			}
			_ = res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusBadRequest: n - 1}, counts)
	for range n - 1 {
		err, _ := errs.next(t).Context["error"].(error)
		assert.ErrorIs(t, err, engineio.ErrDuplicateID)
	}
	sess := ts.next(t, "open").sess
	assert.Equal(t, "same", sess.ID())

	// Over WebSocket too.
	res := ts.rawUpgrade(t, "EIO=4&transport=websocket")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	err, _ := errs.next(t).Context["error"].(error)
	assert.ErrorIs(t, err, engineio.ErrDuplicateID)

	c := ts.dial(t, "EIO=4&transport=websocket&sid=same", nil)
	_ = c // the session's upgrade: not a handshake
	require.NoError(t, sess.Close())
	ts.next(t, "close")
	require.Eventually(t, func() bool {
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
		return res.status == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond, "the id is free again once its session is gone")
}

// TestGenerateIDPanic: a generator that panics refuses the handshake and
// is logged; the server carries on.
func TestGenerateIDPanic(t *testing.T) {
	logs := logtest.New()
	errs := make(errorRecorder, 4)
	var calls atomic.Int32
	ts := newTestServer(t, &engineio.Options{
		GenerateID: func(*http.Request) (string, error) {
			if calls.Add(1) == 1 {
				panic("boom")
			}
			return "second", nil
		},
		OnConnectionError: errs.hook,
		Logger:            logs.Logger(),
	})
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	assert.Equal(t, http.StatusBadRequest, res.status)
	assert.JSONEq(t, `{"code":3,"message":"Bad request"}`, res.body)
	e := errs.next(t)
	assert.Equal(t, "ID_GENERATION_ERROR", e.Context["name"])
	assert.ErrorContains(t, e.Context["error"].(error), "boom")
	rec, ok := logs.Wait(5*time.Second, logtest.Message("engineio: GenerateID panicked"))
	require.True(t, ok)
	assert.Equal(t, "boom", rec.Attrs["panic"])
	assert.Equal(t, 0, ts.eio.Len())

	res = ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "second", parseOpen(t, res.body).SID)
}

// TestGenerateIDServeConn: ServeConn uses the generator too, and closes
// the connection when it fails.
func TestGenerateIDServeConn(t *testing.T) {
	errs := make(errorRecorder, 4)
	rec := &recorder{events: make(chan event, 16)}
	ids := []string{"mem-1", "mem-1"}
	var i atomic.Int32
	srv := engineio.NewServer(rec, &engineio.Options{
		GenerateID: func(r *http.Request) (string, error) {
			assert.Equal(t, "/", r.URL.Path, "ServeConn with a nil request: a request for /")
			return ids[i.Add(1)-1], nil
		},
		OnConnectionError: errs.hook,
	})
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	serverEnd, clientEnd := memory.Pipe(transport.Params{})
	clientEnd.Start(clientHandler{frames: make(chan transport.Frame, 16), closed: make(chan error, 1)})
	sess := srv.ServeConn(serverEnd, nil)
	require.NotNil(t, sess)
	assert.Equal(t, "mem-1", sess.ID())

	serverEnd, clientEnd = memory.Pipe(transport.Params{})
	closed := make(chan error, 1)
	clientEnd.Start(clientHandler{frames: make(chan transport.Frame, 16), closed: closed})
	assert.Nil(t, srv.ServeConn(serverEnd, nil), "duplicate id")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the refused connection was not closed")
	}
	err, _ := errs.next(t).Context["error"].(error)
	assert.ErrorIs(t, err, engineio.ErrDuplicateID)
}

func TestOnConnectionError(t *testing.T) {
	errs := make(errorRecorder, 4)
	ts := newTestServer(t, &engineio.Options{OnConnectionError: errs.hook, AllowedOrigins: []string{"https://app.example"}})
	wsSID := parseOpen(t, ts.dial(t, "EIO=4&transport=websocket", nil).readText(t)).SID
	pollSID := ts.pollHandshake(t)

	tests := []struct {
		name, method, query string
		header              http.Header
		code                engineio.ErrorCode
		message             string
		context             map[string]any
	}{
		{"unknown transport", "GET", "EIO=4&transport=tobi", nil,
			engineio.CodeUnknownTransport, "Transport unknown", map[string]any{"transport": "tobi"}},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", nil,
			engineio.CodeUnknownSID, "Session ID unknown", map[string]any{"sid": "nope"}},
		{"handshake with POST", "POST", "EIO=4&transport=polling", nil,
			engineio.CodeBadHandshakeMethod, "Bad handshake method", map[string]any{"method": "POST"}},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", nil,
			engineio.CodeBadRequest, "Bad request", map[string]any{"name": "TRANSPORT_HANDSHAKE_ERROR"}},
		{"polling on a websocket session", "GET", "EIO=4&transport=polling&sid=" + wsSID, nil,
			engineio.CodeBadRequest, "Bad request", map[string]any{"name": "TRANSPORT_MISMATCH", "transport": "polling", "previousTransport": "websocket"}},
		{"bad method on a session", "PUT", "EIO=4&transport=polling&sid=" + pollSID, nil,
			engineio.CodeBadRequest, "Bad request", map[string]any{"name": "BAD_METHOD", "method": "PUT"}},
		{"refused origin", "GET", "EIO=4&transport=polling", http.Header{"Origin": {"https://evil.example"}},
			engineio.CodeForbidden, "Forbidden", map[string]any{"origin": "https://evil.example"}},
		{"EIO 3", "GET", "EIO=3&transport=polling", nil,
			engineio.CodeUnsupportedProtocolVersion, "Unsupported protocol version", map[string]any{"protocol": "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{"X-Test": {tt.name}}
			for k, v := range tt.header {
				header[k] = v
			}
			res := ts.do(t, tt.method, tt.query, "body", header)
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, res.status)
			e := errs.next(t)
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.message, e.Message)
			assert.Equal(t, tt.code.String(), e.Message)
			assert.Equal(t, tt.context, e.Context)
			require.NotNil(t, e.Request)
			assert.Equal(t, tt.method, e.Request.Method)
			assert.Equal(t, tt.query, e.Request.URL.RawQuery)
			assert.Equal(t, tt.name, e.Request.Header.Get("X-Test"))
			assert.NotEmpty(t, e.Request.RemoteAddr)
			assert.Equal(t, http.NoBody, e.Request.Body)
			assert.NoError(t, e.Request.Context().Err(), "the copy's context outlives the request")
			assert.Contains(t, e.Error(), tt.message)
		})
	}
	select {
	case e := <-errs:
		t.Fatalf("unexpected report %v", e)
	default:
	}
}

// TestOnConnectionErrorServerFull: MaxConnections refusals are reported,
// over polling and WebSocket.
func TestOnConnectionErrorServerFull(t *testing.T) {
	errs := make(errorRecorder, 4)
	ts := newTestServer(t, &engineio.Options{OnConnectionError: errs.hook, MaxConnections: 1})
	ts.pollHandshake(t)
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	e := errs.next(t)
	assert.Equal(t, engineio.CodeBadRequest, e.Code)
	assert.Equal(t, map[string]any{"name": "SERVER_FULL"}, e.Context)
	up := ts.rawUpgrade(t, "EIO=4&transport=websocket")
	assert.Equal(t, http.StatusServiceUnavailable, up.StatusCode)
	assert.Equal(t, map[string]any{"name": "SERVER_FULL"}, errs.next(t).Context)
}

// TestOnConnectionErrorDoesNotHold: a hook that blocks holds no request,
// and one that panics is logged and called again for the next refusal.
func TestOnConnectionErrorDoesNotHold(t *testing.T) {
	logs := logtest.New()
	release := make(chan struct{})
	got := make(chan string, 4)
	ts := newTestServer(t, &engineio.Options{
		Logger: logs.Logger(),
		OnConnectionError: func(e *engineio.ConnectionError) {
			switch tr := e.Context["transport"]; tr {
			case "block":
				<-release
			case "panic":
				panic("hook failed")
			default:
				got <- fmt.Sprint(tr)
			}
		},
	})
	for _, tr := range []string{"block", "panic", "after"} {
		res := ts.do(t, http.MethodGet, "EIO=4&transport="+tr, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.status, "answered while the hook is blocked")
		assert.JSONEq(t, `{"code":0,"message":"Transport unknown"}`, res.body)
	}
	close(release)
	select {
	case tr := <-got:
		assert.Equal(t, "after", tr, "the hook is called in order, after a panic too")
	case <-time.After(5 * time.Second):
		t.Fatal("hook not called after the panic")
	}
	rec, ok := logs.Wait(5*time.Second, logtest.Message("engineio: OnConnectionError panicked"))
	require.True(t, ok)
	assert.Equal(t, "hook failed", rec.Attrs["panic"])
	assert.Equal(t, slog.LevelError, rec.Level)
}
