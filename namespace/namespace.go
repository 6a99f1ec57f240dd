package namespace

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/transport"
)

// Middleware runs for every socket trying to connect to a namespace,
// before its connection handlers. Returning an error refuses the
// connection: the client gets CONNECT_ERROR with the error's message, or
// with a [ConnectError]'s Message and Data.
type Middleware func(s *Socket) error

// config configures a namespace (see wiring.Config).
type config = wiring.Config[*Recovery]

// listeners are a namespace's middlewares and connection handlers. A
// dynamic namespace's instances run their parent's, then their own.
type listeners struct {
	mu           sync.RWMutex
	middlewares  []Middleware
	onConnection []func(*Socket)
}

// snapshot returns the middlewares and connection handlers; the slices
// are never modified in place (registration appends to full slices only
// under mu, and readers never append).
func (l *listeners) snapshot() ([]Middleware, []func(*Socket)) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clip(l.middlewares), slices.Clip(l.onConnection)
}

// Namespace is a Socket.IO namespace: a channel multiplexed on client
// connections, with its own sockets, rooms, middlewares and handlers.
// Get one from the hub (hub.Of); its methods may be called from any
// goroutine.
type Namespace struct {
	name      string
	cfg       config
	parser    Parser // cfg.Parser
	adapter   room.Adapter
	logger    *slog.Logger
	listeners *listeners
	ackIDs    atomic.Uint64
	recovery  *recoveryStore // nil when recovery is off
	observer  atomic.Pointer[observer]

	mu       sync.RWMutex
	sockets  map[string]*Socket
	children map[string]*Namespace // a dynamic namespace's instances
	parent   *Namespace
	pending  int           // connections running the middlewares, not yet in sockets
	gone     chan struct{} // an instance being removed: closed once it is
}

// newNamespace returns a namespace; the hub makes them (hub.Of).
func newNamespace(name string, cfg *config) *Namespace {
	var c config
	if cfg != nil {
		c = *cfg
	}
	if c.Adapter == nil {
		c.Adapter = room.NewMemory
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	n := &Namespace{name: name, cfg: c, parser: Parser(c.Parser), logger: c.Logger, listeners: &listeners{}, sockets: make(map[string]*Socket)}
	if c.Recovery != nil {
		n.recovery = newRecoveryStore(*c.Recovery)
	}
	n.adapter = c.Adapter(local{n})
	if st, ok := n.adapter.(room.SessionStore); ok && n.recovery != nil {
		n.recovery.shared = st
	}
	return n
}

// newChild returns a namespace called name that runs n's middlewares and
// connection handlers (then its own), and is reached by n's broadcasts: how
// a dynamic namespace (hub.OfFunc) makes its instances. It returns the
// existing child of that name if there is one, and reports whether it
// created it.
//
// Unless config.KeepEmptyChildren is set, a child is removed when its
// last socket leaves (socket.io's cleanupEmptyChildNamespaces): its adapter
// is closed, and newChild makes a fresh one for the next client.
func (n *Namespace) newChild(name string) (child *Namespace, created bool) {
	for {
		if c, gone := n.child(name); c != nil {
			return c, false
		} else if gone != nil {
			<-gone // an instance of that name is being removed: wait, then make a fresh one
			continue
		}
		n.mu.Lock()
		if n.children[name] != nil {
			n.mu.Unlock()
			continue // made meanwhile
		}
		c := newNamespace(name, &n.cfg)
		c.parent = n
		if n.children == nil {
			n.children = make(map[string]*Namespace)
		}
		n.children[name] = c
		n.mu.Unlock()
		return c, true
	}
}

// liveChild returns the live child called name, or nil.
func (n *Namespace) liveChild(name string) *Namespace {
	for {
		c, gone := n.child(name)
		if gone == nil {
			return c
		}
		<-gone
	}
}

// child returns the child called name if it is live; if it is being
// removed, it returns nil and a channel closed once it is.
func (n *Namespace) child(name string) (*Namespace, <-chan struct{}) {
	n.mu.RLock()
	c := n.children[name]
	n.mu.RUnlock()
	if c == nil {
		return nil, nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gone != nil {
		return nil, c.gone
	}
	return c, nil
}

// Children returns the instances of a dynamic namespace.
func (n *Namespace) Children() []*Namespace {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Namespace, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, c)
	}
	return out
}

// Name is the namespace's name, e.g. "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Adapter is the namespace's room adapter.
func (n *Namespace) Adapter() room.Adapter { return n.adapter }

// ErrNoRoomEvents is returned by OnRoomEvent when the namespace's adapter
// does not report room events.
var ErrNoRoomEvents = errors.New("namespace: the adapter does not report room events")

