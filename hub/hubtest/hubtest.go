// Package hubtest runs Socket.IO clients against a hub in the same process,
// over the in-memory transport, in the spirit of net/http/httptest. The
// clients speak the real protocol through the real codec: what works here
// works with socket.io-client over the network.
//
// Call [Dial] to open a connection to a hub, [Conn.Connect] to join a
// namespace, then emit and await events:
//
//	h := hub.New(nil)
//	h.OnConnection(func(s *namespace.Socket) { s.Emit("hello", "world") })
//	conn, _ := hubtest.Dial(ctx, h, nil)
//	sock, _ := conn.Connect(ctx, "/", nil)
//	ev, _ := sock.Expect(ctx, "hello")
//
// What a test can rely on, so that it needs no sleeps:
//   - Connect returns once the namespace's connection handlers have run:
//     rooms they join are joined, and events they emit are on their way.
//   - [Conn.Sync] returns once the server has handled everything the
//     connection sent before it (the handlers of emitted events have
//     returned): after s.Emit("join", "room") and c.Sync(ctx), a broadcast
//     to "room" reaches s.
//   - [Socket.Expect], [Socket.ExpectMatch] and [Socket.ExpectNone] wait for
//     an event, or for the absence of one, on what the socket received.
package hubtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
)

// nsImpl parses the events and acks the clients receive as the hub's
// sockets do.
var nsImpl = wiring.Get[*namespace.Namespace, namespace.Handshake, namespace.Args, *namespace.Recovery]()

// Errors of the test client.
var (
	// ErrClosed: the connection or socket is closed.
	ErrClosed = errors.New("hubtest: closed")
	// ErrProtocol: the server sent something the client did not expect.
	ErrProtocol = errors.New("hubtest: protocol error")
)

// DialOptions describe the simulated handshake request. Zero means a bare
// GET from 127.0.0.1.
type DialOptions struct {
	Header     http.Header
	Query      url.Values
	RemoteAddr string
	// Parser is the client's parser; it must be the hub's (hub.Options.Parser).
	// Default hub.JSONParser.
	Parser hub.Parser
}

// Conn is a client connection (one Engine.IO session) to a hub.
type Conn struct {
	pipe   *memory.Conn
	sid    string
	parser hub.Parser

	sent     atomic.Uint64 // frames sent to the server
	handled  atomic.Uint64 // frames the server has handled
	progress chan struct{} // closed and replaced when handled grows; under mu

	opened chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	decoder  socketio.Decoder
	sockets  map[string]*Socket // connected or connecting, by namespace
	closeErr error
}

// Dial connects a new client to h and waits for the Engine.IO handshake.
func Dial(ctx context.Context, h hub.Hub, opts *DialOptions) (*Conn, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	q := url.Values{"EIO": {"4"}, "transport": {"websocket"}}
	for k, v := range o.Query {
		q[k] = v
	}
	r := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: "/socket.io/", RawQuery: q.Encode()},
		Header:     o.Header,
		RemoteAddr: o.RemoteAddr,
		Host:       "hubtest",
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:1"
	}
	serverEnd, clientEnd := memory.Pipe(transport.Params{})
	c := &Conn{pipe: clientEnd, parser: o.Parser, opened: make(chan struct{}), done: make(chan struct{}), sockets: make(map[string]*Socket),
		progress: make(chan struct{})}
	clientEnd.Start(c)
	h.ServeConn(serverSide{serverEnd, c}, r)
	select {
	case <-c.opened:
		return c, nil
	case <-c.done:
		return nil, c.err()
	case <-ctx.Done():
		_ = c.Close()
		return nil, fmt.Errorf("hubtest: dial: %w", ctx.Err())
	}
}

// SID is the Engine.IO session id.
func (c *Conn) SID() string { return c.sid }

