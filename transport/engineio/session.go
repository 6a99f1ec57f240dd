package engineio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/transport"
)

// Session is one Engine.IO client session. It survives the move from
// polling to WebSocket. Its methods may be called from any goroutine.
type Session struct {
	srv *Server

	// info holds, in one string, the session id and what the API keeps of
	// the handshake request: the request URI, the remote address, the host,
	// and the header in compact form (see header.go). The offsets end each
	// part.
	info                            string
	idEnd, uriEnd, addrEnd, hostEnd uint32
	secure                          bool

	upgrading bool        // "3probe" sent, waiting for "5"; guarded by mu
	wsV3      bool        // frames on conn are revision 3 WebSocket frames; guarded by sendMu
	v3        *v3State    // nil for a revision 4 client; set before the session is shared
	hbList    uint8       // heartbeat list; guarded by srv.hb.mu
	pingLater bool        // a ping waits for the backlog to drain; guarded by sendMu
	closed    atomic.Bool // set once, with mu held
	created   time.Time

	h         SessionHandler // set once, deliverMu held, before the first delivery
	deliverMu sync.Mutex     // serialises calls into h

	// sendMu serialises writes so frames keep their order while the session
	// moves between transports; conn changes only with sendMu and mu held.
	sendMu sync.Mutex

	mu       sync.Mutex
	conn     transport.Conn
	probe    *probe // the WebSocket being upgraded to, if any
	closeErr error

	// Heartbeat state, guarded by srv.hb.mu.
	hbPrev, hbNext *Session
	hbDeadline     int64
	// pongDue is when the pong the session owes is overdue (srv.hb's clock),
	// 0 when it owes none; written with srv.hb.mu held, read without.
	pongDue atomic.Int64

	data  atomic.Pointer[any]          // application data
	hooks atomic.Pointer[sessionHooks] // nil until a hook is registered; see hooks.go
}

func newSession(srv *Server, conn transport.Conn, r *http.Request, id string) *Session {
	uri := "/"
	if r.URL != nil {
		uri = r.URL.RequestURI()
	}
	s := &Session{
		srv:     srv,
		secure:  r.TLS != nil,
		created: time.Now(),
		conn:    conn,
	}
	s.setInfo(id, uri, r.RemoteAddr, r.Host, r.Header)
	return s
}

// setInfo stores the id and the handshake's details in s.info, in one
// allocation.
func (s *Session) setInfo(id, uri, addr, host string, h http.Header) {
	n := len(id) + len(uri) + len(addr) + len(host)
	hn := headerLen(h)
	if uint64(n)+uint64(hn) > math.MaxUint32 {
		// Offsets are 32 bits; no HTTP server reads such a request.
		uri, addr, host, h, hn = "/", "", "", nil, 0
		n = len(id) + len(uri)
	}
	var b strings.Builder
	b.Grow(n + hn)
	b.WriteString(id)
	s.idEnd = uint32(b.Len())
	b.WriteString(uri)
	s.uriEnd = uint32(b.Len())
	b.WriteString(addr)
	s.addrEnd = uint32(b.Len())
	b.WriteString(host)
	s.hostEnd = uint32(b.Len())
	writeHeader(&b, h)
	s.info = b.String()
}

// Protocol is the revision of the Engine.IO protocol the client speaks: 4,
// or 3 for a client accepted by [Options.AllowEIO3] (socket.io-client 2.x).
func (s *Session) Protocol() int {
	if s.v3 != nil {
		return 3
	}
	return 4
}

// ID is the session id (the handshake's "sid").
func (s *Session) ID() string { return s.info[:s.idEnd] }

// Transport is the name of the transport the session currently uses.
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn.Name()
}

// Header returns the handshake request's header, every key and value of
// it. The session keeps the header in a compact form: each call builds a
// fresh copy, which the caller owns and may keep or modify. To read one
// value, [Session.HeaderValue] is cheaper.
func (s *Session) Header() http.Header { return decodeHeader(s.info[s.hostEnd:]) }

