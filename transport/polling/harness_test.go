package polling

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flowtest"
)

// waitTimeout only turns a hang into a failure; nothing waits for it to pass.
const waitTimeout = 10 * time.Second

func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return flowtest.Recv(t, ch, what)
}

// recorder is a transport.Handler that records what it is given and checks
// the Handler contract: no concurrent HandleFrame, nothing after HandleClose,
// HandleClose once.
type recorder struct {
	t       testing.TB
	onFrame func(transport.Frame) error // optional, runs before recording

	frames   chan transport.Frame
	closed   chan error
	done     chan struct{} // closed by the first HandleClose
	inFrame  atomic.Int32
	closes   atomic.Int32
	lastSeen atomic.Bool // HandleClose was called
}

func newRecorder(t testing.TB) *recorder {
	return &recorder{t: t, frames: make(chan transport.Frame, 4096), closed: make(chan error, 1), done: make(chan struct{})}
}

func (r *recorder) HandleFrame(f transport.Frame) error {
	if r.inFrame.Add(1) != 1 {
		r.t.Errorf("concurrent HandleFrame calls")
	}
	defer r.inFrame.Add(-1)
	if r.lastSeen.Load() {
		r.t.Errorf("HandleFrame(%q) after HandleClose", f.Data)
	}
	if r.onFrame != nil {
		if err := r.onFrame(f); err != nil {
			return err
		}
	}
	r.frames <- f
	return nil
}

func (r *recorder) HandleClose(err error) {
	if r.inFrame.Load() != 0 {
		r.t.Errorf("HandleClose during HandleFrame")
	}
	r.lastSeen.Store(true)
	if r.closes.Add(1) != 1 {
		r.t.Errorf("HandleClose called again, with %v", err)
		return
	}
	r.closed <- err
	close(r.done)
}

func (r *recorder) waitClose(t testing.TB) error {
	t.Helper()
	return recv(t, r.closed, "HandleClose")
}

func (r *recorder) noFrames(t testing.TB) {
	t.Helper()
	select {
	case f := <-r.frames:
		t.Errorf("unexpected frame %q", f.Data)
	default:
	}
}

// harness runs an httptest server with a tiny Engine.IO-like router: the
// first GET of an unknown "sid" is Accepted, later requests with that sid go
// to its Conn.
type harness struct {
	t      *testing.T
	tr     *Transport
	srv    *httptest.Server
	client *http.Client
	params transport.Params
	// accept runs after Accept, before the first ServeHTTP. Default: queue
	// the open packet and Start a new recorder.
	accept func(sid string, c *Conn) *recorder
	// onFrame, when set before the handshake, becomes the onFrame of the
	// default accept's recorder.
	onFrame func(c *Conn, f transport.Frame) error

	mu    sync.Mutex
	conns map[string]*Conn
	recs  map[string]*recorder

	parked  chan *Conn // a GET is held
	waiting chan *Conn // a POST waits for Start
}

func newHarness(t *testing.T, opts *Options, p transport.Params) *harness {
	h := &harness{
		t:       t,
		tr:      New(opts),
		params:  p,
		conns:   map[string]*Conn{},
		recs:    map[string]*recorder{},
		parked:  make(chan *Conn, 1024),
		waiting: make(chan *Conn, 16),
	}
	h.tr.hooks = &testHooks{
		getParked:   func(c *Conn) { notify(h.parked, c) },
		postWaiting: func(c *Conn) { notify(h.waiting, c) },
	}
	h.accept = func(sid string, c *Conn) *recorder {
		require.NoError(t, c.Send(transport.TextFrame(`0{"sid":"`+sid+`"}`)))
		rec := newRecorder(t)
		if h.onFrame != nil {
			rec.onFrame = func(f transport.Frame) error { return h.onFrame(c, f) }
		}
		c.Start(rec)
		return rec
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.route))
	// The timeout turns a GET held by mistake into a failure, not a hang.
	h.client = &http.Client{Transport: &http.Transport{}, Timeout: waitTimeout}
	t.Cleanup(h.srv.Close) // runs last: held requests are over by then
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for sid, c := range h.conns {
			require.NoError(t, c.Close())
			if rec := h.recs[sid]; rec != nil {
				select {
				case <-rec.done:
				case <-time.After(waitTimeout):
					t.Errorf("session %s: HandleClose never called", sid)
				}
				assert.EqualValues(t, 1, rec.closes.Load(), "session %s: HandleClose calls", sid)
			}
		}
		h.client.CloseIdleConnections()
	})
	return h
}

// notify never blocks the Conn: tests that wait for an event read it in time.
func notify(ch chan *Conn, c *Conn) {
	select {
	case ch <- c:
	default:
	}
}

func (h *harness) route(w http.ResponseWriter, r *http.Request) {
	sid := r.URL.Query().Get("sid")
	h.mu.Lock()
	c := h.conns[sid]
	if c == nil {
		if r.Method != http.MethodGet {
			h.mu.Unlock()
			http.Error(w, "unknown sid", http.StatusBadRequest)
			return
		}
		tc, err := h.tr.Accept(w, r, h.params)
		if !assert.NoError(h.t, err) {
			h.mu.Unlock()
			return
		}
		c = tc.(*Conn)
		h.conns[sid] = c
		h.recs[sid] = h.accept(sid, c)
	}
	h.mu.Unlock()
	c.ServeHTTP(w, r)
}

func (h *harness) conn(sid string) (*Conn, *recorder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.conns[sid]
	require.NotNil(h.t, c, "no session %q", sid)
	return c, h.recs[sid]
}

type response struct {
	status      int
	contentType string
	body        string
	err         error
}

func (h *harness) do(ctx context.Context, method, sid string, body io.Reader) response {
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid, body)
	if err != nil {
		return response{err: err}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b), err: err}
}

func (h *harness) get(sid string) response {
	return h.do(context.Background(), http.MethodGet, sid, nil)
}

func (h *harness) post(sid, body string) response {
	return h.do(context.Background(), http.MethodPost, sid, strings.NewReader(body))
}

// goGet starts a GET in the background and waits until the Conn holds it.
func (h *harness) goGet(sid string) <-chan response {
	ch := make(chan response, 1)
	go func() { ch <- h.get(sid) }()
	recv(h.t, h.parked, "GET to be held")
	return ch
}

// handshake opens session sid and checks the open packet.
func (h *harness) handshake(sid string) (*Conn, *recorder) {
	h.t.Helper()
	res := h.get(sid)
	require.NoError(h.t, res.err)
	require.Equal(h.t, http.StatusOK, res.status, res.body)
	require.Equal(h.t, `0{"sid":"`+sid+`"}`, res.body)
	return h.conn(sid)
}
