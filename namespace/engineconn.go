package namespace

import "github.com/go-realtime/realtime/transport/engineio"

// EngineConn is the low-level connection under a socket, as socket.io's
// socket.conn: the Engine.IO session the client's sockets share (in every
// namespace it joined). *engineio.Session satisfies it; see there for when
// the hooks are called. Hooks registered on it stay for the connection's
// life, past the socket's disconnection from its namespace.
type EngineConn interface {
	// Transport is the name of the transport in use: "polling",
	// "websocket" (after an upgrade too), or "memory".
	Transport() string
	// RemoteAddr is the client's address, as the handshake request had it.
	RemoteAddr() string
	// OnUpgrade registers a hook called with the new transport's name once
	// the connection has moved from polling to WebSocket.
	OnUpgrade(func(transport string))
	// OnPacket registers a hook called with every Engine.IO packet
	// received ("message", "pong", ...).
	OnPacket(func(engineio.Packet))
	// OnPacketCreate registers a hook called with every Engine.IO packet
	// sent ("ping", "message", ...).
	OnPacketCreate(func(engineio.Packet))
}

// Conn returns the connection under the socket (socket.io's socket.conn):
// which transport it uses, and hooks on its upgrade and its Engine.IO
// packets. A socket whose connection is not an Engine.IO session gets one
// that reports the transport "" and never calls its hooks.
func (s *Socket) Conn() EngineConn {
	if ec, ok := s.client.conn.(EngineConn); ok {
		return ec
	}
	return plainConn{addr: s.client.info.address}
}

// plainConn is the EngineConn of a client whose connection is not one.
type plainConn struct{ addr string }

func (plainConn) Transport() string                    { return "" }
func (c plainConn) RemoteAddr() string                 { return c.addr }
func (plainConn) OnUpgrade(func(string))               {}
func (plainConn) OnPacket(func(engineio.Packet))       {}
func (plainConn) OnPacketCreate(func(engineio.Packet)) {}
