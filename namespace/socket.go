package namespace

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/transport"
)

// Handshake describes how a socket connected.
type Handshake struct {
	// Auth is the CONNECT packet's payload, "{}" when the client sent none.
	Auth json.RawMessage `json:"auth"`
	// Header is the handshake request's header. Don't modify it.
	Header http.Header `json:"headers"`
	// Query holds the handshake request's query parameters.
	Query url.Values `json:"query"`
	// Address is the client's network address.
	Address string `json:"address"`
	// Time is when the underlying connection was established.
	Time time.Time `json:"time"`
	// Secure reports whether the connection came over TLS.
	Secure bool `json:"secure"`
	// URL is the handshake request's URL (path and query).
	URL string `json:"url"`
	// XDomain reports whether the request came from another origin.
	XDomain bool `json:"xdomain"`
}

// Socket is one client's connection to one namespace. Its methods may be
// called from any goroutine. Its event handlers run one at a time, in the
// order the client sent the events: don't block in them, start a goroutine
// for slow work.
//
// An idle socket is kept small: what most sockets never use (OnAny and
// disconnect handlers, Done, Context) is allocated when first asked for,
// and the handshake is the client's, shared by its sockets.
type Socket struct {
	id     string
	pid    string // private id for recovery; "" when recovery is off
	ns     *Namespace
	client *client
	auth   json.RawMessage // CONNECT payload; empty means "{}"

	mu       sync.Mutex
	handlers []entry // On's listeners: grouped by event, in registration order
	acks     map[uint64]func(Args)
	more     *socketExtras // allocated on first use
	lastID   uint32        // the last Listener id given out; under mu

	connected atomic.Bool
	joinable  atomic.Bool // Join works: connected, or in the connection middlewares
	outgoing  atomic.Bool // there are OnAnyOutgoing listeners
	recovered bool
	ended     bool                   // closed has run; under mu
	held      bool                   // recovering: broadcasts go through the replay; under ns.recovery.mu
	floor     atomic.Pointer[string] // recovered from a shared store: broadcasts up to this offset were replayed
	bucket    *tokenBucket           // event rate limit; nil when unlimited
	data      atomic.Pointer[any]
}

// indexAbove is the number of handlers beyond which a socket indexes them
// in a map; fewer are found faster by scanning.
const indexAbove = 8

// socketExtras is the part of a Socket that most sockets never use.
type socketExtras struct {
	index           map[string]int // first position of each event in Socket.handlers, once there are many
	anyIn           []listener     // OnAny, PrependAny; copy on write
	anyOut          []listener     // OnAnyOutgoing, PrependAnyOutgoing; copy on write
	uses            []func(*Event) error
	onError         []errorListener
	onDisconnect    []reasonListener
	onDisconnecting []reasonListener
	ctx             context.Context
	cancel          context.CancelFunc
	done            chan struct{}
}

// closedChan is the Done channel of sockets asked for it after they ended.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newSocket(ns *Namespace, c *client, auth json.RawMessage) *Socket {
	return &Socket{id: newID(), ns: ns, client: c, auth: auth}
}

// extrasLocked returns s.more, allocating it; s.mu must be held.
func (s *Socket) extrasLocked() *socketExtras {
	if s.more == nil {
		s.more = &socketExtras{}
	}
	return s.more
}

// ID is the socket's id, unique in the namespace (it is not the Engine.IO
// session id).
func (s *Socket) ID() string { return s.id }

// Recovered reports whether the socket is a disconnected one come back
// with its id, rooms, data and missed broadcasts (see [Recovery]).
func (s *Socket) Recovered() bool { return s.recovered }

// Namespace is the namespace the socket belongs to.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Handshake describes how the socket connected.
func (s *Socket) Handshake() Handshake {
	hs := s.client.handshake()
	if len(s.auth) > 0 {
		hs.Auth = s.auth
	} else {
		hs.Auth = json.RawMessage("{}")
	}
	if hs.Query == nil {
		// Parsed on demand: idle sockets don't keep a parsed copy.
		if u, err := url.ParseRequestURI(hs.URL); err == nil {
			hs.Query = u.Query()
		} else {
			hs.Query = url.Values{}
		}
	}
	return hs
}

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// Done is closed when the socket disconnects.
func (s *Socket) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extrasLocked()
	if x.done == nil {
		if s.ended {
			x.done = closedChan
		} else {
			x.done = make(chan struct{})
		}
	}
	return x.done
}

