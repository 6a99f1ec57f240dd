package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/hub"
)

// optionsHub is the Socket.IO server at /options/, for the interop tests of
// the hub's Engine.IO options: a "sticky" session cookie, session ids from
// GenerateID ("custom-N", or the handshake's "id" query parameter as
// given, so that tests can ask for an invalid or duplicate one), the
// client bundle from clientDist (when set), and refusals recorded by
// OnConnectionError. Its state is read over HTTP under /options-state/
// (see optionsState).
type optionsHub struct {
	*hub.Server
	state *optionsState
}

func newOptions(logger *slog.Logger, clientDist string) *optionsHub {
	st := &optionsState{changed: make(chan struct{}), cookies: make(map[string][]string)}
	o := suiteOptions(logger)
	opts := &hub.Options{
		Path:           "/options/",
		PingInterval:   o.PingInterval,
		PingTimeout:    o.PingTimeout,
		AllowedOrigins: o.AllowedOrigins,
		Cookie:         &hub.Cookie{Name: "sticky"},
		GenerateID: func(r *http.Request) (string, error) {
			if id, ok := r.URL.Query()["id"]; ok {
				return id[0], nil
			}
			return fmt.Sprintf("custom-%d", st.ids.Add(1)), nil
		},
		OnConnectionError: st.record,
		Logger:            logger,
	}
	if clientDist != "" {
		opts.ClientFiles = os.DirFS(clientDist)
	}
	h := hub.New(opts)
	h.OnConnection(func(s *hub.Socket) {
		s.On("ping-server", func(e *hub.Event) {
			if e.Ack != nil {
				_ = e.Ack("pong")
			}
		})
	})
	return &optionsHub{Server: h, state: st}
}

// ServeHTTP serves the hub, noting the Cookie header of every request of
// an open session.
func (h *optionsHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sid := r.URL.Query().Get("sid"); sid != "" {
		h.state.noteCookie(sid, r.Header.Get("Cookie"))
	}
	h.Server.ServeHTTP(w, r)
}

// refusal is a ConnectionError as JSON.
type refusal struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Context map[string]any `json:"context"`
	Method  string         `json:"method"`
	URL     string         `json:"url"`
}

// optionsState is what the /options/ hub saw.
type optionsState struct {
	ids atomic.Int64

	mu       sync.Mutex
	refusals []refusal
	changed  chan struct{}       // closed and replaced on each refusal
	cookies  map[string][]string // Cookie headers by sid
}

// Bounds on what is kept: the server runs for the whole interop test.
const (
	maxRefusals = 1000
	maxCookies  = 1000
)

func (st *optionsState) record(e *hub.ConnectionError) {
	ref := refusal{Code: int(e.Code), Message: e.Message, Context: map[string]any{}, Method: e.Request.Method, URL: e.Request.URL.String()}
	for k, v := range e.Context {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		ref.Context[k] = v
	}
	st.mu.Lock()
	if len(st.refusals) < maxRefusals {
		st.refusals = append(st.refusals, ref)
	}
	close(st.changed)
	st.changed = make(chan struct{})
	st.mu.Unlock()
}

func (st *optionsState) noteCookie(sid, cookie string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.cookies[sid]; ok || len(st.cookies) < maxCookies {
		st.cookies[sid] = append(st.cookies[sid], cookie)
	}
}

// ServeHTTP answers
//
//	GET /options-state/refusal?marker=M: the first refusal whose URL holds
//	  M, waiting for it up to 5 s (404 after that);
//	GET /options-state/cookies?sid=S: the Cookie headers of S's requests.
func (st *optionsState) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	switch r.URL.Path {
	case "/options-state/refusal":
		marker := q.Get("marker")
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		for {
			st.mu.Lock()
			changed := st.changed
			for _, ref := range st.refusals {
				if marker != "" && strings.Contains(ref.URL, marker) {
					st.mu.Unlock()
					_ = json.NewEncoder(w).Encode(ref)
					return
				}
			}
			st.mu.Unlock()
			select {
			case <-changed:
			case <-ctx.Done():
				http.Error(w, `{"error":"no such refusal"}`, http.StatusNotFound)
				return
			}
		}
	case "/options-state/cookies":
		st.mu.Lock()
		cookies := append([]string{}, st.cookies[q.Get("sid")]...)
		st.mu.Unlock()
		_ = json.NewEncoder(w).Encode(cookies)
	default:
		http.NotFound(w, r)
	}
}
