package admin

import (
	"runtime"
	"time"
	"weak"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
)

// In development mode the feed watches the instrumented namespaces only
// while a UI watches, on this node or (as the other nodes announce) on
// another: then each namespace has the feed as its observer (one per
// namespace, called by the namespace itself: nothing is attached to the
// sockets), and a hub no UI looks at has none. Even while watched, an event
// sent by a broadcast is decoded for the feed only when the second's
// FeedRate is not used up.

// watchEvent is what a node with UIs connected announces to the others,
// every StatsInterval.
const watchEvent = "realtime:admin:watching"

// watchTTL is how long, in StatsIntervals, an announcement keeps a node
// watched.
const watchTTL = 3

// impl is package namespace's machinery that is not public API.
var impl = wiring.Get[*namespace.Namespace, namespace.Handshake, namespace.Args, *namespace.Recovery]()

// observer is the feed's view of one namespace (a wiring.Observer).
type observer struct {
	ins    *Instrumentation
	nsp    string
	events bool // false for the admin namespace: the UIs' own events are not reported
}

func (o *observer) Wants(n int) bool {
	f := o.ins.feed
	if !o.events || !o.ins.live() {
		return false
	}
	if f.inSec.Load() < f.rate {
		return true
	}
	f.dropped.Add(int64(n))
	return false
}

func (o *observer) Incoming(sid, name string, args namespace.Args) {
	o.event(kindReceived, sid, name, args)
}

func (o *observer) Outgoing(sid, name string, args namespace.Args) {
	o.event(kindSent, sid, name, args)
}

func (o *observer) event(k kind, sid, name string, args namespace.Args) {
	f := o.ins.feed
	if o.events && o.ins.live() && f.allowEvent() {
		f.push(record{kind: k, t: time.Now(), nsp: o.nsp, id: sid, text: name, args: args, size: argsSize(args)})
	}
}

func (o *observer) Disconnected(sid, reason string) {
	if o.ins.live() {
		o.ins.feed.push(record{kind: kindDisconnected, t: time.Now(), nsp: o.nsp, id: sid, text: reason})
	}
}

// instrument prepares ns for the feed, once: the connection records (and
// the transport's upgrades), and the room records; while watched, ns has
// the feed's observer.
func (ins *Instrumentation) instrument(ns *namespace.Namespace) {
	key := weak.Make(ns)
	if _, loaded := ins.instrumented.LoadOrStore(key, &observer{ins: ins, nsp: ns.Name(), events: ns != ins.admin}); loaded {
		return
	}
	// Clients choose the names of a dynamic namespace's instances, which
	// the hub removes when their last socket leaves: their entries go with
	// them.
	runtime.AddCleanup(ns, func(k weak.Pointer[namespace.Namespace]) { ins.instrumented.Delete(k) }, key)
	name := ns.Name()
	f := ins.feed
	ns.OnConnection(func(s *namespace.Socket) {
		ins.onUpgrade(s)
		if ins.live() {
			f.push(record{kind: kindConnected, t: time.Now(), sock: s, nsp: name, id: s.ID()})
		}
	})
	for _, s := range ns.Sockets() {
		ins.onUpgrade(s) // a socket may get the hook twice: socket_updated is idempotent
	}
	err := ns.OnRoomEvent(func(e room.Event) {
		if !ins.live() {
			return
		}
		switch e.Kind {
		case room.JoinRoom:
			f.push(record{kind: kindJoined, t: time.Now(), nsp: name, id: e.ID, text: e.Room})
		case room.LeaveRoom:
			f.push(record{kind: kindLeft, t: time.Now(), nsp: name, id: e.ID, text: e.Room})
		}
	})
	if err != nil {
		ins.logger.Warn("admin: the UI will not see room changes in this namespace", "namespace", name, "err", err)
	}
	ins.wmu.Lock()
	if ins.watching.Load() {
		ins.setObserver(ns, true)
	}
	ins.wmu.Unlock()
}

// onUpgrade reports the upgrade of a socket that uses HTTP long-polling,
// while a UI watches. The hook stays with the connection (it cannot be
// removed), so it is registered on every polling socket, watched or not:
// sockets that connect over WebSocket cost nothing.
func (ins *Instrumentation) onUpgrade(s *namespace.Socket) {
	conn := s.Conn()
	if conn.Transport() != "polling" {
		return
	}
	name, id, f := s.Namespace().Name(), s.ID(), ins.feed
	conn.OnUpgrade(func(transport string) {
		if s.Connected() && ins.live() {
			f.push(record{kind: kindUpdated, nsp: name, id: id, text: transport})
		}
	})
}

// live reports whether the feed runs: development mode, a UI watching,
// not closed.
func (ins *Instrumentation) live() bool { return ins.watching.Load() && !ins.closed.Load() }

// setObserver gives instrumented ns the feed's observer, or takes it away.
// ins.wmu is held.
func (ins *Instrumentation) setObserver(ns *namespace.Namespace, on bool) {
	o, ok := ins.instrumented.Load(weak.Make(ns))
	if !ok {
		return
	}
	if on {
		impl.SetObserver(ns, o.(*observer))
	} else {
		impl.SetObserver(ns, nil)
	}
}

// remoteWatch notes that a UI watches on another node.
func (ins *Instrumentation) remoteWatch() {
	ins.remoteUntil.Store(time.Now().Add(watchTTL * ins.opts.StatsInterval).UnixNano())
	ins.updateWatching()
}

// updateWatching gives the instrumented namespaces the feed's observer
// when a UI has begun to watch, and takes it away when none watches any
// more.
func (ins *Instrumentation) updateWatching() {
	if ins.feed == nil {
		return
	}
	ins.wmu.Lock()
	defer ins.wmu.Unlock()
	want := !ins.closed.Load() && (ins.admin.Len() > 0 || time.Now().UnixNano() < ins.remoteUntil.Load())
	if want == ins.watching.Load() {
		return
	}
	ins.watching.Store(want)
	for _, ns := range ins.h.Namespaces() {
		ins.setObserver(ns, want)
	}
}

// announce tells the other nodes that UIs watch on this one.
func (ins *Instrumentation) announce() {
	if ins.feed != nil && ins.admin.Len() > 0 {
		if err := ins.admin.ServerSideEmit(watchEvent); err != nil {
			ins.logger.Debug("admin: could not tell the other nodes a UI watches", "err", err)
		}
	}
}