// Done is closed when the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection closed (nil while open).
func (c *Conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// Close closes the connection (like a client going away).
func (c *Conn) Close() error { return c.pipe.Close() }

// Send writes raw Engine.IO frames, for tests of malformed input.
func (c *Conn) Send(frames ...transport.Frame) error { return c.send(frames...) }

// sendPacket encodes p with the connection's parser and sends it.
func (c *Conn) sendPacket(p *socketio.Packet) error {
	if c.parser != hub.MsgpackParser {
		return c.send(socketio.EncodeFrames(p)...)
	}
	frames, err := msgpack.EncodeFrames(p)
	if err != nil {
		return err
	}
	return c.send(frames...)
}

// send writes frames to the server, counting them for Sync.
func (c *Conn) send(frames ...transport.Frame) error {
	c.sent.Add(uint64(len(frames)))
	return c.pipe.Send(frames...)
}

// Sync waits until the server has handled every frame this connection sent
// before the call: the handlers of the events emitted so far have returned
// (and what they did, such as joining rooms, is done). It fails if the
// connection closes or ctx ends first.
//
// A handler that waits for this client (for an ack the test would send
// after Sync returns, say) makes Sync wait until ctx ends.
func (c *Conn) Sync(ctx context.Context) error {
	target := c.sent.Load()
	for {
		c.mu.Lock()
		progress := c.progress
		c.mu.Unlock()
		if c.handled.Load() >= target {
			return nil
		}
		select {
		case <-progress:
		case <-c.done:
			return fmt.Errorf("%w: %v", ErrClosed, c.err())
		case <-ctx.Done():
			return fmt.Errorf("hubtest: sync: %w", ctx.Err())
		}
	}
}

// serverSide is the server's end of the pipe, counting the frames the
// server has handled.
type serverSide struct {
	*memory.Conn
	c *Conn
}

func (s serverSide) Start(h transport.Handler) { s.Conn.Start(countingHandler{h, s.c}) }

type countingHandler struct {
	transport.Handler
	c *Conn
}

func (h countingHandler) HandleFrame(f transport.Frame) error {
	err := h.Handler.HandleFrame(f)
	c := h.c
	c.mu.Lock()
	c.handled.Add(1)
	close(c.progress)
	c.progress = make(chan struct{})
	c.mu.Unlock()
	return err
}

// Connect joins namespace nsp with the given auth payload (nil for none)
// and waits for the server's answer and, when connected, for the
// namespace's connection handlers to return (see Sync). A refusal returns a
// *namespace.ConnectError with the server's message and data (as JSON).
func (c *Conn) Connect(ctx context.Context, nsp string, auth any) (*Socket, error) {
	return c.connectSocket(ctx, nsp, auth, "")
}

func (c *Conn) connectSocket(ctx context.Context, nsp string, auth any, prevPID string) (*Socket, error) {
	if nsp == "" {
		nsp = "/"
	}
	var data []byte
	if auth != nil {
		var err error
		if data, err = json.Marshal(auth); err != nil {
			return nil, fmt.Errorf("hubtest: auth: %w", err)
		}
	}
	s := newSocket(c, nsp)
	s.prevPID = prevPID
	c.mu.Lock()
	if c.sockets[nsp] != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("hubtest: already connected to %q", nsp)
	}
	c.sockets[nsp] = s
	c.mu.Unlock()
	p := socketio.Packet{Type: socketio.Connect, Namespace: nsp, Data: data}
	if err := c.sendPacket(&p); err != nil {
		return nil, fmt.Errorf("hubtest: %w", err)
	}
	select {
	case <-s.connected:
		if s.refused != nil {
			return nil, s.refused
		}
		if err := c.Sync(ctx); err != nil {
			return nil, fmt.Errorf("hubtest: connect %q: %w", nsp, err)
		}
		return s, nil
	case <-c.done:
		return nil, fmt.Errorf("%w: %v", ErrClosed, c.err())
	case <-ctx.Done():
		return nil, fmt.Errorf("hubtest: connect %q: %w", nsp, ctx.Err())
	}
}

// Recover connects to old's namespace asking the server to recover old's
// session, as socket.io-client does after losing its connection; extra
// auth fields may be given. Check the result's Recovered.
func (c *Conn) Recover(ctx context.Context, old *Socket, auth map[string]any) (*Socket, error) {
	a := map[string]any{}
	for k, v := range auth {
		a[k] = v
	}
	for k, v := range old.RecoveryAuth() {
		a[k] = v
	}
	s, err := c.connectSocket(ctx, old.nsp, a, old.pid)
	return s, err
}

// HandleFrame implements transport.Handler for the client end.
func (c *Conn) HandleFrame(f transport.Frame) error {
	if f.Binary && c.parser == hub.MsgpackParser {
		var p socketio.Packet
		if err := msgpack.DecodePacket(f.Data, msgpack.Limits{MaxAttachments: 1 << 16, MaxDepth: 1000}, &p); err != nil {
			return err
		}
		return c.packet(&p, nil)
	}
	if f.Binary {
		return c.packet(c.decoder.AddBinary(f.Data))
	}
	if len(f.Data) == 0 {
		return fmt.Errorf("%w: empty frame", ErrProtocol)
	}
	switch f.Data[0] {
	case '0':
		var open struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(f.Data[1:], &open); err != nil {
			return fmt.Errorf("%w: open packet: %v", ErrProtocol, err)
		}
		c.sid = open.SID
		close(c.opened)
	case '2':
		return c.send(transport.TextFrame("3"))
	case '1':
		_ = c.pipe.Close()
	case '4':
		if c.parser == hub.MsgpackParser {
			return fmt.Errorf("%w: text packet with the msgpack parser: %q", ErrProtocol, f.Data)
		}
		return c.packet(c.decoder.AddText(f.Data[1:]))
	case '6':
	default:
		return fmt.Errorf("%w: packet %q", ErrProtocol, f.Data)
	}
	return nil
}