// OnRoomEvent registers fn to run when a room of this namespace is
// created, deleted, joined or left on this node: socket.io's
// io.of(name).adapter.on("create-room" | "delete-room" | "join-room" |
// "leave-room"). The adapter must implement [room.Notifier] (the in-memory
// and Redis adapters do), else it returns [ErrNoRoomEvents]. fn runs
// outside the adapter's lock, in the order of the changes; see
// [room.Memory.OnRoomEvent].
func (n *Namespace) OnRoomEvent(fn func(e room.Event)) error {
	rn, ok := n.adapter.(room.Notifier)
	if !ok {
		return ErrNoRoomEvents
	}
	if fn == nil {
		panic("namespace: OnRoomEvent: nil handler")
	}
	rn.OnRoomEvent(fn)
	return nil
}

// Use adds a middleware.
func (n *Namespace) Use(mw Middleware) {
	n.listeners.mu.Lock()
	n.listeners.middlewares = append(n.listeners.middlewares, mw)
	n.listeners.mu.Unlock()
}

// OnConnection registers fn to run for every socket that connects, after
// the client has been told it is connected. Register the socket's event
// handlers there.
func (n *Namespace) OnConnection(fn func(s *Socket)) {
	n.listeners.mu.Lock()
	n.listeners.onConnection = append(n.listeners.onConnection, fn)
	n.listeners.mu.Unlock()
}

// Socket returns the connected socket with the given id on this node, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// Len returns the number of sockets connected on this node.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// All returns a broadcast to every socket of the namespace.
func (n *Namespace) All() Broadcast { return Broadcast{ns: n} }

// To returns a broadcast to the sockets in rooms.
func (n *Namespace) To(rooms ...string) Broadcast { return n.All().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) Broadcast { return n.To(rooms...) }

// Except returns a broadcast to every socket not in rooms.
func (n *Namespace) Except(rooms ...string) Broadcast { return n.All().Except(rooms...) }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.All().Emit(event, args...) }

// EmitWithAck sends an event to every socket and collects their acks; see
// [Broadcast.EmitWithAck].
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return n.All().EmitWithAck(ctx, event, args...)
}

// Sockets returns the sockets connected to this namespace on this node.
func (n *Namespace) Sockets() []*Socket { return n.All().Sockets() }