// Context returns a context that is cancelled when the socket disconnects.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extrasLocked()
	if x.ctx == nil {
		x.ctx, x.cancel = context.WithCancel(context.Background())
		if s.ended {
			x.cancel()
		}
	}
	return x.ctx
}

// SetData stores application data on the socket (socket.data in
// socket.io); it is reported by FetchSockets as JSON.
func (s *Socket) SetData(v any) { s.data.Store(&v) }

// Data returns what SetData stored, or nil.
func (s *Socket) Data() any {
	if p := s.data.Load(); p != nil {
		return *p
	}
	return nil
}

// OnDisconnect registers fn to run when the socket disconnects, with the
// reason (one of the Reason constants), and returns its [Listener]
// (socket.io: socket.on("disconnect")). fn must not be nil.
func (s *Socket) OnDisconnect(fn func(reason string)) Listener {
	return s.addReason(fn, false, "OnDisconnect")
}

// OnDisconnecting registers fn to run when the socket is about to
// disconnect, while it is still in its rooms, and returns its [Listener]
// (socket.io: socket.on("disconnecting")). fn must not be nil.
func (s *Socket) OnDisconnecting(fn func(reason string)) Listener {
	return s.addReason(fn, true, "OnDisconnecting")
}

// reasonListener is a function registered with OnDisconnect or
// OnDisconnecting.
type reasonListener struct {
	fn func(reason string)
	id uint32
}

