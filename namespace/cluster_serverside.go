package namespace

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/go-realtime/realtime/room"
)

// Server-side events: messages between the server nodes of a cluster
// (socket.io's serverSideEmit), carried by an adapter that implements
// room.ServerSideEmitter, such as room/redis.

// reservedServerSide are the event names socket.io keeps for itself on a
// namespace.
var reservedServerSide = []string{"connect", "connection", "new_namespace"}

// serverSideListeners holds a namespace's OnServerSideEmit handlers. They
// live beside the Namespace, keyed by a weak pointer so that a discarded
// namespace takes its handlers with it.
type serverSideListeners struct {
	mu       sync.RWMutex
	handlers map[string]func(*Event)
}

var serverSideRegistry sync.Map // weak.Pointer[Namespace] -> *serverSideListeners

func (n *Namespace) serverSide(create bool) *serverSideListeners {
	key := weak.Make(n)
	if v, ok := serverSideRegistry.Load(key); ok {
		return v.(*serverSideListeners)
	}
	if !create {
		return nil
	}
	v, loaded := serverSideRegistry.LoadOrStore(key, &serverSideListeners{handlers: make(map[string]func(*Event))})
	if !loaded {
		runtime.AddCleanup(n, func(k weak.Pointer[Namespace]) { serverSideRegistry.Delete(k) }, key)
	}
	return v.(*serverSideListeners)
}

// OnServerSideEmit registers the handler for event when another server
// node of the cluster sends it with ServerSideEmit, replacing any earlier
// one. The Event's Socket is nil; when the sender awaits an answer
// (ServerSideEmitWithAck) the Event's Ack sends it. A dynamic namespace's
// handlers serve all its instances. Handlers run one at a time on the
// adapter's goroutine: don't block in them. fn must not be nil.
//
//	chat.OnServerSideEmit("load", func(e *namespace.Event) {
//		if e.Ack != nil {
//			_ = e.Ack(chat.Len())
//		}
//	})
func (n *Namespace) OnServerSideEmit(event string, fn func(e *Event)) {
	if fn == nil {
		panic("namespace: OnServerSideEmit: nil handler")
	}
	h := fn
	l := n.serverSide(true)
	l.mu.Lock()
	l.handlers[event] = h
	l.mu.Unlock()
}

// serverSideData encodes [event, ...args] for another node: plain JSON
// (binary values travel as base64 text, as encoding/json writes []byte).
func serverSideData(event string, args []any) (json.RawMessage, error) {
	if slices.Contains(reservedServerSide, event) || slices.Contains(reserved, event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return nil, fmt.Errorf("namespace: server-side emit %q: %w", event, err)
	}
	return data, nil
}

// ServerSideEmit sends event to this namespace on every other server node
// of the cluster, where OnServerSideEmit handlers (or socket.io's
// io.on(event) listeners) receive it. Arguments travel as JSON. With an
// adapter that links no other node (the in-memory default) it does
// nothing.
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	data, err := serverSideData(event, args)
	if err != nil {
		return err
	}
	em, ok := n.adapter.(room.ServerSideEmitter)
	if !ok {
		return nil
	}
	if err := em.ServerSideEmit(context.Background(), data); err != nil {
		return fmt.Errorf("namespace: server-side emit %q: %w", event, err)
	}
	return nil
}

// ServerSideEmitWithAck sends event as ServerSideEmit does and waits for
// every other node to answer, or for ctx (or the adapter's request
// timeout) to end. It returns one Args per node that answered; when some
// did not, they come with an error. Without other nodes it returns none.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	data, err := serverSideData(event, args)
	if err != nil {
		return nil, err
	}
	em, ok := n.adapter.(room.ServerSideEmitter)
	if !ok {
		return nil, nil
	}
	replies, err := em.ServerSideEmitWithAck(ctx, data)
	out := make([]Args, 0, len(replies))
	for _, r := range replies {
		if a, perr := argsOf(r, nil, 0); perr == nil {
			out = append(out, a)
		}
	}
	if err != nil {
		return out, fmt.Errorf("namespace: server-side emit %q: %w", event, err)
	}
	return out, nil
}

// handleServerSideEmit is room.ServerSideHandler's HandleServerSideEmit:
// adapters call it with an event from another node.
func (n *Namespace) handleServerSideEmit(data json.RawMessage, reply func(args json.RawMessage)) {
	name, args, err := parseEvent(data, nil)
	if err != nil {
		n.logger.Debug("namespace: malformed server-side event", "namespace", n.name, "err", err)
		return
	}
	var h func(*Event)
	for ns := n; ns != nil && h == nil; ns = ns.parent {
		if l := ns.serverSide(false); l != nil {
			l.mu.RLock()
			h = l.handlers[name]
			l.mu.RUnlock()
		}
	}
	if h == nil {
		return
	}
	e := &Event{Name: name, Args: args}
	if reply != nil {
		var sent atomic.Bool
		e.Ack = func(args ...any) error {
			if sent.Swap(true) {
				return ErrAckSent
			}
			if args == nil {
				args = []any{}
			}
			data, err := json.Marshal(args)
			if err != nil {
				return fmt.Errorf("namespace: server-side ack: %w", err)
			}
			reply(data)
			return nil
		}
	}
	defer func() {
		if r := recover(); r != nil {
			n.logger.Error("namespace: server-side event handler panicked", "namespace", n.name, "event", name,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	h(e)
}
