package namespace

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
)

// entry is a listener registered with On or Once.
type entry struct {
	name string
	fn   func(*Event)
	id   uint32
	once bool
}

// listener is a function registered with OnAny, PrependAny, OnAnyOutgoing
// or PrependAnyOutgoing.
type listener struct {
	fn func(*Event)
	id uint32
}

// errorListener is a function registered with OnError.
type errorListener struct {
	fn func(error)
	id uint32
}

// Listener identifies one function registered on a socket (with On, Once,
// OnAny, OnError...): Go functions can't be compared, so this is how one
// of them is removed. The zero Listener identifies none.
type Listener struct {
	s  *Socket
	id uint32
}

// Off removes the listener; it reports whether it was still registered.
func (l Listener) Off() bool {
	if l.s == nil {
		return false
	}
	return l.s.remove(l.id)
}

// nilHandler panics for a nil handler: that is a programming error, and a
// listener that does nothing would hide it until an event is lost.
func nilHandler(method string) {
	panic("namespace: " + method + ": nil handler")
}

// nextIDLocked returns a new listener id; s.mu is held.
func (s *Socket) nextIDLocked() uint32 {
	s.lastID++
	return s.lastID
}

// On adds fn to the listeners of event and returns its [Listener]. Each
// event runs all its listeners, in the order they were added (socket.io:
// socket.on). fn must not be nil.
//
//	s.On("chat message", func(e *namespace.Event) {
//		var msg string
//		if err := e.Args.Decode(0, &msg); err != nil {
//			return
//		}
//		e.Socket.To("room").Emit("chat message", msg)
//	})
//
// For handlers with typed arguments, see [Handle] and [HandleAck].
func (s *Socket) On(event string, fn func(e *Event)) Listener {
	return s.add(event, fn, false, "On")
}

// Once is On for a listener that runs for the next event only.
func (s *Socket) Once(event string, fn func(e *Event)) Listener {
	return s.add(event, fn, true, "Once")
}

