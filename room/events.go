package room

import (
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
)

// EventKind is what happened to a room; the values are the names of the
// socket.io adapter's events.
type EventKind string

// Room events, as socket.io's adapter emits them.
const (
	CreateRoom EventKind = "create-room" // a room got its first member
	DeleteRoom EventKind = "delete-room" // a room lost its last member
	JoinRoom   EventKind = "join-room"   // a socket joined a room
	LeaveRoom  EventKind = "leave-room"  // a socket left a room
)

// Event is a change in the rooms of this node.
type Event struct {
	Kind EventKind
	Room string
	// ID is the socket that joined or left; "" for CreateRoom and
	// DeleteRoom.
	ID string
}

// Notifier is implemented by adapters that report room events ([Memory],
// and room/redis's adapter, for the rooms of this node).
type Notifier interface {
	// OnRoomEvent registers fn to run for every room event.
	OnRoomEvent(fn func(Event))
}

// notifier delivers room events to hooks in the order they happened,
// outside the adapter's lock: events are queued under it, and whichever
// caller finds no delivery running delivers the queue, including what is
// queued meanwhile. A hook may call the adapter (a join it makes is
// delivered after the current event, by the same loop).
type notifier struct {
	active atomic.Bool // there are hooks: events are worth queueing

	mu      sync.Mutex
	hooks   []func(Event) // copied on write
	queue   []Event
	running bool
}

func (n *notifier) add(fn func(Event)) {
	n.mu.Lock()
	n.hooks = append(slices.Clip(n.hooks), fn)
	n.active.Store(true)
	n.mu.Unlock()
}

// push queues events; called with the adapter's lock held, so that the
// queue is in the order of the changes.
func (n *notifier) push(events ...Event) {
	n.mu.Lock()
	n.queue = append(n.queue, events...)
	n.mu.Unlock()
}

// deliver runs the hooks for the queued events, unless another caller is
// already doing it; called without the adapter's lock.
func (n *notifier) deliver(l Local) {
	if !n.active.Load() {
		return
	}
	n.mu.Lock()
	if n.running {
		n.mu.Unlock()
		return
	}
	n.running = true
	for len(n.queue) > 0 {
		queue, hooks := n.queue, n.hooks
		n.queue = nil
		n.mu.Unlock()
		for _, e := range queue {
			for _, fn := range hooks {
				callHook(l, fn, e)
			}
		}
		n.mu.Lock()
	}
	n.running = false
	n.mu.Unlock()
}

// callHook runs a hook, logging a panic.
func callHook(l Local, fn func(Event), e Event) {
	defer func() {
		if r := recover(); r != nil {
			LoggerOf(l).Error("room: room event hook panicked", "namespace", l.Name(), "event", string(e.Kind), "room", e.Room,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn(e)
}