// HeaderValue returns the first value of the handshake request's header
// field name, which is matched ignoring case (like [http.Header.Get]), or ""
// if there is none. It does not allocate.
func (s *Session) HeaderValue(name string) string {
	return headerValue(s.info[s.hostEnd:], name)
}

// URL is the handshake request's URL (its Query holds the client's query
// parameters).
func (s *Session) URL() *url.URL {
	u, err := url.ParseRequestURI(s.RequestURI())
	if err != nil {
		return &url.URL{Path: "/"}
	}
	return u
}

// RequestURI is the handshake request's path and query, as sent.
func (s *Session) RequestURI() string { return s.info[s.idEnd:s.uriEnd] }

// RemoteAddr is the client's network address as the HTTP server saw it.
func (s *Session) RemoteAddr() string { return s.info[s.uriEnd:s.addrEnd] }

// Host is the handshake request's Host.
func (s *Session) Host() string { return s.info[s.addrEnd:s.hostEnd] }

// Secure reports whether the handshake came over TLS.
func (s *Session) Secure() bool { return s.secure }

// Created is when the handshake happened.
func (s *Session) Created() time.Time { return s.created }

// SetData stores application data on the session; Data returns it.
func (s *Session) SetData(v any) { s.data.Store(&v) }

// Data returns what SetData stored, or nil.
func (s *Session) Data() any {
	if p := s.data.Load(); p != nil {
		return *p
	}
	return nil
}

// Send queues message frames for the client, in order, without waiting
// for it. Text frames must be message packets (start with '4'); build
// them with [Text], [Binary] or [Message.Frame], or encode the '4' yourself
// to send the same bytes to many sessions. Frames are not copied: don't
// modify their Data afterwards.
//
// Send never waits: when the client's queue is at its bound (see
// [Options]), the session is closed (reason "transport error") and Send
// returns an error wrapping [transport.ErrQueueFull]. That suits broadcasts, which must not
// wait for a slow client; a producer that may wait uses [Session.SendWait].
func (s *Session) Send(frames ...transport.Frame) error {
	if !messages(frames) {
		return ErrNotMessage
	}
	s.sendMu.Lock()
	if s.closed.Load() {
		s.sendMu.Unlock()
		return ErrClosed
	}
	return s.sendLocked(frames)
}

// SendWait is Send for a producer that can wait for the client to read:
// while the transport reports the client's queue too full for producers
// that wait (see [transport.Writable]: short of the bound at which Send
// fails), it waits, without holding up other senders, until the queue has
// drained, ctx ends (the error then wraps ctx.Err()), or the session closes
// ([ErrClosed]); then it sends. A burst sent with SendWait therefore
// reaches a client that keeps reading whole and in order, and costs the
// server no more than the queue's bound. The wait follows the session when it moves from
// polling to WebSocket. ctx only bounds the wait: SendWait sends without
// looking at it when the queue has room.
//
// A transport whose connections do not report when they can be written
// (see [transport.Writable]) never makes SendWait wait: it is Send.
func (s *Session) SendWait(ctx context.Context, frames ...transport.Frame) error {
	if !messages(frames) {
		return ErrNotMessage
	}
	for {
		s.sendMu.Lock()
		if s.closed.Load() {
			s.sendMu.Unlock()
			return ErrClosed
		}
		wait := s.backlogLocked()
		if wait == nil {
			return s.sendLocked(frames)
		}
		s.sendMu.Unlock()
		if hook := testHookWaiting.Load(); hook != nil {
			(*hook)(s)
		}
		select {
		case <-wait:
			// Drained, or the Conn closed (the session is closing, or it
			// moved to another transport): look again.
		case <-ctx.Done():
			return fmt.Errorf("engineio: send: %w", ctx.Err())
		}
	}
}

// testHookWaiting, when set (by tests), is called each time SendWait is
// about to wait.
var testHookWaiting atomic.Pointer[func(*Session)]

