package namespace

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/go-realtime/realtime/room"
)

// Broadcast is a set of sockets to emit to or act on: a namespace's
// sockets in some rooms, except some. It is an immutable value: each
// method returns a new Broadcast, so one can be kept and reused.
//
//	ns.To("room one").Except("banned").Emit("news", item)
//	socket.To("room one").Emit("msg", m) // everyone in the room but socket
type Broadcast struct {
	ns     *Namespace
	rooms  []string
	except []string
	flags  room.Flags
}

// To adds rooms to the target: sockets in any of them are selected.
func (b Broadcast) To(rooms ...string) Broadcast {
	b.rooms = append(slices.Clip(b.rooms), rooms...)
	return b
}

// In is To.
func (b Broadcast) In(rooms ...string) Broadcast { return b.To(rooms...) }

// Except leaves out the sockets in rooms (a socket id names its own room).
func (b Broadcast) Except(rooms ...string) Broadcast {
	b.except = append(slices.Clip(b.except), rooms...)
	return b
}

// Volatile lets the packets be dropped for clients that are not ready.
func (b Broadcast) Volatile() Broadcast { b.flags.Volatile = true; return b }

// Local restricts the broadcast to this node.
func (b Broadcast) Local() Broadcast { b.flags.Local = true; return b }

func (b Broadcast) options() room.Options {
	return room.Options{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// namespaces returns the namespaces the broadcast covers: a dynamic
// namespace's broadcasts reach all its instances.
func (b Broadcast) namespaces() []*Namespace {
	b.ns.mu.RLock()
	defer b.ns.mu.RUnlock()
	if b.ns.children == nil {
		return []*Namespace{b.ns}
	}
	out := make([]*Namespace, 0, len(b.ns.children))
	for _, c := range b.ns.children {
		out = append(out, c)
	}
	return out
}

// Emit sends an event to the selected sockets. The packet is encoded once
// and the same bytes go to every recipient; a slow recipient never holds
// up the others.
func (b Broadcast) Emit(event string, args ...any) error {
	data, atts, err := eventData(event, args)
	if err != nil {
		return err
	}
	opts := b.options()
	for _, ns := range b.namespaces() {
		d := data
		if ns.recovery != nil && ns.recovery.shared == nil && !opts.Flags.Volatile {
			// Kept by every node's Deliver, under this offset.
			d = withOffset(data, newOffset())
		}
		p := &room.Packet{Namespace: ns.name, Data: d, Attachments: atts}
		if err := ns.adapter.Broadcast(context.Background(), p, opts); err != nil {
			return fmt.Errorf("namespace: broadcast %q: %w", event, err)
		}
	}
	return nil
}

// EmitWithAck sends an event to the selected sockets asking each for an
// acknowledgement, and waits until all have answered or ctx ends. It
// returns the replies received; when ctx ends first, they come with an
// error wrapping ctx's.
func (b Broadcast) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	data, atts, err := eventData(event, args)
	if err != nil {
		return nil, err
	}
	var (
		mu       sync.Mutex
		expected int
		counted  bool
		replies  []Args
		done     = make(chan struct{})
		closed   bool
	)
	check := func() { // with mu held
		if counted && !closed && len(replies) >= expected {
			closed = true
			close(done)
		}
	}
	onCount := func(n int) {
		mu.Lock()
		expected += n
		mu.Unlock()
	}
	onAck := func(a room.Ack) {
		args, err := argsOf(a.Data, a.Attachments, 0)
		if err != nil {
			return
		}
		mu.Lock()
		if !closed {
			replies = append(replies, args)
			check()
		}
		mu.Unlock()
	}
	opts := b.options()
	for _, ns := range b.namespaces() {
		p := &room.Packet{Namespace: ns.name, Data: data, Attachments: atts}
		if err := ns.adapter.BroadcastWithAck(ctx, p, opts, onCount, onAck); err != nil {
			return nil, fmt.Errorf("namespace: broadcast %q: %w", event, err)
		}
	}
	mu.Lock()
	counted = true
	check()
	mu.Unlock()

	select {
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return replies, nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		closed = true
		return slices.Clone(replies), fmt.Errorf("namespace: %d of %d acks for %q: %w", len(replies), expected, event, ctx.Err())
	}
}

// Sockets returns the selected sockets on this node.
func (b Broadcast) Sockets() []*Socket {
	var out []*Socket
	for _, ns := range b.namespaces() {
		ids := ns.adapter.Sockets(b.rooms...)
		if len(b.except) > 0 && len(ids) > 0 {
			// The sockets in the except rooms, listed once: not each
			// selected socket's rooms, which may be many.
			excluded := make(map[string]struct{})
			for _, id := range ns.adapter.Sockets(b.except...) {
				excluded[id] = struct{}{}
			}
			ids = slices.DeleteFunc(ids, func(id string) bool {
				_, ok := excluded[id]
				return ok
			})
		}
		out = append(out, ns.lookup(ids)...)
	}
	return out
}

// RemoteSocket is a socket described by FetchSockets, on this node or
// another; its methods act on it wherever it is.
type RemoteSocket struct {
	room.SocketInfo
	ns *Namespace
}

// Emit sends an event to the socket.
func (r RemoteSocket) Emit(event string, args ...any) error {
	return r.ns.To(r.ID).Emit(event, args...)
}

// Join makes the socket join rooms.
func (r RemoteSocket) Join(rooms ...string) error { return r.ns.To(r.ID).SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r RemoteSocket) Leave(rooms ...string) error { return r.ns.To(r.ID).SocketsLeave(rooms...) }

// Disconnect disconnects the socket; with close, its client connection too.
func (r RemoteSocket) Disconnect(close bool) error { return r.ns.To(r.ID).DisconnectSockets(close) }

// FetchSockets describes the selected sockets on every node (unless Local).
func (b Broadcast) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, ns := range b.namespaces() {
		infos, err := ns.adapter.FetchSockets(ctx, b.options())
		for _, info := range infos {
			out = append(out, RemoteSocket{SocketInfo: info, ns: ns})
		}
		if err != nil {
			// What the nodes that answered reported comes with the error.
			return out, fmt.Errorf("namespace: fetch sockets: %w", err)
		}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (b Broadcast) SocketsJoin(rooms ...string) error {
	for _, ns := range b.namespaces() {
		if err := ns.adapter.AddSockets(context.Background(), b.options(), rooms...); err != nil {
			return fmt.Errorf("namespace: sockets join: %w", err)
		}
	}
	return nil
}

// SocketsLeave makes the selected sockets leave rooms.
func (b Broadcast) SocketsLeave(rooms ...string) error {
	for _, ns := range b.namespaces() {
		if err := ns.adapter.DelSockets(context.Background(), b.options(), rooms...); err != nil {
			return fmt.Errorf("namespace: sockets leave: %w", err)
		}
	}
	return nil
}

// DisconnectSockets disconnects the selected sockets; with close, their
// client connections too.
func (b Broadcast) DisconnectSockets(close bool) error {
	for _, ns := range b.namespaces() {
		if err := ns.adapter.DisconnectSockets(context.Background(), b.options(), close); err != nil {
			return fmt.Errorf("namespace: disconnect sockets: %w", err)
		}
	}
	return nil
}
