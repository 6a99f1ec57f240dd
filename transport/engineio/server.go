package engineio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/go-realtime/realtime/transport"
)

// Handler is what the application gives the [Server]: Open is called for
// every new session, before any of its messages, and returns the handler for
// that session's messages.
type Handler interface {
	Open(s *Session) SessionHandler
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(s *Session) SessionHandler

// Open calls f(s).
func (f HandlerFunc) Open(s *Session) SessionHandler { return f(s) }

// SessionHandler receives one session's messages. Its methods are called
// one at a time, in the order the client sent the messages, and
// HandleClose exactly once, last. Don't block in them: start a goroutine for
// slow work.
type SessionHandler interface {
	// HandleMessage is called for each message. The handler owns m.Data.
	// Returning an error closes the session (reason "forced close", as when
	// socket.io cannot decode a packet; the close error wraps it).
	HandleMessage(m Message) error
	// HandleClose is called once the session has closed; Reason(err) says why.
	HandleClose(err error)
}

// SessionFuncs adapts functions to a [SessionHandler]; nil fields are no-ops.
type SessionFuncs struct {
	Message func(m Message) error
	Close   func(err error)
}

// HandleMessage calls f.Message.
func (f SessionFuncs) HandleMessage(m Message) error {
	if f.Message == nil {
		return nil
	}
	return f.Message(m)
}

// HandleClose calls f.Close.
func (f SessionFuncs) HandleClose(err error) {
	if f.Close != nil {
		f.Close(err)
	}
}

// Message is one Engine.IO message: text (UTF-8) or binary.
type Message struct {
	Binary bool
	Data   []byte
}

// Frame encodes m as a frame ready for [Session.Send].
func (m Message) Frame() transport.Frame {
	if m.Binary {
		return transport.BinaryFrame(m.Data)
	}
	return Text(m.Data)
}

// Text returns a text message frame carrying data ('4' followed by data).
func Text(data []byte) transport.Frame {
	b := make([]byte, 1+len(data))
	b[0] = '4'
	copy(b[1:], data)
	return transport.Frame{Data: b}
}

// Binary returns a binary message frame carrying data (not copied).
func Binary(data []byte) transport.Frame { return transport.BinaryFrame(data) }

// Server is an Engine.IO v4 server. It is an [http.Handler]; create it with
// [NewServer].
type Server struct {
	opts       Options
	handler    Handler
	transports map[string]transport.Transport
	params     transport.Params
	upgrades   string // JSON array announced to polling sessions
	hb         *heartbeats

	counters  counters
	refusals  refusals
	cookie    *http.Cookie // the session cookie's attributes, or nil
	errorHook *errorHook   // calls Options.OnConnectionError, or nil

	mu       sync.Mutex
	sessions map[string]*Session
	// closing holds closed polling sessions whose transport keeps their
	// last frames (the close packet) for the client's next GET: that GET
	// must still find them.
	closing  map[string]*Session
	pending  map[string]struct{} // ids reserved by handshakes under way
	live     int                 // sessions whose close has not been fully handled
	drained  chan struct{}       // closed when live reaches 0 during shutdown
	shutdown bool
}

// NewServer returns a server that hands new sessions to h. A nil opts means
// defaults.
func NewServer(h Handler, opts *Options) *Server {
	o := opts.withDefaults()
	s := &Server{
		opts:       o,
		handler:    h,
		transports: make(map[string]transport.Transport, len(o.Transports)),
		// SendsFirst: the open packet (or, for an upgrade, Start)
		// follows Accept at once.
		params:   transport.Params{MaxPayload: o.MaxPayload, MaxQueueBytes: o.MaxQueueBytes, SendsFirst: true},
		sessions: make(map[string]*Session),
		closing:  make(map[string]*Session),
		pending:  make(map[string]struct{}),
		upgrades: "[]",
		hb:       newHeartbeats(o.PingInterval, o.PingTimeout),
		refusals: refusals{now: time.Now},
		cookie:   cookieTemplate(o.Cookie, o.Logger),
	}
	if o.OnConnectionError != nil {
		s.errorHook = &errorHook{fn: o.OnConnectionError, logger: o.Logger}
	}
	for _, t := range o.Transports {
		s.transports[t.Name()] = t
	}
	if _, ok := s.transports[transport.NameWebSocket]; ok && !o.DisableUpgrades {
		if _, ok := s.transports[transport.NamePolling]; ok {
			s.upgrades = `["websocket"]`
		}
	}
	return s
}

// Len reports the number of open sessions.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Session returns the open session with the given id, or nil. A session
// whose pong is overdue is closed (ping timeout) rather than returned.
func (s *Server) Session(id string) *Session {
	s.mu.Lock()
	sess := s.sessions[id]
	s.mu.Unlock()
	if sess == nil || sess.timedOut() {
		return nil
	}
	return sess
}

// ServeHTTP serves the Engine.IO protocol: handshakes, polling requests
// and WebSocket upgrades.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	verdict := s.checkOrigin(r)
	if verdict == originRefused {
		s.refuseOrigin(w, r)
		return
	}
	if r.Method == http.MethodOptions {
		preflight(w, r, verdict)
		return
	}
	setCORS(w.Header(), r, verdict)

	q := r.URL.Query()
	name := q.Get("transport")
	t, ok := s.transports[name]
	if !ok {
		s.refuse(w, r, CodeUnknownTransport, "transport", name)
		return
	}
	upgrade := isUpgrade(r)
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			s.refuse(w, r, CodeBadHandshakeMethod, "method", r.Method)
			return
		}
		eio3 := false
		if eio := q.Get("EIO"); eio != "4" {
			if eio != "3" || !s.opts.AllowEIO3 {
				s.refuse(w, r, CodeUnsupportedProtocolVersion, "protocol", eio)
				return
			}
			if q.Has("j") {
				s.refuse(w, r, CodeBadRequest, "name", "JSONP_NOT_SUPPORTED")
				return
			}
			eio3 = true
		}
		if name == transport.NameWebSocket && !upgrade {
			s.refuse(w, r, CodeBadRequest, "name", "TRANSPORT_HANDSHAKE_ERROR")
			return
		}
		s.handshake(w, r, t, eio3, q.Get("b64") != "")
		return
	}

	sess := s.lookup(sid)
	if sess == nil || sess.timedOut() { // a request after the pong deadline finds the session gone
		s.refuse(w, r, CodeUnknownSID, "sid", sid)
		return
	}
	if name == transport.NameWebSocket && upgrade {
		sess.upgrade(w, r, t)
		return
	}
	sess.servePoll(w, r, name)
}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		if containsToken(v, "websocket") {
			return true
		}
	}
	return false
}

