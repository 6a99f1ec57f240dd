package engineio_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/leaktest"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

// event is something the application side of a test server saw.
type event struct {
	kind string // "open", "message", "close"
	sess *engineio.Session
	msg  engineio.Message
	err  error
}

// errRefused is what the recorder's HandleMessage returns for "refuse".
var errRefused = errors.New("test: message refused")

// recorder is an echo application that records what happens. It refuses
// the text message "refuse" (HandleMessage returns errRefused).
type recorder struct {
	events chan event
	echo   bool
}

func (r *recorder) Open(s *engineio.Session) engineio.SessionHandler {
	r.events <- event{kind: "open", sess: s}
	return engineio.SessionFuncs{
		Message: func(m engineio.Message) error {
			if !m.Binary && string(m.Data) == "refuse" {
				return errRefused
			}
			r.events <- event{kind: "message", sess: s, msg: m}
			if r.echo {
				_ = s.Send(m.Frame())
			}
			return nil
		},
		Close: func(err error) { r.events <- event{kind: "close", sess: s, err: err} },
	}
}

// next waits for the next event of the given kind, failing after a bound.
func (r *recorder) next(t *testing.T, kind string) event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-r.events:
			if ev.kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 5s", kind)
			return event{}
		}
	}
}

// testServer is an Engine.IO server on a real HTTP server.
type testServer struct {
	*recorder
	eio   *engineio.Server
	http  *httptest.Server
	url   string // http://host/engine.io/
	polls *trackingPolling
}

// trackingPolling is the polling transport, remembering the Conns it made.
type trackingPolling struct {
	*polling.Transport
	mu    sync.Mutex
	conns []*polling.Conn
}

func (tp *trackingPolling) Accept(w http.ResponseWriter, r *http.Request, p transport.Params) (transport.Conn, error) {
	c, err := tp.Transport.Accept(w, r, p)
	if err == nil {
		tp.mu.Lock()
		tp.conns = append(tp.conns, c.(*polling.Conn))
		tp.mu.Unlock()
	}
	return c, err
}

// waitHeld waits until the latest polling session's GET is held by the
// server.
func (ts *testServer) waitHeld(t *testing.T) {
	t.Helper()
	require.NotNil(t, ts.polls, "test server without a tracked polling transport")
	ts.polls.mu.Lock()
	c := ts.polls.conns[len(ts.polls.conns)-1]
	ts.polls.mu.Unlock()
	require.Eventually(t, c.Held, 5*time.Second, time.Millisecond, "GET not held")
}

func newTestServer(t *testing.T, opts *engineio.Options) *testServer {
	t.Helper()
	rec := &recorder{events: make(chan event, 1024), echo: true}
	if opts == nil {
		opts = &engineio.Options{}
	}
	var polls *trackingPolling
	if len(opts.Transports) == 0 {
		// CloseTimeout -1: a session a test leaves between two polls does
		// not hold the cleanup's Shutdown (tests of that wait set their own).
		polls = &trackingPolling{Transport: polling.New(&polling.Options{CloseTimeout: -1})}
		o := *opts
		o.Transports = []transport.Transport{polls, websocket.New(nil)}
		opts = &o
	}
	eio := engineio.NewServer(rec, opts)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", eio)
	hs := httptest.NewServer(mux)
	ts := &testServer{recorder: rec, eio: eio, http: hs, url: hs.URL + "/engine.io/", polls: polls}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, eio.Shutdown(ctx))
		hs.CloseClientConnections()
		hs.Close()
	})
	return ts
}

// wsURL returns the WebSocket URL for query.
func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "?" + query
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   string
}

func (ts *testServer) do(t *testing.T, method, query, body string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+"?"+query, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := ts.http.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// asyncGet starts a GET and returns a channel with its response.
func (ts *testServer) asyncGet(t *testing.T, query string) <-chan response {
	ch := make(chan response, 1)
	go func() {
		res, err := ts.http.Client().Get(ts.url + "?" + query)
		if err != nil {
			ch <- response{status: -1, body: err.Error()}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		ch <- response{status: res.StatusCode, header: res.Header, body: string(b)}
	}()
	return ch
}

func waitResponse(t *testing.T, ch <-chan response) response {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no HTTP response within 5s")
		return response{}
	}
}

// openPacket is the handshake's JSON.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, packet string) openPacket {
	t.Helper()
	require.True(t, strings.HasPrefix(packet, "0"), "open packet %q", packet)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(packet[1:]), &raw))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}, keys)
	var op openPacket
	require.NoError(t, json.Unmarshal([]byte(packet[1:]), &op))
	return op
}

// pollHandshake opens a polling session and returns its sid.
func (ts *testServer) pollHandshake(t *testing.T) string {
	t.Helper()
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	op := parseOpen(t, res.body)
	ts.next(t, "open")
	return op.SID
}

// wsClient is a WebSocket test client.
type wsClient struct {
	*websocket.ClientConn
}

func (ts *testServer) dial(t *testing.T, query string, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, ts.wsURL(query), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &wsClient{c}
}

func (c *wsClient) read(t *testing.T) transport.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, err := c.ReadFrame(ctx)
	require.NoError(t, err)
	return f
}

// readText reads frames until a text frame other than a ping arrives.
func (c *wsClient) readText(t *testing.T) string {
	t.Helper()
	for {
		f := c.read(t)
		if !f.Binary && string(f.Data) == "2" {
			require.NoError(t, c.WriteFrame(transport.TextFrame("3")))
			continue
		}
		require.False(t, f.Binary, "binary frame %q", f.Data)
		return string(f.Data)
	}
}

// closeCode reads until the server's close frame and returns its status.
func closeCode(t *testing.T, c *websocket.ClientConn) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, err := c.ReadFrame(ctx)
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		require.NoError(t, err, "no close frame")
	}
}

func (c *wsClient) send(t *testing.T, f transport.Frame) {
	t.Helper()
	require.NoError(t, c.WriteFrame(f))
}

// payload joins packets like a polling body.
func payload(packets ...string) string { return strings.Join(packets, "\x1e") }
