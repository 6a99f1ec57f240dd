package admin

import (
	"errors"

	"github.com/go-realtime/realtime/namespace"
)

// registerActions handles the UI's actions on its socket s (features EMIT,
// JOIN, LEAVE, DISCONNECT and their M- variants): each names a namespace
// and, optionally, a room or socket id the action is limited to; it acts
// on every node.
func (ins *Instrumentation) registerActions(s *namespace.Socket) {
	// target decodes the namespace (argument 0) and the filter (argument
	// i), and returns the broadcast they select.
	target := func(e *namespace.Event, i int) (namespace.Broadcast, bool) {
		var nsp, filter string
		if e.Args.Decode(0, &nsp) != nil {
			return namespace.Broadcast{}, false
		}
		ns := ins.lookup(nsp)
		if ns == nil {
			ins.logger.Warn("admin: the UI named a namespace this node does not have", "namespace", nsp, "action", e.Name)
			return namespace.Broadcast{}, false
		}
		if err := e.Args.Decode(i, &filter); err != nil && !errors.Is(err, namespace.ErrNoArg) {
			return namespace.Broadcast{}, false
		}
		if filter == "" {
			return ns.All(), true
		}
		return ns.In(filter), true
	}
	logErr := func(action string, err error) {
		if err != nil {
			ins.logger.Warn("admin: the UI's action failed", "action", action, "err", err)
		}
	}
	s.On("emit", func(e *namespace.Event) { // (nsp, filter, event, ...args)
		var event string
		b, ok := target(e, 1)
		if !ok || e.Args.Decode(2, &event) != nil {
			return
		}
		logErr("emit", b.Emit(event, e.Args.Values()[3:]...))
	})
	s.On("join", func(e *namespace.Event) { // (nsp, room, filter)
		var room string
		if b, ok := target(e, 2); ok && e.Args.Decode(1, &room) == nil && room != "" {
			logErr("join", b.SocketsJoin(room))
		}
	})
	s.On("leave", func(e *namespace.Event) { // (nsp, room, filter)
		var room string
		if b, ok := target(e, 2); ok && e.Args.Decode(1, &room) == nil && room != "" {
			logErr("leave", b.SocketsLeave(room))
		}
	})
	s.On("_disconnect", func(e *namespace.Event) { // (nsp, close, filter)
		var close bool
		if b, ok := target(e, 2); ok && e.Args.Decode(1, &close) == nil {
			logErr("disconnect", b.DisconnectSockets(close))
		}
	})
}

// lookup returns this node's namespace called name, or nil: the UI may
// not create namespaces.
func (ins *Instrumentation) lookup(name string) *namespace.Namespace {
	for _, ns := range ins.h.Namespaces() {
		if ns.Name() == name {
			return ns
		}
	}
	return nil
}