func (s *Socket) addReason(fn func(string), disconnecting bool, method string) Listener {
	if fn == nil {
		nilHandler(method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extrasLocked()
	l := reasonListener{fn: fn, id: s.nextIDLocked()}
	if disconnecting {
		x.onDisconnecting = append(slices.Clip(x.onDisconnecting), l)
	} else {
		x.onDisconnect = append(slices.Clip(x.onDisconnect), l)
	}
	return Listener{s, l.id}
}

// Emit sends an event to this socket's client. Arguments are encoded as
// JSON; []byte values (also inside []any and map[string]any) travel as
// binary attachments; json.RawMessage is sent as is.
//
// The socket's [Socket.OnAnyOutgoing] listeners see the event first; when
// one panics, nothing is sent and Emit returns an error wrapping
// [ErrPanicked].
//
// Emit can wait: while the client's queue is full (see the package
// documentation) it waits for the client to read, until the queue drains
// or the socket disconnects (the error then wraps [ErrDisconnected]). So a
// handler may emit any burst to its own client, which gets all of it in
// order; the burst's wait holds up the socket's next events meanwhile. To
// never wait, use [Socket.Volatile] (dropped when the client is not ready)
// or a broadcast (a client at its queue's bound is disconnected).
func (s *Socket) Emit(event string, args ...any) error { return s.emit(event, args, false) }

// emit is Emit, with the frames marked not to be compressed if noCompress.
func (s *Socket) emit(event string, args []any, noCompress bool) error {
	frames, err := s.encodeOut(event, args, 0, false)
	if err != nil {
		return err
	}
	if noCompress {
		markNoCompress(frames)
	}
	return s.sendWait(s.waitCtx(), frames)
}

// Volatile returns the socket's volatile emitter: what it emits is dropped
// when the client is not ready for it. socket.io's socket.volatile.
func (s *Socket) Volatile() VolatileSocket { return VolatileSocket{s: s} }

// VolatileSocket emits volatile events to one socket: for data of which
// only the latest matters (positions, cursors, typing indicators). Get one
// with [Socket.Volatile].
type VolatileSocket struct{ s *Socket }

// Emit sends an event, as [Socket.Emit] does, unless the client is not
// ready for it: when its WebSocket still has frames to write, or a polling
// client has no request waiting, the event is dropped, counted in the
// hub's Stats (Dropped), and Emit returns nil. It never waits.
func (v VolatileSocket) Emit(event string, args ...any) error {
	s := v.s
	frames, err := s.encodeOut(event, args, 0, false)
	if err != nil {
		return err
	}
	if !s.connected.Load() {
		return ErrDisconnected
	}
	if ts, ok := s.client.conn.(trySender); ok {
		ts.TrySend(frames...)
		return nil
	}
	return s.send(frames)
}

// EmitWithAck sends an event asking the client for an acknowledgement and
// waits for it, for ctx to end, or for the socket to disconnect. Sending
// can wait as [Socket.Emit] does, bounded by the same ctx.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.emitWithAck(ctx, event, args, false)
}

// emitWithAck is EmitWithAck, with the frames marked not to be compressed
// if noCompress.
func (s *Socket) emitWithAck(ctx context.Context, event string, args []any, noCompress bool) (Args, error) {
	id := s.ns.nextAckID()
	frames, err := s.encodeOut(event, args, id, true)
	if err != nil {
		return Args{}, err
	}
	if noCompress {
		markNoCompress(frames)
	}
	done := s.Done()
	ch := make(chan Args, 1)
	if !s.registerAck(id, func(a Args) { ch <- a }) {
		return Args{}, ErrDisconnected
	}
	if err := s.sendWaitBoth(ctx, frames); err != nil {
		s.forgetAck(id)
		if ctx.Err() != nil {
			return Args{}, fmt.Errorf("namespace: ack for %q: %w", event, ctx.Err())
		}
		return Args{}, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		s.forgetAck(id)
		return Args{}, fmt.Errorf("namespace: ack for %q: %w", event, ctx.Err())
	case <-done:
		return Args{}, ErrDisconnected
	}
}

// encodeOut encodes an EVENT packet for the socket's client, after its
// OnAnyOutgoing listeners have seen it.
func (s *Socket) encodeOut(event string, args []any, id uint64, hasID bool) ([]transport.Frame, error) {
	o := s.ns.watcher()
	if o != nil && !s.ns.observeWants(o, 1) {
		o = nil
	}
	if !s.outgoing.Load() && o == nil {
		return s.ns.encodeEvent(event, args, id, hasID)
	}
	data, atts, err := eventData(event, args)
	if err != nil {
		return nil, err
	}
	var out outgoingEvent
	if s.outgoing.Load() && !s.notifyParsed(&out, data, atts) {
		return nil, fmt.Errorf("%w: outgoing listener for %q", ErrPanicked, event)
	}
	if o != nil && out.parse(data, atts) {
		s.ns.observeOutgoing(o, s.id, out.name, out.args)
	}
	pkt := socketio.Packet{Type: socketio.Event, Namespace: s.ns.name, ID: id, HasID: hasID, Data: data, Attachments: atts}
	return s.ns.parser.encode(&pkt)
}

// outgoingEvent is an event on its way to the OnAnyOutgoing listeners,
// decoded once for all the sockets a broadcast reaches (its Args are
// immutable), and the Event the listeners get, one for the whole
// broadcast: listeners don't keep it (see OnAnyOutgoing).
type outgoingEvent struct {
	parsed, ok bool
	name       string
	args       Args
	ev         *Event // allocated for the first socket with listeners
}

// parse decodes the event whose JSON array is data into p, unless it is
// already, and reports whether it is an event.
func (p *outgoingEvent) parse(data []byte, atts [][]byte) bool {
	if !p.parsed {
		var err error
		p.name, p.args, err = parseEvent(data, atts)
		p.parsed, p.ok = true, err == nil
	}
	return p.ok
}

// notifyParsed runs the OnAnyOutgoing listeners for the event whose JSON
// array is data, decoded into p if it is not already. It reports false
// when one panicked: the packet is then not sent (fail closed).
func (s *Socket) notifyParsed(p *outgoingEvent, data []byte, atts [][]byte) bool {
	s.mu.Lock()
	var ls []listener
	if s.more != nil {
		ls = s.more.anyOut
	}
	s.mu.Unlock()
	if len(ls) == 0 {
		return true
	}
	if !p.parse(data, atts) {
		return true // not an event: nothing to report
	}
	if p.ev == nil {
		p.ev = new(Event)
	}
	e := p.ev
	*e = Event{Name: p.name, Args: p.args, Socket: s}
	for _, l := range ls {
		if !s.safelyNoDisconnect(func() { l.fn(e) }) {
			return false
		}
	}
	return true
}

// Join adds the socket to rooms. It works from the time the connection
// middlewares run ([Namespace.Use]): rooms joined there exist when the
// client is told it is connected, and are left if a later middleware
// refuses the connection. After the socket disconnected it does nothing.
func (s *Socket) Join(rooms ...string) {
	if s.joinable.Load() {
		s.ns.adapter.AddAll(s.id, rooms...)
	}
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	for _, r := range rooms {
		s.ns.adapter.Del(s.id, r)
	}
}

// Rooms returns the rooms the socket is in, its own id room first.
func (s *Socket) Rooms() []string { return s.ns.adapter.Rooms(s.id) }

// To returns a broadcast to rooms that leaves this socket out: what
// socket.to(room).emit(...) and socket.broadcast.to(room) do in socket.io.
func (s *Socket) To(rooms ...string) Broadcast { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) Broadcast { return s.To(rooms...) }

// Except returns a broadcast to everyone but rooms and this socket.
func (s *Socket) Except(rooms ...string) Broadcast { return s.Broadcast().Except(rooms...) }

// Broadcast returns a broadcast to every socket of the namespace but this one.
func (s *Socket) Broadcast() Broadcast {
	return Broadcast{ns: s.ns, except: []string{s.id}}
}

// Disconnect disconnects the socket from its namespace: the client gets a
// DISCONNECT packet (socket.io-client reports "io server disconnect").
// With close, the client's whole connection is closed, with every
// namespace on it.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.client.disconnectAll()
		return
	}
	s.disconnectWith(ReasonServerDisconnect)
}

