package admin

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
)

// In development mode the feed's hooks are on the sockets only while a UI
// watches, on this node or (as the other nodes announce) on another: the
// hooks cost the hub's hot paths (every event sent to a socket is decoded
// for them), so a hub no UI looks at does not pay for them. When a UI
// connects, the sockets get their hooks, and the UI the list of sockets;
// when the last one has gone, the hooks are removed.

// watchEvent is what a node with UIs connected announces to the others,
// every StatsInterval.
const watchEvent = "realtime:admin:watching"

// watchTTL is how long, in StatsIntervals, an announcement keeps a node
// watched.
const watchTTL = 3

// attachment is the feed's hooks on one socket.
type attachment struct {
	active   atomic.Bool
	any, out namespace.Listener
}

// instrument prepares ns for the feed, once: a middleware that attaches
// the hooks to its sockets while watched (a middleware runs before every
// connection handler, as socket.io's instrument() prepends its connection
// listener: the UI sees what those handlers emit), the connection records,
// and the room records.
func (ins *Instrumentation) instrument(ns *namespace.Namespace) {
	if _, loaded := ins.instrumented.LoadOrStore(ns, struct{}{}); loaded {
		return
	}
	name := ns.Name()
	f := ins.feed
	ns.Use(func(s *namespace.Socket) error {
		if ins.live() {
			ins.attach(s)
		}
		return nil
	})
	ns.OnConnection(func(s *namespace.Socket) {
		if !ins.live() {
			return
		}
		ins.attach(s) // a socket recovered without the middlewares (Recovery.SkipMiddlewares), or connected as watching began
		f.push(record{kind: kindConnected, t: time.Now(), sock: s, nsp: name, id: s.ID()})
	})
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
}

// live reports whether the feed runs: development mode, a UI watching,
// not closed.
func (ins *Instrumentation) live() bool { return ins.watching.Load() && !ins.closed.Load() }

// attach puts the feed's hooks on s, unless they are there.
func (ins *Instrumentation) attach(s *namespace.Socket) {
	ins.wmu.Lock()
	defer ins.wmu.Unlock()
	ins.attachLocked(s)
}

func (ins *Instrumentation) attachLocked(s *namespace.Socket) {
	a := ins.attached[s]
	if a != nil && a.active.Load() {
		return
	}
	nsp := s.Namespace()
	name, id, f := nsp.Name(), s.ID(), ins.feed
	if a == nil {
		// Hooks that cannot be removed: registered once, idle while a is
		// not active.
		a = &attachment{}
		ins.attached[s] = a
		s.Conn().OnUpgrade(func(transport string) {
			if a.active.Load() && s.Connected() && ins.live() {
				f.push(record{kind: kindUpdated, nsp: name, id: id, text: transport})
			}
		})
		s.OnDisconnect(func(reason string) {
			if a.active.Load() && ins.live() {
				f.push(record{kind: kindDisconnected, t: time.Now(), nsp: name, id: id, text: reason})
			}
		})
		// Forget s when it ends, connected or refused by a middleware.
		context.AfterFunc(s.Context(), func() {
			ins.wmu.Lock()
			delete(ins.attached, s)
			ins.wmu.Unlock()
		})
	}
	a.active.Store(true)
	if nsp == ins.admin {
		return // the UIs' own events are not reported
	}
	a.any = s.OnAny(func(e *namespace.Event) {
		if a.active.Load() && ins.live() && f.allowEvent() {
			f.push(record{kind: kindReceived, t: time.Now(), nsp: name, id: id, text: e.Name, args: e.Args, size: argsSize(e.Args)})
		}
	})
	a.out = s.OnAnyOutgoing(func(e *namespace.Event) {
		if a.active.Load() && ins.live() && f.allowEvent() {
			f.push(record{kind: kindSent, t: time.Now(), nsp: name, id: id, text: e.Name, args: e.Args, size: argsSize(e.Args)})
		}
	})
}

// remoteWatch notes that a UI watches on another node.
func (ins *Instrumentation) remoteWatch() {
	ins.remoteUntil.Store(time.Now().Add(watchTTL * ins.opts.StatsInterval).UnixNano())
	ins.updateWatching()
}

// updateWatching attaches the hooks to every socket when a UI has begun
// to watch, and removes them when none watches any more.
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
	if want {
		for _, ns := range ins.h.Namespaces() {
			if _, ok := ins.instrumented.Load(ns); ok {
				for _, s := range ns.Sockets() {
					ins.attachLocked(s)
				}
			}
		}
		return
	}
	for _, a := range ins.attached {
		if a.active.Swap(false) {
			a.any.Off()
			a.out.Off()
		}
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