// backlogLocked returns nil when the current transport would take a frame
// now, else a channel closed once it is worth looking again (the queue
// drained under its bound, or the Conn closed). sendMu is held.
func (s *Session) backlogLocked() <-chan struct{} {
	w, ok := s.conn.(transport.Writable)
	if !ok {
		return nil
	}
	wait := w.Writable()
	if wait == nil {
		return nil
	}
	select {
	case <-wait:
		// Closed already: the queue just drained, or the Conn closed, in
		// which case Send says so (waiting again would spin).
		return nil
	default:
		return wait
	}
}

// messages reports whether frames are all message packets.
func messages(frames []transport.Frame) bool {
	for _, f := range frames {
		if !f.Binary && (len(f.Data) == 0 || f.Data[0] != '4') {
			return false
		}
	}
	return true
}

// TrySend is Send for volatile messages: when the client is not ready for
// them (see [transport.TrySender]: a WebSocket still has frames to write, a
// polling client has no request waiting), they are dropped and it reports
// false, instead of the session being closed for falling behind. Dropped
// frames are counted in [Stats].Dropped.
func (s *Session) TrySend(frames ...transport.Frame) bool {
	if !messages(frames) {
		return false
	}
	s.sendMu.Lock()
	if s.closed.Load() {
		s.sendMu.Unlock()
		return false
	}
	if ts, ok := s.conn.(transport.TrySender); ok {
		out := frames
		if s.wsV3 {
			out = s.v3.wsFrames(frames)
		}
		sent := ts.TrySend(out...)
		s.sendMu.Unlock()
		if !sent {
			s.srv.counters.dropped.Add(int64(len(frames)))
			return false
		}
		s.srv.counters.sent(frames)
		s.sentHooks(frames)
		return true
	}
	// A transport that cannot refuse frames: send them unless its queue
	// is known to be too full.
	if s.backlogLocked() != nil {
		s.sendMu.Unlock()
		s.srv.counters.dropped.Add(int64(len(frames)))
		return false
	}
	return s.sendLocked(frames) == nil
}

// send writes frames that are not messages (a ping) on the current
// transport. When the queue is too full for producers that wait
// (producers using SendWait keep it there while a client catches up), the
// frames could overflow it and close the session of a client that reads:
// they are written once the backlog has drained instead, after it, as
// socket.io writes a ping after what is already buffered (its pong is due
// all the same).
func (s *Session) send(frames ...transport.Frame) error {
	s.sendMu.Lock()
	if s.closed.Load() {
		s.sendMu.Unlock()
		return ErrClosed
	}
	if wait := s.backlogLocked(); wait != nil {
		later := !s.pingLater
		s.pingLater = true
		s.sendMu.Unlock()
		if later {
			go s.sendAfter(wait, frames)
		}
		return nil
	}
	return s.sendLocked(frames)
}

// sendAfter sends frames once wait is closed (see send).
func (s *Session) sendAfter(wait <-chan struct{}, frames []transport.Frame) {
	<-wait
	s.sendMu.Lock()
	s.pingLater = false
	s.sendMu.Unlock()
	_ = s.send(frames...)
}

// sendLocked writes frames on the current transport; sendMu is held, and
// released before it returns.
func (s *Session) sendLocked(frames []transport.Frame) error {
	out := frames
	if s.wsV3 {
		out = s.v3.wsFrames(frames)
	}
	err := s.conn.Send(out...)
	s.sendMu.Unlock()
	c := &s.srv.counters
	c.sent(frames)
	if err == nil {
		s.sentHooks(frames)
	}
	if err != nil {
		if errors.Is(err, transport.ErrQueueFull) {
			c.overflows.Add(1)
			s.srv.opts.Logger.Warn("engineio: client too slow, disconnected", "sid", s.ID(), "remote", s.RemoteAddr(), "err", err)
		}
		s.close(fmt.Errorf("%w: %w", ErrTransportError, err), false)
		return fmt.Errorf("engineio: send: %w", err)
	}
	return nil
}

// timedOut reports whether the session owes a pong that is overdue, and
// then closes it for the ping timeout: the heartbeat timer may not have
// fired yet (it can run late on a loaded machine), but the deadline has
// passed, so what the client or the application does now must find the
// session gone.
func (s *Session) timedOut() bool {
	due := s.pongDue.Load()
	if due == 0 || s.srv.hb.now() < due {
		return false
	}
	s.close(ErrPingTimeout, true)
	return true
}