func (s *Socket) add(event string, fn func(*Event), once bool, method string) Listener {
	if fn == nil {
		nilHandler(method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextIDLocked()
	e := entry{name: event, fn: fn, id: id, once: once}
	i := s.findLocked(event)
	if i < 0 {
		if s.handlers == nil {
			s.handlers = make([]entry, 0, 4)
		}
		s.handlers = append(s.handlers, e)
		if s.more != nil && s.more.index != nil {
			s.more.index[event] = len(s.handlers) - 1
		} else if len(s.handlers) > indexAbove {
			s.reindexLocked()
		}
		return Listener{s, id}
	}
	for i < len(s.handlers) && s.handlers[i].name == event {
		i++
	}
	s.handlers = slices.Insert(s.handlers, i, e) // kept with the event's others
	if len(s.handlers) > indexAbove {
		s.reindexLocked()
	}
	return Listener{s, id}
}

// Off removes every listener of event (socket.io: socket.off(event) or
// removeAllListeners(event)). To remove one, call its [Listener.Off].
func (s *Socket) Off(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findLocked(event)
	if i < 0 {
		return
	}
	j := i + 1
	for j < len(s.handlers) && s.handlers[j].name == event {
		j++
	}
	s.deleteLocked(i, j)
}

// Listeners returns how many listeners event has (socket.io:
// socket.listenerCount(event)).
func (s *Socket) Listeners(event string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findLocked(event)
	if i < 0 {
		return 0
	}
	n := 0
	for ; i < len(s.handlers) && s.handlers[i].name == event; i++ {
		n++
	}
	return n
}

// deleteLocked removes s.handlers[i:j]; s.mu is held.
func (s *Socket) deleteLocked(i, j int) {
	s.handlers = slices.Delete(s.handlers, i, j)
	if s.more != nil && s.more.index != nil {
		s.reindexLocked()
	}
}

// findLocked returns the position of event's first listener in
// s.handlers, or -1. Its argument may be a string converted from bytes: it
// is not kept.
func (s *Socket) findLocked(event string) int {
	if s.more != nil && s.more.index != nil {
		if i, ok := s.more.index[event]; ok {
			return i
		}
		return -1
	}
	for i := range s.handlers {
		if s.handlers[i].name == event {
			return i
		}
	}
	return -1
}

// reindexLocked rebuilds the listeners' index, or drops it when there are
// few listeners.
func (s *Socket) reindexLocked() {
	if len(s.handlers) <= indexAbove {
		if s.more != nil {
			s.more.index = nil
		}
		return
	}
	index := make(map[string]int, len(s.handlers))
	for i := len(s.handlers) - 1; i >= 0; i-- {
		index[s.handlers[i].name] = i
	}
	s.extrasLocked().index = index
}

// remove removes the listener with the given id, wherever it is.
func (s *Socket) remove(id uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.handlers, func(e entry) bool { return e.id == id }); i >= 0 {
		s.deleteLocked(i, i+1)
		return true
	}
	x := s.more
	if x == nil {
		return false
	}
	match := func(l listener) bool { return l.id == id }
	if i := slices.IndexFunc(x.anyIn, match); i >= 0 {
		x.anyIn = slices.Delete(slices.Clone(x.anyIn), i, i+1)
		return true
	}
	if i := slices.IndexFunc(x.anyOut, match); i >= 0 {
		x.anyOut = slices.Delete(slices.Clone(x.anyOut), i, i+1)
		s.outgoing.Store(len(x.anyOut) > 0)
		return true
	}
	if i := slices.IndexFunc(x.onError, func(l errorListener) bool { return l.id == id }); i >= 0 {
		x.onError = slices.Delete(slices.Clone(x.onError), i, i+1)
		return true
	}
	byID := func(l reasonListener) bool { return l.id == id }
	for _, list := range []*[]reasonListener{&x.onDisconnect, &x.onDisconnecting} {
		if i := slices.IndexFunc(*list, byID); i >= 0 {
			*list = slices.Delete(slices.Clone(*list), i, i+1)
			return true
		}
	}
	return false
}

// anyList selects the incoming or the outgoing catch-all listeners.
func (x *socketExtras) anyList(out bool) *[]listener {
	if out {
		return &x.anyOut
	}
	return &x.anyIn
}

// addAny adds a catch-all listener, first or last. The lists are copied on
// write: dispatch reads them outside the lock.
func (s *Socket) addAny(fn func(*Event), out, first bool, method string) Listener {
	if fn == nil {
		nilHandler(method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := listener{fn: fn, id: s.nextIDLocked()}
	list := s.extrasLocked().anyList(out)
	if first {
		*list = append([]listener{l}, *list...)
	} else {
		*list = append(slices.Clip(*list), l)
	}
	if out {
		s.outgoing.Store(true)
	}
	return Listener{s, l.id}
}

// offAny removes every catch-all listener of one direction.
func (s *Socket) offAny(out bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.more != nil {
		*s.more.anyList(out) = nil
	}
	if out {
		s.outgoing.Store(false)
	}
}

// listAny returns the catch-all listeners of one direction.
func (s *Socket) listAny(out bool) []func(*Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.more == nil {
		return nil
	}
	list := *s.more.anyList(out)
	fns := make([]func(*Event), len(list))
	for i, l := range list {
		fns[i] = l.fn
	}
	return fns
}

// OnAny adds fn to the listeners called for every event the client sends,
// before the socket's middlewares ([Socket.Use]) and the event's own
// listeners (socket.io: socket.onAny). A catch-all listener that panics
// stops the event.
func (s *Socket) OnAny(fn func(e *Event)) Listener { return s.addAny(fn, false, false, "OnAny") }

// PrependAny is OnAny for a listener that runs before the others.
func (s *Socket) PrependAny(fn func(e *Event)) Listener {
	return s.addAny(fn, false, true, "PrependAny")
}

// OffAny removes every listener added with OnAny and PrependAny. To remove
// one, call its [Listener.Off].
func (s *Socket) OffAny() { s.offAny(false) }

// ListenersAny returns the listeners added with OnAny and PrependAny, in
// the order they run.
func (s *Socket) ListenersAny() []func(e *Event) { return s.listAny(false) }

// OnAnyOutgoing adds fn to the listeners called for every event sent to
// the socket's client: by [Socket.Emit] and [Socket.EmitWithAck], and by
// the broadcasts of this node that reach the socket (what socket.io's
// socket.onAnyOutgoing sees). The Event holds the name and the arguments
// as they will be sent (JSON); its Ack is nil. It is called before the
// packet is sent, on the emitting goroutine: don't block in it. Acks and
// the packets replayed by connection state recovery are not reported.
//
// The Event is fn's only while it runs: a broadcast hands the same one,
// updated, to the listeners of each socket it reaches, so that watching
// every outgoing event costs no allocation per recipient. Keep e.Name and
// e.Args (which never change), not e.
func (s *Socket) OnAnyOutgoing(fn func(e *Event)) Listener {
	return s.addAny(fn, true, false, "OnAnyOutgoing")
}

// PrependAnyOutgoing is OnAnyOutgoing for a listener that runs before the
// others.
func (s *Socket) PrependAnyOutgoing(fn func(e *Event)) Listener {
	return s.addAny(fn, true, true, "PrependAnyOutgoing")
}

// OffAnyOutgoing removes every listener added with OnAnyOutgoing and
// PrependAnyOutgoing.
func (s *Socket) OffAnyOutgoing() { s.offAny(true) }

// ListenersAnyOutgoing returns the listeners added with OnAnyOutgoing and
// PrependAnyOutgoing, in the order they run.
func (s *Socket) ListenersAnyOutgoing() []func(e *Event) { return s.listAny(true) }

// Use adds a middleware that every event the client sends goes through,
// after the OnAny listeners and before the event's own (socket.io:
// socket.use). Middlewares run in the order they were added; one that
// returns an error refuses the event: the later middlewares and the
// event's listeners don't run, and the error goes to the socket's
// [Socket.OnError] listeners. A middleware that panics refuses the event
// too, with an error wrapping [ErrPanicked].
//
// A middleware may change e.Args, or answer e.Ack itself. A refused event
// that asked for an ack gets no answer unless the middleware gives one, as
// in socket.io.
func (s *Socket) Use(mw func(e *Event) error) {
	if mw == nil {
		nilHandler("Use")
	}
	s.mu.Lock()
	x := s.extrasLocked()
	x.uses = append(slices.Clip(x.uses), mw)
	s.mu.Unlock()
}

// OnError adds fn to the listeners of the socket's errors: the events its
// middlewares refused (socket.io: socket.on("error")). Without one, such
// errors are logged.
func (s *Socket) OnError(fn func(err error)) Listener {
	if fn == nil {
		nilHandler("OnError")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := errorListener{fn: fn, id: s.nextIDLocked()}
	x := s.extrasLocked()
	x.onError = append(slices.Clip(x.onError), l)
	return Listener{s, l.id}
}

// ErrPanicked is wrapped by the error of a middleware that panicked.
var ErrPanicked = errors.New("namespace: panicked")

// runUses runs the socket's middlewares for e; it returns the error of the
// first that refuses it.
func (s *Socket) runUses(uses []func(*Event) error, e *Event) error {
	for _, mw := range uses {
		if err := s.runUse(mw, e); err != nil {
			return err
		}
	}
	return nil
}

// runUse runs one middleware; a panic refuses the event (fail closed).
func (s *Socket) runUse(mw func(*Event) error, e *Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.ns.logger.Error("namespace: socket middleware panicked", "namespace", s.ns.name, "socket", s.id, "event", e.Name,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: middleware for %q", ErrPanicked, e.Name)
		}
	}()
	return mw(e)
}

// refused reports a middleware's refusal to the OnError listeners.
func (s *Socket) refused(event string, err error) {
	s.mu.Lock()
	var ls []errorListener
	if s.more != nil {
		ls = s.more.onError
	}
	s.mu.Unlock()
	if len(ls) == 0 {
		s.ns.logger.Info("namespace: event refused by a socket middleware (no OnError listener)", "namespace", s.ns.name,
			"socket", s.id, "event", event, "err", err)
		return
	}
	for _, l := range ls {
		s.safelyNoDisconnect(func() { l.fn(err) })
	}
}