func containsToken(v, token string) bool {
	for len(v) > 0 {
		var part string
		part, v, _ = cutByte(v, ',')
		if equalFoldTrim(part, token) {
			return true
		}
	}
	return false
}

func cutByte(s string, c byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func equalFoldTrim(s, t string) bool {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a := s[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != t[i] {
			return false
		}
	}
	return true
}

// handshake opens a new session over t; eio3 for a revision 3 client, b64
// when it asked for binary data as base64.
func (s *Server) handshake(w http.ResponseWriter, r *http.Request, t transport.Transport, eio3, b64 bool) {
	s.mu.Lock()
	down, full := s.shutdown, s.fullLocked()
	s.mu.Unlock()
	switch {
	case down:
		s.refuseShutdown(w, r)
		return
	case full:
		s.refuseFull(w, r)
		return
	}
	id, err := s.reserveID(r)
	if err != nil {
		s.opts.Logger.Debug("engineio: handshake refused: no session id", "err", err)
		s.refuse(w, r, CodeBadRequest, "name", "ID_GENERATION_ERROR", "error", err)
		return
	}
	// Before Accept: the WebSocket transport writes the cookie into its
	// handshake response.
	s.setCookie(w.Header(), id)
	params := s.params
	params.EIO3, params.Base64 = eio3, eio3 && b64
	conn, err := t.Accept(w, r, params)
	if err != nil {
		// The transport has answered the request.
		s.unreserve(id)
		s.opts.Logger.Debug("engineio: accept failed", "transport", t.Name(), "err", err)
		return
	}
	var v3 *v3State
	if eio3 {
		v3 = &v3State{b64: b64}
	}
	sess := s.open(conn, r, id, v3)
	if sess == nil {
		if conn.Name() != transport.NameWebSocket {
			// A polling request is still unanswered.
			w.Header().Del("Set-Cookie")
			s.mu.Lock()
			down := s.shutdown
			s.mu.Unlock()
			if down {
				s.refuseShutdown(w, r)
			} else {
				s.refuseFull(w, r)
			}
		}
		return
	}
	if h, ok := conn.(http.Handler); ok && conn.Name() != transport.NameWebSocket {
		// Polling: this request receives the open packet.
		h.ServeHTTP(w, r)
	}
}

// ServeConn runs a new session over an already established, message-based
// connection (for example one end of a transport/memory pipe), as if a
// WebSocket handshake had just completed. r describes the handshake
// (headers, query, remote address) and may be nil. It returns the session,
// or nil if the server refuses it (shutting down, full, or no id from
// Options.GenerateID): conn is then closed.
func (s *Server) ServeConn(conn transport.Conn, r *http.Request) *Session {
	if r == nil {
		r = &http.Request{Method: http.MethodGet, Header: http.Header{}, URL: &url.URL{Path: "/"}}
	}
	id, err := s.reserveID(r)
	if err != nil {
		s.opts.Logger.Debug("engineio: handshake refused: no session id", "err", err)
		s.reportRefusal(r, CodeBadRequest, "name", "ID_GENERATION_ERROR", "error", err)
		_ = conn.Close()
		return nil
	}
	return s.open(conn, r, id, nil)
}

// open registers a session with the reserved id on conn, queues the open
// packet, tells the application, and starts the connection. v3 is nil for
// a revision 4 client.
func (s *Server) open(conn transport.Conn, r *http.Request, id string, v3 *v3State) *Session {
	sess := newSession(s, conn, r, id)
	if v3 != nil {
		sess.v3 = v3
		sess.wsV3 = conn.Name() != transport.NamePolling
	}
	// Held until the application has its handler: a close from now on (the
	// session is reachable once registered) tells the handler after Open.
	sess.deliverMu.Lock()
	s.mu.Lock()
	delete(s.pending, id)
	if down := s.shutdown; down || s.fullLocked() {
		s.mu.Unlock()
		sess.deliverMu.Unlock()
		if c, ok := conn.(statusCloser); ok {
			_ = c.CloseWithStatus(1013, "try again later") // WebSocket: 1013 Try Again Later
			s.reportFullOrDown(r, down)
		} else {
			_ = conn.Close()
			if conn.Name() != transport.NamePolling {
				s.reportFullOrDown(r, down) // a polling handshake's answer reports it
			}
		}
		return nil
	}
	s.sessions[id] = sess
	s.live++
	s.mu.Unlock()
	s.counters.opened.Add(1)

	upgrades := "[]"
	if conn.Name() == transport.NamePolling {
		upgrades = s.upgrades
	}
	open := make([]byte, 0, 128)
	open = append(open, `0{"sid":"`...)
	open = append(open, sess.ID()...)
	open = append(open, `","upgrades":`...)
	open = append(open, upgrades...)
	open = append(open, `,"pingInterval":`...)
	open = strconv.AppendInt(open, s.opts.PingInterval.Milliseconds(), 10)
	open = append(open, `,"pingTimeout":`...)
	open = strconv.AppendInt(open, s.opts.PingTimeout.Milliseconds(), 10)
	open = append(open, `,"maxPayload":`...)
	open = strconv.AppendInt(open, s.opts.MaxPayload, 10)
	open = append(open, '}')

	s.hb.start(sess)
	if err := conn.Send(transport.Frame{Data: open}); err != nil {
		sess.deliverMu.Unlock() // no handler: nobody to tell
		sess.close(fmt.Errorf("%w: %w", ErrTransportError, err), false)
		s.release(sess) // not started: conn will not report its end
		return nil
	}
	if sess.hooks.Load() != nil { // none yet, unless found by Server.Session
		sess.sentHooks([]transport.Frame{{Data: open}})
	}
	h := s.handler.Open(sess)
	if h == nil {
		h = SessionFuncs{}
	}
	sess.h = h
	sess.deliverMu.Unlock()
	conn.Start(&connHandler{s: sess, c: conn, wsV3: sess.wsV3})
	return sess
}

// fullLocked reports whether MaxConnections sessions are open.
func (s *Server) fullLocked() bool {
	return s.opts.MaxConnections > 0 && len(s.sessions) >= s.opts.MaxConnections
}

// refuseFull answers a handshake when the server is full.
func (s *Server) refuseFull(w http.ResponseWriter, r *http.Request) {
	s.counters.refused.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"code":3,"message":"Server full: too many connections"}`))
	s.reportRefusal(r, CodeBadRequest, "name", "SERVER_FULL")
}

// refuseShutdown answers a handshake when the server is shutting down.
func (s *Server) refuseShutdown(w http.ResponseWriter, r *http.Request) {
	s.counters.refused.Add(1)
	http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
	s.reportRefusal(r, CodeBadRequest, "name", "SERVER_SHUTTING_DOWN")
}

// reportFullOrDown counts and reports a handshake refused by open, which
// has closed its connection.
func (s *Server) reportFullOrDown(r *http.Request, down bool) {
	s.counters.refused.Add(1)
	name := "SERVER_FULL"
	if down {
		name = "SERVER_SHUTTING_DOWN"
	}
	s.reportRefusal(r, CodeBadRequest, "name", name)
}

// lookup returns the session with the given id, open or closing.
func (s *Server) lookup(id string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[id]; sess != nil {
		return sess
	}
	return s.closing[id]
}

// retire takes a closed session out of the open ones. With linger, its
// transport still has frames for the client: the session stays reachable by
// its id, and counts as live, until release.
func (s *Server) retire(sess *Session, linger bool) {
	s.mu.Lock()
	if s.sessions[sess.ID()] == sess {
		delete(s.sessions, sess.ID())
		if linger {
			s.closing[sess.ID()] = sess
			s.live++
		}
	}
	s.mu.Unlock()
}

// release forgets a retired session once its transport has ended.
func (s *Server) release(sess *Session) {
	s.mu.Lock()
	lingered := s.closing[sess.ID()] == sess
	if lingered {
		delete(s.closing, sess.ID())
	}
	s.mu.Unlock()
	if lingered {
		s.finished()
	}
}

// finished is called once a session's close has been handled completely.
func (s *Server) finished() {
	s.mu.Lock()
	s.live--
	if s.live == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
	s.mu.Unlock()
}

// Shutdown stops accepting sessions, closes every open session (clients are
// told, so they can reconnect elsewhere), and waits until the application
// has handled every close and every polling client has been answered, or
// until ctx ends. A polling client between two requests gets the close
// packet in answer to its next GET, if it comes within the polling
// transport's CloseTimeout; meanwhile the http.Server must still serve.
func (s *Server) Shutdown(ctx context.Context) error {
	drained := s.startShutdown()
	if drained == nil {
		return nil
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("engineio: shutdown: %w", ctx.Err())
	}
}

// StartShutdown is Shutdown without the waiting: it stops accepting
// sessions, closes every open one and returns. It fits
// [http.Server.RegisterOnShutdown], so that the http.Server's Shutdown
// answers the polling requests it would otherwise wait for; call Shutdown
// afterwards to wait for the end.
func (s *Server) StartShutdown() { s.startShutdown() }

// startShutdown starts a shutdown; it returns the channel closed once every
// session is done, or nil when none is left.
func (s *Server) startShutdown() chan struct{} {
	s.mu.Lock()
	s.shutdown = true
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	var drained chan struct{}
	if s.live > 0 {
		if s.drained == nil {
			s.drained = make(chan struct{})
		}
		drained = s.drained
	}
	s.mu.Unlock()

	for _, sess := range sessions {
		sess.close(ErrServerShutdown, true)
	}
	return drained
}