// FetchSockets describes the namespace's sockets on every node.
func (n *Namespace) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return n.All().FetchSockets(ctx)
}

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...string) error { return n.All().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...string) error { return n.All().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket; with close, their client
// connections are closed too.
func (n *Namespace) DisconnectSockets(close bool) error { return n.All().DisconnectSockets(close) }

// nextAckID returns a new ack id; ids are namespace-wide so that one
// broadcast packet can carry the same id to every recipient.
func (n *Namespace) nextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

// reserved event names that applications may not emit.
var reserved = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// checkEvent refuses the reserved event names.
func checkEvent(event string) error {
	if slices.Contains(reserved, event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	return nil
}

// eventData encodes [event, args...] as JSON with binary attachments.
func eventData(event string, args []any) ([]byte, [][]byte, error) {
	if err := checkEvent(event); err != nil {
		return nil, nil, err
	}
	p := socketio.ArgsPacket{Type: socketio.Event, Name: event, Args: args}
	data, atts, err := p.Data()
	if err != nil {
		return nil, nil, fmt.Errorf("namespace: emit %q: %w", event, err)
	}
	return data, atts, nil
}

// encodeEvent encodes an EVENT packet for this namespace.
func (n *Namespace) encodeEvent(event string, args []any, id uint64, hasID bool) ([]transport.Frame, error) {
	if err := checkEvent(event); err != nil {
		return nil, err
	}
	p := socketio.ArgsPacket{Type: socketio.Event, Namespace: n.name, ID: id, HasID: hasID, Name: event, Args: args}
	frames, err := n.parser.encodeArgs(&p)
	if err != nil {
		return nil, fmt.Errorf("namespace: emit %q: %w", event, err)
	}
	return frames, nil
}

// encodeSimple encodes a packet without attachments for this namespace.
// It fails only with the msgpack parser, on data that is not valid JSON.
func (n *Namespace) encodeSimple(t socketio.PacketType, data []byte) ([]transport.Frame, error) {
	p := socketio.Packet{Type: t, Namespace: n.name, Data: data}
	return n.parser.encode(&p)
}

// connect runs the middlewares for a socket of client c and, if they all
// pass, registers it. The client then sends the CONNECT answer and calls
// welcome.
func (n *Namespace) connect(c *client, auth json.RawMessage) (*Socket, *replay, error) {
	if !n.enter() {
		return nil, nil, errGone
	}
	s := newSocket(n, c, auth)
	if c.v3ID != "" {
		s.id = v3SocketID(n.name, c.v3ID)
	}
	var rp *replay
	var restored *session
	if n.recovery != nil && c.v3ID == "" { // a protocol 3 client cannot recover
		var ra recoveryAuth
		if json.Unmarshal(auth, &ra) == nil && ra.PID != "" {
			restored, rp = n.recovery.restore(ra.PID, ra.Offset)
		}
		if restored != nil {
			s.id, s.pid, s.recovered = restored.sid, restored.pid, true
			if restored.data != nil {
				s.SetData(restored.data)
			}
		} else {
			s.pid = newID()
		}
	}
	if restored == nil || !n.recovery.cfg.SkipMiddlewares {
		mws, _ := n.toRun()
		s.joinable.Store(true) // rooms joined in the middlewares exist when the client is told it is connected
		for _, mw := range mws {
			if err := n.runMiddleware(s, mw); err != nil {
				s.joinable.Store(false)
				n.adapter.DelAll(s.id) // what it joined before being refused
				s.closeRefused()
				n.mu.Lock()
				n.pending--
				n.leftLocked() // unlocks
				return nil, nil, err
			}
		}
	}
	if restored != nil {
		// Until its replay is done, the broadcasts the socket gets are
		// kept for the replay, to follow what it missed.
		n.recovery.hold(s)
	}
	s.connected.Store(true)
	s.joinable.Store(true)
	n.mu.Lock()
	n.pending--
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.adapter.AddAll(s.id, s.id)
	if restored != nil && len(restored.rooms) > 0 {
		n.adapter.AddAll(s.id, restored.rooms...)
	}
	return s, rp, nil
}

// errMiddlewarePanicked refuses a connection whose middleware panicked.
// The client is told no more than this: the panic's text stays in the log.
var errMiddlewarePanicked = &ConnectError{Message: "Internal server error"}

// runMiddleware runs mw for s. A panic refuses the connection (fail
// closed: a middleware that crashes has not admitted the client).
func (n *Namespace) runMiddleware(s *Socket, mw Middleware) (err error) {
	defer func() {
		if r := recover(); r != nil {
			n.logger.Error("namespace: middleware panicked", "namespace", n.name, "socket", s.id,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errMiddlewarePanicked
		}
	}()
	return mw(s)
}

// errGone: the namespace is a dynamic namespace's instance being removed;
// the client asks its parent for a fresh one.
var errGone = errors.New("namespace: removed")

// enter counts a connection about to run the middlewares, so that the
// namespace is not removed meanwhile; false if it is being removed.
func (n *Namespace) enter() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.gone != nil {
		return false
	}
	n.pending++
	return true
}

// leftLocked is called with n.mu held after a socket left or was refused;
// it unlocks n.mu and, if n is an instance of a dynamic namespace that is
// now empty, removes it.
func (n *Namespace) leftLocked() {
	if n.parent == nil || n.cfg.KeepEmptyChildren || len(n.sockets) > 0 || n.pending > 0 || n.gone != nil {
		n.mu.Unlock()
		return
	}
	gone := make(chan struct{})
	n.gone = gone
	n.mu.Unlock()
	if err := n.adapter.Close(); err != nil {
		n.logger.Warn("namespace: closing the adapter of an empty namespace", "namespace", n.name, "err", err)
	}
	p := n.parent
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
	close(gone)
}

// toRun returns the middlewares and connection handlers to run: a dynamic
// namespace's instance runs its parent's, then its own.
func (n *Namespace) toRun() ([]Middleware, []func(*Socket)) {
	mws, handlers := n.listeners.snapshot()
	if n.parent == nil {
		return mws, handlers
	}
	pmws, phandlers := n.parent.listeners.snapshot()
	return concat(pmws, mws), concat(phandlers, handlers)
}

// concat returns a followed by b, reusing either when the other is empty;
// a must be clipped (appending to it copies).
func concat[T any](a, b []T) []T {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	return append(a, b...)
}

// welcome runs the connection handlers for a socket whose client has been
// told it is connected.
func (n *Namespace) welcome(s *Socket) {
	_, handlers := n.toRun()
	for _, fn := range handlers {
		if !s.Connected() {
			return
		}
		s.safely("connection", func() { fn(s) })
	}
}

// remove forgets a disconnected socket.
func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.leftLocked()
}

var socketsPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 64); return &s }}