// packet routes a decoded Socket.IO packet.
func (c *Conn) packet(p *socketio.Packet, err error) error {
	if err != nil || p == nil {
		return err
	}
	c.mu.Lock()
	s := c.sockets[p.Namespace]
	c.mu.Unlock()
	if s == nil {
		return fmt.Errorf("%w: %s for %q", ErrProtocol, p.Type, p.Namespace)
	}
	switch p.Type {
	case socketio.Connect:
		var answer struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if err := json.Unmarshal(p.Data, &answer); err != nil || answer.SID == "" {
			return fmt.Errorf("%w: CONNECT answer %s", ErrProtocol, p.Data)
		}
		s.id, s.pid = answer.SID, answer.PID
		s.recovered = s.pid != "" && s.pid == s.prevPID
		close(s.connected)
	case socketio.ConnectError:
		var ce struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(p.Data, &ce)
		refusal := &namespace.ConnectError{Message: ce.Message}
		if len(ce.Data) > 0 {
			refusal.Data = ce.Data
		}
		s.refused = refusal
		c.forget(s)
		close(s.connected)
	case socketio.Disconnect:
		c.forget(s)
		s.end("io server disconnect")
	case socketio.Event, socketio.BinaryEvent:
		return s.event(p)
	case socketio.Ack, socketio.BinaryAck:
		return s.ack(p)
	}
	return nil
}

func (c *Conn) forget(s *Socket) {
	c.mu.Lock()
	if c.sockets[s.nsp] == s {
		delete(c.sockets, s.nsp)
	}
	c.mu.Unlock()
}

// HandleClose implements transport.Handler for the client end.
func (c *Conn) HandleClose(err error) {
	c.mu.Lock()
	if err == nil {
		err = ErrClosed
	}
	c.closeErr = err
	socks := make([]*Socket, 0, len(c.sockets))
	for _, s := range c.sockets {
		socks = append(socks, s)
	}
	c.sockets = map[string]*Socket{}
	c.mu.Unlock()
	for _, s := range socks {
		s.end("transport close")
	}
	close(c.done)
}

// Event is an event the client received.
type Event struct {
	Name string
	Args namespace.Args
	// Ack answers the server's acknowledgement request; nil if none.
	Ack func(args ...any) error
}

// Socket is a client's connection to one namespace.
type Socket struct {
	conn      *Conn
	nsp       string
	id        string
	connected chan struct{}
	refused   error
	pid       string // recovery session id, when the server has recovery on
	prevPID   string // the pid this socket tried to recover
	recovered bool

	mu         sync.Mutex
	lastOffset string
	events     []*Event
	signal     chan struct{}
	acks       map[uint64]chan namespace.Args
	nextID     uint64
	gone       chan struct{}
	reason     string
}

func newSocket(c *Conn, nsp string) *Socket {
	return &Socket{conn: c, nsp: nsp, connected: make(chan struct{}), signal: make(chan struct{}, 1),
		acks: make(map[uint64]chan namespace.Args), gone: make(chan struct{})}
}

// ID is the socket id the server assigned.
func (s *Socket) ID() string { return s.id }

// Recovered reports whether the server recovered the session this socket
// asked for (see Conn.Recover).
func (s *Socket) Recovered() bool { return s.recovered }

// RecoveryAuth returns the auth fields socket.io-client sends to recover
// this socket after losing its connection: its pid and the offset of the
// last broadcast it received.
func (s *Socket) RecoveryAuth() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]string{"pid": s.pid, "offset": s.lastOffset}
}

// Namespace is the socket's namespace.
func (s *Socket) Namespace() string { return s.nsp }

// Disconnected is closed when the socket has been disconnected.
func (s *Socket) Disconnected() <-chan struct{} { return s.gone }

// Reason says why the socket disconnected, as socket.io-client would:
// "io server disconnect", "io client disconnect" or "transport close".
func (s *Socket) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

func (s *Socket) end(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.gone:
		return
	default:
	}
	s.reason = reason
	close(s.gone)
}

// Emit sends an event to the server.
func (s *Socket) Emit(event string, args ...any) error {
	return s.send(socketio.Event, event, args, 0, false)
}

// EmitWithAck sends an event asking for an acknowledgement and waits for it.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (namespace.Args, error) {
	ch := make(chan namespace.Args, 1)
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.acks[id] = ch
	s.mu.Unlock()
	if err := s.send(socketio.Event, event, args, id, true); err != nil {
		return namespace.Args{}, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-s.gone:
		return namespace.Args{}, fmt.Errorf("%w: %s", ErrClosed, s.Reason())
	case <-ctx.Done():
		return namespace.Args{}, fmt.Errorf("hubtest: ack for %q: %w", event, ctx.Err())
	}
}

