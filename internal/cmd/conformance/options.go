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
	"github.com/go-realtime/realtime/namespace"
)

// optionsHub is the Socket.IO server at /options/, for the interop tests of
// the hub's Engine.IO options: a "sticky" session cookie, session ids from
// GenerateID ("custom-N", or the handshake's "id" query parameter as
// given, so that tests can ask for an invalid or duplicate one), the
// client bundle from clientDist (when set), and refusals recorded by
// OnConnectionError, and HTTP compression of polling responses (on, as by
// default; the event "big" (size, compress) answers with an event "big"
// holding a string of size characters, sent with Compress(compress)). Its
// state is read over HTTP under /options-state/ (see optionsState).
type optionsHub struct {
	*hub.Server
	state *optionsState
}

func newOptions(logger *slog.Logger, clientDist string) *optionsHub {
	st := &optionsState{changed: make(chan struct{}), cookies: make(map[string][]string), encodings: make(map[string][]encodedResponse)}
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
	h.OnConnection(func(s *namespace.Socket) {
		s.On("ping-server", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack("pong")
			}
		})
		s.On("big", func(e *namespace.Event) {
			var size int
			var compress bool
			if e.Args.Scan(&size, &compress) != nil {
				return
			}
			size = min(max(size, 0), 1<<20)
			_ = s.Compress(compress).Emit("big", strings.Repeat("realtime ", size/9+1)[:size])
		})
	})
	return &optionsHub{Server: h, state: st}
}

// ServeHTTP serves the hub, noting the Cookie header of every request of
// an open session, and how the answers to its polling GETs were encoded.
func (h *optionsHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sid := r.URL.Query().Get("sid"); sid != "" {
		h.state.noteCookie(sid, r.Header.Get("Cookie"))
		if r.Method == http.MethodGet && r.URL.Query().Get("transport") == "polling" {
			w = &encodingRecorder{ResponseWriter: w, st: h.state, sid: sid, acceptEncoding: r.Header.Get("Accept-Encoding")}
		}
	}
	h.Server.ServeHTTP(w, r)
}

// encodedResponse describes the answer to a polling GET.
type encodedResponse struct {
	AcceptEncoding  string `json:"acceptEncoding"`  // of the request
	ContentEncoding string `json:"contentEncoding"` // of the response
	ContentLength   string `json:"contentLength"`
}

// encodingRecorder notes the headers of a polling GET's answer when they
// are written, before the client can read the body.
type encodingRecorder struct {
	http.ResponseWriter
	st             *optionsState
	sid            string
	acceptEncoding string
}

func (e *encodingRecorder) WriteHeader(code int) {
	hdr := e.Header()
	e.st.noteEncoding(e.sid, encodedResponse{AcceptEncoding: e.acceptEncoding, ContentEncoding: hdr.Get("Content-Encoding"), ContentLength: hdr.Get("Content-Length")})
	e.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (the polling
// transport sets write deadlines).
func (e *encodingRecorder) Unwrap() http.ResponseWriter { return e.ResponseWriter }

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
	// encodings: the polling GET answers by sid, the last maxEncodings.
	encodings map[string][]encodedResponse
}

// Bounds on what is kept: the server runs for the whole interop test.
const (
	maxRefusals = 1000
	maxCookies  = 1000
	// maxEncodings bounds the answers kept per session and the sessions.
	maxEncodings = 100
)

func (st *optionsState) noteEncoding(sid string, e encodedResponse) {
	st.mu.Lock()
	defer st.mu.Unlock()
	list, ok := st.encodings[sid]
	if !ok && len(st.encodings) >= maxCookies {
		return
	}
	if len(list) >= maxEncodings {
		list = list[1:]
	}
	st.encodings[sid] = append(list, e)
}

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
//	GET /options-state/cookies?sid=S: the Cookie headers of S's requests;
//	GET /options-state/encodings?sid=S: the Accept-Encoding of S's polling
//	  GETs and the Content-Encoding and Content-Length of their answers
//	  (encodedResponse), the last 100.
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
	case "/options-state/encodings":
		st.mu.Lock()
		list := append([]encodedResponse{}, st.encodings[q.Get("sid")]...)
		st.mu.Unlock()
		_ = json.NewEncoder(w).Encode(list)
	case "/options-state/cookies":
		st.mu.Lock()
		cookies := append([]string{}, st.cookies[q.Get("sid")]...)
		st.mu.Unlock()
		_ = json.NewEncoder(w).Encode(cookies)
	default:
		http.NotFound(w, r)
	}
}