// disconnectWith sends DISCONNECT and tears the socket down for reason.
func (s *Socket) disconnectWith(reason string) {
	if !s.connected.Load() {
		return
	}
	if frames, err := s.ns.encodeSimple(socketio.Disconnect, nil); err == nil {
		_ = s.send(frames)
	}
	s.closed(reason)
}

// tokenBucket limits a socket's event rate; used by the delivering
// goroutine only.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// allowEvent takes a token for an incoming event.
func (s *Socket) allowEvent(rate float64, burst int) bool {
	now := time.Now()
	b := s.bucket
	if b == nil {
		b = &tokenBucket{tokens: float64(burst), last: now}
		s.bucket = b
	}
	b.tokens = min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// send writes frames to the client without waiting (broadcasts, the
// DISCONNECT packet): a client at its queue's bound is disconnected.
func (s *Socket) send(frames []transport.Frame) error {
	if !s.connected.Load() {
		return ErrDisconnected
	}
	if err := s.client.conn.Send(frames...); err != nil {
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	return nil
}

// sendWait writes frames to the client, waiting while its queue is over
// its bound until ctx ends (see [Socket.Emit]).
func (s *Socket) sendWait(ctx context.Context, frames []transport.Frame) error {
	wc, ok := s.client.conn.(waitSender)
	if !ok {
		return s.send(frames)
	}
	if !s.connected.Load() {
		return ErrDisconnected
	}
	if err := wc.SendWait(ctx, frames...); err != nil {
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	return nil
}

// sendWaitBoth is sendWait bounded by ctx and by the socket's connection.
func (s *Socket) sendWaitBoth(ctx context.Context, frames []transport.Frame) error {
	if _, ok := s.client.conn.(waitSender); !ok {
		return s.send(frames)
	}
	both, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.Context(), cancel)
	defer stop()
	return s.sendWait(both, frames)
}

// waitCtx returns the context that bounds the socket's waiting sends: done
// once the socket has disconnected. Unlike [Socket.Context], it costs
// nothing until a send has to wait.
func (s *Socket) waitCtx() context.Context { return (*socketWait)(s) }

// socketWait is a Socket seen as a context.Context done when it
// disconnects; Done makes its channel only when asked for.
type socketWait Socket

func (w *socketWait) Deadline() (time.Time, bool) { return time.Time{}, false }
func (w *socketWait) Done() <-chan struct{}       { return (*Socket)(w).Done() }
func (w *socketWait) Value(any) any               { return nil }

func (w *socketWait) Err() error {
	s := (*Socket)(w)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return context.Canceled
	}
	return nil
}

func (s *Socket) registerAck(id uint64, fn func(Args)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected.Load() {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[uint64]func(Args), 1)
	}
	s.acks[id] = fn
	return true
}

func (s *Socket) forgetAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// onAck handles an ACK packet from the client.
func (s *Socket) onAck(p *socketio.Packet) error {
	if !p.HasID {
		return nil
	}
	args, err := argsOf(p.Data, p.Attachments, 0)
	if err != nil {
		return err
	}
	s.mu.Lock()
	fn := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if fn != nil {
		s.safely("ack", func() { fn(args) })
	}
	return nil
}