func (s *Socket) send(t socketio.PacketType, event string, args []any, id uint64, hasID bool) error {
	all := append([]any{event}, args...)
	if t == socketio.Ack {
		all = args
	}
	data, atts, err := socketio.MarshalArgs(nil, all)
	if err != nil {
		return fmt.Errorf("hubtest: %w", err)
	}
	p := socketio.Packet{Type: t, Namespace: s.nsp, ID: id, HasID: hasID, Data: data, Attachments: atts}
	select {
	case <-s.gone:
		return fmt.Errorf("%w: %s", ErrClosed, s.Reason())
	default:
	}
	if err := s.conn.sendPacket(&p); err != nil {
		return fmt.Errorf("hubtest: %w", err)
	}
	return nil
}

// Disconnect leaves the namespace (the connection stays open).
func (s *Socket) Disconnect() error {
	p := socketio.Packet{Type: socketio.Disconnect, Namespace: s.nsp}
	s.conn.forget(s)
	s.end("io client disconnect")
	return s.conn.sendPacket(&p)
}

func (s *Socket) event(p *socketio.Packet) error {
	name, args, err := nsImpl.ParseEvent(p.Data, p.Attachments)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	ev := &Event{Name: name, Args: args}
	if s.pid != "" && args.Len() > 0 {
		var offset string
		if json.Unmarshal(args.Raw(args.Len()-1), &offset) == nil {
			s.mu.Lock()
			s.lastOffset = offset
			s.mu.Unlock()
		}
	}
	if p.HasID {
		id := p.ID
		var once sync.Once
		ev.Ack = func(args ...any) error {
			err := ErrClosed
			once.Do(func() { err = s.send(socketio.Ack, "", args, id, true) })
			return err
		}
	}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
	return nil
}

func (s *Socket) ack(p *socketio.Packet) error {
	args, err := nsImpl.NewArgs(p.Data, p.Attachments)
	if err != nil {
		return fmt.Errorf("%w: ack %s: %v", ErrProtocol, p.Data, err)
	}
	s.mu.Lock()
	ch := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if ch != nil {
		ch <- args
	}
	return nil
}

// Next returns the next event received, waiting for one if needed.
func (s *Socket) Next(ctx context.Context) (*Event, error) {
	return s.take(ctx, func(*Event) bool { return true })
}

// Expect returns the first event received called name, waiting for it if
// needed; other events stay queued for Next and Expect.
func (s *Socket) Expect(ctx context.Context, name string) (*Event, error) {
	return s.take(ctx, func(e *Event) bool { return e.Name == name })
}

// ExpectMatch returns the first event received called name for which match
// returns true, waiting for it if needed; other events stay queued. The seed
// app sends everything as "new message": match tells its messages apart.
func (s *Socket) ExpectMatch(ctx context.Context, name string, match func(*Event) bool) (*Event, error) {
	return s.take(ctx, func(e *Event) bool { return e.Name == name && match(e) })
}

// ExpectNone waits for d and fails if an event called name (any event when
// name is "") arrived meanwhile, or had arrived and was not taken yet. The
// event stays queued. Use it to check that a broadcast left a socket out.
func (s *Socket) ExpectNone(name string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	found, err := s.peek(ctx, func(e *Event) bool { return name == "" || e.Name == name })
	if found != nil {
		return fmt.Errorf("hubtest: unexpected event %q %v", found.Name, found.Args.Values())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// peek waits for an event for which match is true, leaving it queued.
func (s *Socket) peek(ctx context.Context, match func(*Event) bool) (*Event, error) {
	for {
		s.mu.Lock()
		for _, e := range s.events {
			if match(e) {
				s.mu.Unlock()
				return e, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-s.signal:
		case <-s.gone:
			return nil, nil // nothing more will arrive
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Socket) take(ctx context.Context, match func(*Event) bool) (*Event, error) {
	for {
		s.mu.Lock()
		for i, e := range s.events {
			if match(e) {
				s.events = append(s.events[:i], s.events[i+1:]...)
				s.mu.Unlock()
				return e, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-s.signal:
		case <-s.gone:
			// Deliver what arrived before the disconnect first.
			s.mu.Lock()
			for i, e := range s.events {
				if match(e) {
					s.events = append(s.events[:i], s.events[i+1:]...)
					s.mu.Unlock()
					return e, nil
				}
			}
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrClosed, s.Reason())
		case <-ctx.Done():
			return nil, fmt.Errorf("hubtest: waiting for an event: %w", ctx.Err())
		}
	}
}