// Close closes the session; the application's HandleClose gets an error
// wrapping [ErrForcedClose]. The client is told: a WebSocket is closed, a
// polling client gets the close packet in answer to its pending GET, or to
// its next one if it comes within the polling transport's CloseTimeout.
func (s *Session) Close() error {
	s.close(ErrForcedClose, true)
	return nil
}

// statusCloser is a Conn that can close with a WebSocket status code.
type statusCloser interface {
	CloseWithStatus(code int, reason string) error
}

// close tears the session down once. With tell, a polling client is sent a
// close packet.
func (s *Session) close(reason error, tell bool) {
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return
	}
	s.closeErr = reason
	s.closed.Store(true)
	s.srv.counters.closed(reason)
	var probeWS transport.Conn
	if s.probe != nil {
		s.probe.timer.Stop()
		probeWS = s.probe.ws
		s.probe = nil
	}
	// A polling client closed by the server (Close, Shutdown) may be
	// between two GETs: its transport keeps the close packet for the next
	// one, which must find the session, as the reference server's orderly
	// close does (a session that timed out is gone at once, as there).
	// Retired under s.mu, so that the transport's end (connHandler's
	// HandleClose, which releases it) comes after.
	s.srv.retire(s, tell && s.conn.Name() == transport.NamePolling &&
		(errors.Is(reason, ErrForcedClose) || errors.Is(reason, ErrServerShutdown)))
	s.mu.Unlock()

	s.srv.hb.stop(s)

	// Wait for sends in flight, then close the transport outside the locks.
	s.sendMu.Lock()
	conn := s.conn
	s.sendMu.Unlock()
	if tell && conn.Name() == transport.NamePolling {
		_ = conn.Send(transport.Frame{Data: []byte{'1'}})
	}
	if cs, ok := conn.(statusCloser); ok && errors.Is(reason, ErrServerShutdown) {
		_ = cs.CloseWithStatus(1001, "server shutting down") // WebSocket 1001 Going Away
	} else {
		_ = conn.Close()
	}
	if probeWS != nil {
		_ = probeWS.Close()
	}

	// Tell the application after any delivery in progress; on a goroutine,
	// so a handler that closes its own session doesn't deadlock.
	go func() {
		s.deliverMu.Lock()
		h := s.h
		s.deliverMu.Unlock()
		if h != nil {
			h.HandleClose(reason)
		}
		s.srv.finished()
	}()
}

// deliver hands a message to the application. An error it returns is the
// session's close error, for the transport to close the connection with in
// its own way (WebSocket close 1002, polling 400 and a close packet) and
// then pass to HandleClose.
func (s *Session) deliver(m Message) error {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.closed.Load() {
		return nil
	}
	if err := s.h.HandleMessage(m); err != nil {
		return fmt.Errorf("%w: %w", ErrForcedClose, err)
	}
	return nil
}

// servePoll serves a polling request for this session.
func (s *Session) servePoll(w http.ResponseWriter, r *http.Request, name string) {
	s.mu.Lock()
	conn, upgrading, pr := s.conn, s.upgrading, s.probe
	s.mu.Unlock()
	if pr != nil && r.Method == http.MethodGet && name == transport.NamePolling {
		// A poll while a WebSocket is taking over: the client sends its
		// last packets there, so wait a little for the upgrade to finish
		// (then the poll is refused, as it would have been had it come a
		// moment later) before releasing the poll with a noop.
		conn, upgrading = s.awaitUpgrade(r.Context(), pr)
	}
	if name != transport.NamePolling || conn.Name() != transport.NamePolling {
		s.srv.refuse(w, r, CodeBadRequest, "name", "TRANSPORT_MISMATCH", "transport", name, "previousTransport", conn.Name())
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.srv.refuse(w, r, CodeBadRequest, "name", "BAD_METHOD", "method", r.Method)
		return
	}
	if upgrading && r.Method == http.MethodGet && !s.closed.Load() {
		// The client is moving to WebSocket: release its poll at once.
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		if s.v3 != nil {
			_, _ = w.Write(noopPayload3)
		} else {
			_, _ = w.Write([]byte{'6'})
		}
		return
	}
	h, ok := conn.(http.Handler)
	if !ok {
		s.srv.refuse(w, r, CodeBadRequest, "name", "TRANSPORT_MISMATCH", "transport", name, "previousTransport", conn.Name())
		return
	}
	h.ServeHTTP(w, r)
}