// inbound is an event on its way to a socket's handlers: the Event, what
// its AckFunc needs and room for a few arguments, in one allocation.
type inbound struct {
	Event
	s        *Socket
	received [][]byte // the arguments as decoded: JSON an ack may echo unchecked
	id       uint64
	sent     atomic.Bool
	raw      [3][]byte // the name and the first arguments
}

// onEvent handles an EVENT packet from the client: the OnAny listeners,
// then the socket's middlewares, then the event's listeners.
func (s *Socket) onEvent(p *socketio.Packet) error {
	in := &inbound{s: s, id: p.ID}
	raw, err := socketio.AppendArgs(in.raw[:0], p.Data)
	if err != nil || len(raw) == 0 {
		return badEvent(p.Data, err)
	}
	var (
		name string
		one  func(*Event)   // the event's listener, when it has one
		many []func(*Event) // its listeners, when it has more
	)
	plain, isPlain := socketio.EventName(raw[0])
	if !isPlain {
		name = eventName(raw[0])
	}
	s.mu.Lock()
	var i int
	if isPlain {
		i = s.findLocked(string(plain))
	} else {
		i = s.findLocked(name)
	}
	if i >= 0 {
		name = s.handlers[i].name // the name without allocating
		one, many = s.takeLocked(i)
	}
	var (
		anys []listener
		uses []func(*Event) error
	)
	if x := s.more; x != nil {
		anys, uses = x.anyIn, x.uses
	}
	s.mu.Unlock()
	o := s.ns.watcher()
	if one == nil && len(anys) == 0 && len(uses) == 0 && o == nil {
		return nil
	}
	if isPlain && i < 0 {
		name = string(plain)
	}
	if o != nil {
		s.ns.observeIncoming(o, s.id, name, Args{raw: raw[1:], attachments: p.Attachments})
		if one == nil && len(anys) == 0 && len(uses) == 0 {
			return nil
		}
	}
	in.received = raw[1:]
	in.Event = Event{Name: name, Args: Args{raw: raw[1:], attachments: p.Attachments}, Socket: s, in: in}
	if p.HasID {
		in.Ack = in.ack
	}
	e := &in.Event
	for _, l := range anys {
		if !s.safely(name, func() { l.fn(e) }) {
			return nil // a panicking catch-all listener stops the event (fail closed)
		}
	}
	if len(uses) > 0 {
		if err := s.runUses(uses, e); err != nil {
			s.refused(name, err)
			return nil
		}
	}
	if many != nil {
		for _, fn := range many {
			if !s.Connected() || !s.safely(name, func() { fn(e) }) {
				return nil
			}
		}
	} else if one != nil && s.Connected() {
		s.safely(name, func() { one(e) })
	}
	return nil
}

// takeLocked returns the listeners of the event whose first is at i (one
// when it has one, many when more), and removes those added with Once.
// s.mu is held.
func (s *Socket) takeLocked(i int) (one func(*Event), many []func(*Event)) {
	name := s.handlers[i].name
	j, once := i, false
	for ; j < len(s.handlers) && s.handlers[j].name == name; j++ {
		once = once || s.handlers[j].once
	}
	one = s.handlers[i].fn
	if j-i > 1 {
		many = make([]func(*Event), 0, j-i)
		for _, e := range s.handlers[i:j] {
			many = append(many, e.fn)
		}
	}
	if once {
		kept := slices.DeleteFunc(slices.Clone(s.handlers[i:j]), func(e entry) bool { return e.once })
		s.handlers = slices.Replace(s.handlers, i, j, kept...)
		if s.more != nil && s.more.index != nil {
			s.reindexLocked()
		}
	}
	return one, many
}

// ack answers the event's acknowledgement request. Arguments that are the
// event's own (what Args.Values gives, echoed back) were validated when the
// event was decoded, and are not checked again.
func (in *inbound) ack(args ...any) error {
	if in.sent.Swap(true) {
		return ErrAckSent
	}
	s := in.s
	p := socketio.ArgsPacket{Type: socketio.Ack, Namespace: s.ns.name, ID: in.id, HasID: true, Args: args, Trusted: in.received}
	frames, err := s.ns.parser.encodeArgs(&p)
	if err != nil {
		return fmt.Errorf("namespace: ack: %w", err)
	}
	return s.sendWait(s.waitCtx(), frames)
}

