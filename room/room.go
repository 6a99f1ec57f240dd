// Package room keeps room membership and delivers broadcasts, behind the
// [Adapter] interface that a cluster implementation (for example on Redis)
// can satisfy as well as the in-memory default, [NewMemory].
//
// Applications rarely call an Adapter: a namespace creates one with the
// factory given in the hub's options and calls it when sockets join, leave
// or broadcast. Implement Adapter to carry broadcasts and room operations
// between server nodes.
//
// Room names and socket ids are plain strings. Every socket is also in the
// room named by its own id, so a room name can address one socket.
package room

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
)

// Packet is a Socket.IO packet being broadcast: an EVENT (or BINARY_EVENT)
// with its arguments as the client will see them.
type Packet struct {
	// Namespace the packet belongs to, e.g. "/" or "/chat".
	Namespace string
	// Data is the JSON array [event, ...args]; binary arguments appear as
	// {"_placeholder":true,"num":N} objects indexing Attachments.
	Data json.RawMessage
	// Attachments hold the binary arguments, in placeholder order.
	Attachments [][]byte
}

// Flags modify a broadcast.
type Flags struct {
	// Volatile packets may be dropped for clients that are not ready
	// (for example whose send queue is busy).
	Volatile bool
	// Local restricts the broadcast to this node.
	Local bool
	// NoCompress sends the packets uncompressed (socket.io's
	// compress(false)); see transport.Frame.NoCompress.
	NoCompress bool
}

// Options select the sockets a broadcast or a room operation applies to:
// those in any of Rooms (every socket when Rooms is empty), minus those in
// any of Except.
type Options struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Ack is one client's reply to a broadcast that asked for acknowledgements.
type Ack struct {
	// SocketID is the replying socket.
	SocketID string
	// Data is the JSON array of the reply's arguments, with placeholders
	// for binary ones, as in Packet.
	Data        json.RawMessage
	Attachments [][]byte
}

// SocketInfo describes a socket, local or on another node.
type SocketInfo struct {
	ID        string
	Namespace string
	Rooms     []string
	// Handshake and Data are JSON: the socket's handshake details and its
	// application data.
	Handshake json.RawMessage
	Data      json.RawMessage
}

// Local is the adapter's view of its namespace on this node. Namespaces
// implement it; adapters call it, never while holding their own locks.
type Local interface {
	// Name is the namespace's name.
	Name() string
	// Deliver sends p to the local sockets with the given ids, encoding it
	// once for all of them; opts is the selection the broadcast was made
	// with (on whichever node). With onAck non-nil the packet asks each
	// socket for an acknowledgement, reported through onAck. It returns how
	// many sockets it was sent to.
	Deliver(p *Packet, ids []string, opts Options, onAck func(Ack)) int
	// Disconnect disconnects the local sockets with the given ids; with
	// close, their whole client connections are closed.
	Disconnect(ids []string, close bool)
	// Describe reports on the local sockets with the given ids.
	Describe(ids []string) []SocketInfo
}

// Logged is implemented by Locals that have a logger: an adapter logs
// there unless told otherwise. A hub's namespaces have the hub's
// Options.Logger.
type Logged interface {
	Logger() *slog.Logger
}

// LoggerOf returns l's logger when l is [Logged], else slog.Default().
func LoggerOf(l Local) *slog.Logger {
	if lg, ok := l.(Logged); ok {
		if log := lg.Logger(); log != nil {
			return log
		}
	}
	return slog.Default()
}

// HistoryKeeper is implemented by Locals that keep past broadcasts
// (connection state recovery): an adapter must then call Deliver for every
// broadcast of the namespace, even one that selects no local socket.
type HistoryKeeper interface {
	KeepsHistory() bool
}

// Adapter keeps room membership and carries broadcasts, on one node or
// across a cluster. All methods are safe for concurrent use.
type Adapter interface {
	// AddAll adds socket id to rooms.
	AddAll(id string, rooms ...string)
	// Del removes socket id from room.
	Del(id, room string)
	// DelAll removes socket id from every room (it is leaving).
	DelAll(id string)
	// Rooms returns the rooms socket id is in, its own id room first.
	Rooms(id string) []string
	// Sockets returns the ids of the local sockets selected by rooms (every
	// socket when rooms is empty).
	Sockets(rooms ...string) []string
	// RoomNames returns the rooms that have at least one local member.
	RoomNames() []string

	// Broadcast sends p to the sockets opts selects, on every node unless
	// opts.Flags.Local.
	Broadcast(ctx context.Context, p *Packet, opts Options) error
	// BroadcastWithAck sends p asking for acknowledgements: onCount is called
	// with the number of sockets reached (once per node), onAck for each
	// reply. It returns once the packet is sent; replies come later.
	BroadcastWithAck(ctx context.Context, p *Packet, opts Options, onCount func(n int), onAck func(Ack)) error
	// AddSockets makes the sockets opts selects join rooms.
	AddSockets(ctx context.Context, opts Options, rooms ...string) error
	// DelSockets makes the sockets opts selects leave rooms.
	DelSockets(ctx context.Context, opts Options, rooms ...string) error
	// DisconnectSockets disconnects the sockets opts selects.
	DisconnectSockets(ctx context.Context, opts Options, close bool) error
	// FetchSockets describes the sockets opts selects, on every node unless
	// opts.Flags.Local.
	FetchSockets(ctx context.Context, opts Options) ([]SocketInfo, error)
	// Close releases the adapter's resources.
	Close() error
}

// ErrClosed is returned by an adapter's methods after Close.
var ErrClosed = errors.New("room: adapter closed")