// awaitUpgrade waits until the upgrade under way (pr) ends, or for
// pollDuringUpgrade, and returns the session's transport and upgrading
// state then.
func (s *Session) awaitUpgrade(ctx context.Context, pr *probe) (transport.Conn, bool) {
	t := time.NewTimer(pollDuringUpgrade)
	defer t.Stop()
	select {
	case <-pr.done:
	case <-t.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn, s.upgrading
}

// upgrade takes a WebSocket request for this session and starts probing it.
func (s *Session) upgrade(w http.ResponseWriter, r *http.Request, t transport.Transport) {
	ws, err := t.Accept(w, r, s.srv.params)
	if err != nil {
		return
	}
	s.mu.Lock()
	ok := s.closeErr == nil && s.probe == nil && !s.srv.opts.DisableUpgrades &&
		s.conn.Name() == transport.NamePolling && s.srv.upgrades != "[]"
	if ok {
		s.probe = &probe{ws: ws, timer: time.AfterFunc(s.srv.opts.UpgradeTimeout, func() { s.abortUpgrade(ws) }), done: make(chan struct{}),
			b64: s.v3 != nil && r.URL.Query().Get("b64") != ""}
	}
	s.mu.Unlock()
	if !ok {
		// One WebSocket per session, and only from polling.
		_ = ws.Close()
		return
	}
	ws.Start(&connHandler{s: s, c: ws, wsV3: s.v3 != nil})
}

// probe is a WebSocket being upgraded to, and the deadline of the upgrade.
type probe struct {
	ws    transport.Conn
	timer *time.Timer
	done  chan struct{} // closed when the upgrade is finished or given up
	b64   bool          // a revision 3 client asked for base64 on this WebSocket
}

// pollDuringUpgrade bounds how long a GET that arrives while an upgrade is
// under way waits for it to finish before it is answered with a noop (the
// reference server releases such polls every 100 ms).
const pollDuringUpgrade = 100 * time.Millisecond

// probing reports whether c is the WebSocket being upgraded to; s.mu is held.
func (s *Session) probing(c transport.Conn) bool { return s.probe != nil && s.probe.ws == c }

// abortUpgrade gives up on probe ws; the session carries on polling.
func (s *Session) abortUpgrade(ws transport.Conn) {
	s.mu.Lock()
	if !s.probing(ws) {
		s.mu.Unlock()
		return
	}
	s.probe.timer.Stop()
	close(s.probe.done)
	s.probe = nil
	s.upgrading = false
	s.mu.Unlock()
	_ = ws.Close()
}

// finishUpgrade moves the session onto ws: frames the polling transport
// still holds go out first on ws, in order.
func (s *Session) finishUpgrade(ws transport.Conn) {
	s.sendMu.Lock()
	s.mu.Lock()
	if !s.probing(ws) || !s.upgrading || s.closeErr != nil {
		s.mu.Unlock()
		s.sendMu.Unlock()
		_ = ws.Close()
		return
	}
	old := s.conn
	s.conn = ws
	if s.v3 != nil {
		s.wsV3, s.v3.b64 = true, s.probe.b64
	}
	s.probe.timer.Stop()
	close(s.probe.done)
	s.probe = nil
	s.upgrading = false
	s.mu.Unlock()

	s.srv.counters.upgrades.Add(1)
	var unsent []transport.Frame
	if d, ok := old.(transport.Drainer); ok {
		unsent = d.Drain()
	} else {
		_ = old.Close()
	}
	// Noops were only there to release polls; the client must see its
	// messages first on the WebSocket.
	unsent = slices.DeleteFunc(unsent, func(f transport.Frame) bool {
		return !f.Binary && len(f.Data) == 1 && f.Data[0] == '6'
	})
	if len(unsent) > 0 && s.wsV3 {
		unsent = s.v3.wsFrames(unsent)
	}
	var err error
	if len(unsent) > 0 {
		err = ws.Send(unsent...)
	}
	s.sendMu.Unlock()
	if err != nil {
		s.close(fmt.Errorf("%w: %w", ErrTransportError, err), false)
		return
	}
	s.upgradeHooks(ws.Name())
}

// connHandler receives one transport connection's frames for a session.
type connHandler struct {
	s    *Session
	c    transport.Conn
	wsV3 bool // c carries revision 3 WebSocket frames
}

// HandleFrame implements [transport.Handler].
func (h *connHandler) HandleFrame(f transport.Frame) error {
	s := h.s
	s.srv.counters.packetsIn.Add(1)
	s.srv.counters.bytesIn.Add(int64(len(f.Data)))
	if s.timedOut() {
		return nil // a pong, or anything else, after the deadline is too late
	}
	s.mu.Lock()
	current, probing := s.conn == h.c, s.probing(h.c)
	s.mu.Unlock()
	switch {
	case probing:
		return s.probeFrame(h.c, f)
	case !current:
		return nil // a transport the session has left
	}
	if h.wsV3 {
		var err error
		if f, err = decodeWS3(f); err != nil {
			return err
		}
	}
	s.receivedHooks(f)
	if f.Binary {
		return s.deliver(Message{Binary: true, Data: f.Data})
	}
	if len(f.Data) == 0 {
		return fmt.Errorf("%w: empty packet", ErrParseError)
	}
	switch f.Data[0] {
	case '4':
		return s.deliver(Message{Data: f.Data[1:]})
	case '3':
		if s.v3 != nil {
			return fmt.Errorf("%w: invalid heartbeat direction", ErrTransportError)
		}
		s.srv.hb.pong(s)
	case '1':
		s.close(ErrTransportClose, false)
	case '6':
	case '2':
		if s.v3 == nil {
			return fmt.Errorf("%w: invalid heartbeat direction", ErrTransportError)
		}
		// Revision 3: the client pings, the server answers.
		s.srv.hb.clientPing(s)
		_ = s.send(pongFrames...)
	default:
		return fmt.Errorf("%w: invalid packet type %q", ErrParseError, f.Data[0])
	}
	return nil
}

// probeFrame handles a frame on a WebSocket being upgraded to.
func (s *Session) probeFrame(ws transport.Conn, f transport.Frame) error {
	switch {
	case !f.Binary && string(f.Data) == "2probe":
		s.mu.Lock()
		polling := s.conn
		s.upgrading = true
		s.mu.Unlock()
		if err := ws.Send(transport.Frame{Data: []byte("3probe")}); err != nil {
			s.abortUpgrade(ws)
			return nil
		}
		// Release a pending poll so the client can pause polling. A queue
		// too full holds no poll (a poll takes what is queued), and
		// the noop would overflow it.
		s.sendMu.Lock()
		if s.conn == polling && s.backlogLocked() == nil {
			_ = polling.Send(transport.Frame{Data: []byte{'6'}})
		}
		s.sendMu.Unlock()
		return nil
	case !f.Binary && string(f.Data) == "5":
		s.finishUpgrade(ws)
		return nil
	default:
		s.abortUpgrade(ws)
		return fmt.Errorf("engineio: unexpected packet during upgrade")
	}
}

// HandleClose implements [transport.Handler].
func (h *connHandler) HandleClose(err error) {
	s := h.s
	s.mu.Lock()
	current, probing := s.conn == h.c, s.probing(h.c)
	s.mu.Unlock()
	switch {
	case probing:
		s.abortUpgrade(h.c)
	case current:
		s.close(closeError(err), false)
		s.srv.release(s)
	}
}