// ackOr answers the ack with result, or, when result cannot be encoded,
// with that error as an [AckError] (which it also returns): the client is
// answered either way.
func (in *inbound) ackOr(result any) error {
	if in.sent.Load() {
		return ErrAckSent
	}
	s := in.s
	p := socketio.ArgsPacket{Type: socketio.Ack, Namespace: s.ns.name, ID: in.id, HasID: true, Args: []any{result}}
	frames, err := s.ns.parser.encodeArgs(&p)
	var encErr error
	if err != nil {
		encErr = fmt.Errorf("namespace: ack: %w", err)
		p.Args = []any{AckError{Error: encErr.Error()}}
		if frames, err = s.ns.parser.encodeArgs(&p); err != nil {
			return encErr
		}
	}
	if in.sent.Swap(true) {
		return ErrAckSent
	}
	if err := s.sendWait(s.waitCtx(), frames); err != nil {
		return err
	}
	return encErr
}

// safely runs user code, turning a panic into a logged error and a
// disconnect, so one bad handler never takes the process down.
// It reports whether fn returned normally.
func (s *Socket) safely(what string, fn func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.ns.logger.Error("namespace: handler panicked", "namespace", s.ns.name, "socket", s.id, "event", what,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			s.Disconnect(false)
		}
	}()
	fn()
	return true
}

// closed tears the socket down once, for reason.
func (s *Socket) closed(reason string) {
	if !s.connected.CompareAndSwap(true, false) {
		return
	}
	s.joinable.Store(false)
	var disconnecting []reasonListener
	s.mu.Lock()
	if s.more != nil {
		disconnecting = s.more.onDisconnecting // copied on write
	}
	s.mu.Unlock()
	for _, l := range disconnecting {
		s.safelyNoDisconnect(func() { l.fn(reason) })
	}
	if r := s.ns.recovery; r != nil {
		var kept *session
		if recoverable[reason] {
			rooms := slices.DeleteFunc(s.ns.adapter.Rooms(s.id), func(r string) bool { return r == s.id })
			kept = &session{sid: s.id, pid: s.pid, rooms: rooms, data: s.Data(), at: time.Now()}
		}
		r.leave(s, kept)
	}
	s.ns.adapter.DelAll(s.id)
	s.ns.remove(s)
	s.client.remove(s)
	var handlers []reasonListener
	s.mu.Lock()
	s.endLocked()
	if s.more != nil {
		handlers = s.more.onDisconnect // copied on write
	}
	s.mu.Unlock()
	if o := s.ns.watcher(); o != nil {
		s.ns.observeDisconnected(o, s.id, reason)
	}
	for _, l := range handlers {
		s.safelyNoDisconnect(func() { l.fn(reason) })
	}
}

// endLocked marks the socket ended: Done closes, Context is cancelled,
// pending acks are dropped. s.mu must be held.
func (s *Socket) endLocked() {
	s.ended = true
	s.acks = nil
	if x := s.more; x != nil {
		if x.done != nil {
			close(x.done)
		}
		if x.cancel != nil {
			x.cancel()
		}
	}
}

// closeRefused ends a socket that a middleware refused: it never
// connected, but a middleware may be waiting on its Done or Context.
func (s *Socket) closeRefused() {
	s.mu.Lock()
	s.endLocked()
	s.mu.Unlock()
}

// safelyNoDisconnect runs user code that must not disconnect the socket
// (disconnect, error and outgoing listeners), logging a panic. It reports
// whether fn returned normally.
func (s *Socket) safelyNoDisconnect(fn func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.ns.logger.Error("namespace: listener panicked", "namespace", s.ns.name, "socket", s.id,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn()
	return true
}

// info describes the socket for FetchSockets.
func (s *Socket) info() room.SocketInfo {
	hs, _ := json.Marshal(s.Handshake())
	data, err := json.Marshal(s.Data())
	if err != nil {
		data = []byte("null")
	}
	return room.SocketInfo{ID: s.id, Namespace: s.ns.name, Rooms: s.Rooms(), Handshake: hs, Data: data}
}

var _ = slog.Default
