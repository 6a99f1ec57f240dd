package engineio

import (
	"runtime/debug"
	"slices"

	"github.com/go-realtime/realtime/transport"
)

// Packet is one Engine.IO packet as a session's hooks see it (see
// [Session.OnPacket] and [Session.OnPacketCreate]).
type Packet struct {
	// Type is the packet type's name: "open", "close", "ping", "pong",
	// "message", "upgrade" or "noop".
	Type string
	// Data is the packet's data, without its type; nil when it has none.
	// It belongs to the session: it is only valid during the hook's call
	// and must not be modified.
	Data []byte
	// Binary is set for a binary message.
	Binary bool
}

// packetTypes names the Engine.IO packet types by their digit.
var packetTypes = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// packetOf decodes frame f for the hooks; ok is false when f is not a
// valid packet.
func packetOf(f transport.Frame) (p Packet, ok bool) {
	if f.Binary {
		return Packet{Type: "message", Data: f.Data, Binary: true}, true
	}
	if len(f.Data) == 0 || f.Data[0] < '0' || int(f.Data[0]-'0') >= len(packetTypes) {
		return Packet{}, false
	}
	p.Type = packetTypes[f.Data[0]-'0']
	if len(f.Data) > 1 {
		p.Data = f.Data[1:]
	}
	return p, true
}

// sessionHooks are the hooks registered on a session. A value is never
// modified once published in Session.hooks: registering copies it.
type sessionHooks struct {
	upgrade      []func(transport string)
	packet       []func(Packet)
	packetCreate []func(Packet)
}

// OnUpgrade registers f to be called with the new transport's name
// ("websocket") when the session has moved from polling to WebSocket, as
// socket.io's socket.conn.on("upgrade"). By then [Session.Transport]
// reports the new transport.
//
// Hooks may be registered at any time, from any goroutine; they are called
// in the order they were registered, without the session's locks held
// (they may call the session's methods). A hook that panics is recovered
// and the panic logged. A session has no way to remove its hooks: they go
// with it.
func (s *Session) OnUpgrade(f func(transport string)) {
	if f != nil {
		s.addHook(func(h *sessionHooks) { h.upgrade = append(slices.Clip(h.upgrade), f) })
	}
}

// OnPacket registers f to be called with every packet the session receives
// from the client on its current transport ("message", "pong", "close",
// ...), before the packet is handled, as socket.io's
// socket.conn.on("packet"). The packets of an upgrade under way ("2probe",
// "5") are not reported: [Session.OnUpgrade] is. Hooks are called as
// described for OnUpgrade, on the goroutine that reads the transport, so a
// hook that blocks holds up the client's packets.
func (s *Session) OnPacket(f func(Packet)) {
	if f != nil {
		s.addHook(func(h *sessionHooks) { h.packet = append(slices.Clip(h.packet), f) })
	}
}

// OnPacketCreate registers f to be called with every packet the session
// sends ("open", "ping", "message"), once the transport has taken it, as
// socket.io's socket.conn.on("packetCreate"); the noops and the close
// packet a transport writes of its own are not reported. Hooks are called
// as described for OnUpgrade, on the sending goroutine: packets sent from
// several goroutines at once may be reported in another order than they
// were written in.
func (s *Session) OnPacketCreate(f func(Packet)) {
	if f != nil {
		s.addHook(func(h *sessionHooks) { h.packetCreate = append(slices.Clip(h.packetCreate), f) })
	}
}

// addHook publishes a copy of the session's hooks modified by add.
func (s *Session) addHook(add func(*sessionHooks)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h sessionHooks
	if old := s.hooks.Load(); old != nil {
		h = *old
	}
	add(&h)
	s.hooks.Store(&h)
}

// receivedHooks reports frame f, received, to the OnPacket hooks.
func (s *Session) receivedHooks(f transport.Frame) {
	h := s.hooks.Load()
	if h == nil || len(h.packet) == 0 {
		return
	}
	if p, ok := packetOf(f); ok {
		for _, fn := range h.packet {
			callHook(s, "OnPacket", fn, p)
		}
	}
}

// sentHooks reports frames, sent, to the OnPacketCreate hooks.
func (s *Session) sentHooks(frames []transport.Frame) {
	h := s.hooks.Load()
	if h == nil || len(h.packetCreate) == 0 {
		return
	}
	for _, f := range frames {
		if p, ok := packetOf(f); ok {
			for _, fn := range h.packetCreate {
				callHook(s, "OnPacketCreate", fn, p)
			}
		}
	}
}

// upgradeHooks reports the move to transport name to the OnUpgrade hooks.
func (s *Session) upgradeHooks(name string) {
	h := s.hooks.Load()
	if h == nil {
		return
	}
	for _, fn := range h.upgrade {
		callHook(s, "OnUpgrade", fn, name)
	}
}

// callHook calls fn(v), recovering and logging a panic.
func callHook[T any](s *Session, hook string, fn func(T), v T) {
	defer func() {
		if r := recover(); r != nil {
			s.srv.opts.Logger.Error("engineio: session hook panicked", "hook", hook, "sid", s.ID(), "panic", r, "stack", string(debug.Stack()))
		}
	}()
	fn(v)
}