// deliver is room.Local's Deliver: it encodes p once and sends the same
// frames to each local socket in ids.
func (n *Namespace) deliver(p *room.Packet, ids []string, opts room.Options, onAck func(room.Ack)) int {
	flags := opts.Flags
	buf := socketsPool.Get().(*[]*Socket)
	targets := (*buf)[:0]
	n.mu.RLock()
	for _, id := range ids {
		if s := n.sockets[id]; s != nil {
			targets = append(targets, s)
		}
	}
	n.mu.RUnlock()

	data := p.Data
	shared := n.recovery != nil && n.recovery.shared != nil && p.Offset != "" && onAck == nil && !flags.Volatile
	if shared {
		data = withOffset(data, p.Offset)
		n.recovery.skipShared(targets, p.Offset)
	}
	pkt := socketio.Packet{Type: socketio.Event, Namespace: n.name, Data: data, Attachments: p.Attachments}
	if onAck != nil {
		pkt.ID, pkt.HasID = n.nextAckID(), true
	}
	frames, err := n.parser.encode(&pkt)
	if err != nil {
		// Only the msgpack parser fails, on JSON no encoder of ours writes.
		n.logger.Error("namespace: broadcast cannot be encoded, not sent", "namespace", n.name, "err", err)
		clear(targets)
		*buf = targets[:0]
		socketsPool.Put(buf)
		return 0
	}
	if flags.NoCompress {
		markNoCompress(frames)
	}
	if n.recovery != nil && n.recovery.shared == nil && onAck == nil && !flags.Volatile {
		if offset := lastString(p.Data); offset != "" {
			// Recovering targets get the packet from their replay: it is
			// kept, and they are taken out of targets.
			n.recovery.store(offset, frames, opts, targets)
		}
	}

	count := 0
	var out outgoingEvent // decoded for the first socket with OnAnyOutgoing listeners
	o := n.watcher()
	if o != nil && (!n.observeWants(o, len(targets)) || !out.parse(data, p.Attachments)) {
		o = nil // nothing reported for this broadcast
	}
	for _, s := range targets {
		if s == nil {
			continue
		}
		if s.outgoing.Load() && !s.notifyParsed(&out, data, p.Attachments) {
			continue // an outgoing listener panicked: not sent to s (fail closed)
		}
		if o != nil {
			n.observeOutgoing(o, s.id, out.name, out.args)
		}
		if onAck != nil {
			id := s.id
			if !s.registerAck(pkt.ID, func(a Args) {
				onAck(room.Ack{SocketID: id, Data: joinArgs(a), Attachments: a.attachments})
			}) {
				continue
			}
		}
		if flags.Volatile {
			if ts, ok := s.client.conn.(trySender); ok && s.connected.Load() {
				if ts.TrySend(frames...) {
					count++
				}
				continue
			}
		}
		if err := s.send(frames); err != nil {
			n.logger.Debug("namespace: broadcast to a socket failed", "namespace", n.name, "socket", s.id, "err", err)
		}
		count++
	}
	clear(targets)
	*buf = targets[:0]
	socketsPool.Put(buf)
	return count
}

// sharedFrames encodes a broadcast from a shared store's history for a
// replay, its offset appended.
func (n *Namespace) sharedFrames(p *room.Packet, flags room.Flags) ([]transport.Frame, error) {
	pkt := socketio.Packet{Type: socketio.Event, Namespace: n.name, Data: withOffset(p.Data, p.Offset), Attachments: p.Attachments}
	frames, err := n.parser.encode(&pkt)
	if err != nil {
		return nil, err
	}
	if flags.NoCompress {
		markNoCompress(frames)
	}
	return frames, nil
}

// joinArgs turns Args back into a JSON array.
func joinArgs(a Args) json.RawMessage {
	size := 2
	for _, r := range a.raw {
		size += len(r) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, r := range a.raw {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, ']')
}

// disconnectIDs is room.Local's Disconnect.
func (n *Namespace) disconnectIDs(ids []string, close bool) {
	for _, s := range n.lookup(ids) {
		s.Disconnect(close)
	}
}

// describe is room.Local's Describe.
func (n *Namespace) describe(ids []string) []room.SocketInfo {
	socks := n.lookup(ids)
	out := make([]room.SocketInfo, 0, len(socks))
	for _, s := range socks {
		out = append(out, s.info())
	}
	return out
}

func (n *Namespace) lookup(ids []string) []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(ids))
	for _, id := range ids {
		if s := n.sockets[id]; s != nil {
			out = append(out, s)
		}
	}
	return out
}

// newID returns a socket id: 15 random bytes, URL-safe base64 (20 chars).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var _ = errors.New
