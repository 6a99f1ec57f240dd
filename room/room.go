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
	"time"
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
	// Offset, set by an adapter that is a [SessionStore] on the broadcasts
	// it delivers, is the broadcast's position in the shared history: the
	// namespace appends it to Data for the client (connection state
	// recovery).
	Offset string
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

// SessionStore is implemented by adapters that keep connection state
// recovery's state outside the process (for example in Redis), so that a
// client recovers on whichever node it reconnects to. A namespace with
// recovery on uses its adapter's SessionStore, when it has one, instead
// of its own in-memory history:
//   - the adapter gives every broadcast it delivers a [Packet.Offset]
//     (its position in the shared history), which the namespace appends
//     as the broadcast's last argument;
//   - a socket that disconnects for a recoverable reason is saved with
//     PersistSession;
//   - a client that comes back with a private id and an offset gets its
//     session from RestoreSession and what it missed from History.
type SessionStore interface {
	// PersistSession keeps s for ttl, for one later RestoreSession on any
	// node. It is called as the socket disconnects, and should not wait
	// long (queue the write, and finish it before Close returns).
	PersistSession(ctx context.Context, s Session, ttl time.Duration) error
	// DropSession deletes session pid, if kept: its socket left for good
	// (queued as PersistSession is).
	DropSession(ctx context.Context, pid string) error
	// RestoreSession takes session pid (it cannot be restored twice) if
	// offset is still in the history. It returns an error wrapping
	// [ErrNoSession] when the session or the offset is unknown (expired).
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
	// Position returns the offset of the last history entry this node has
	// delivered (through Local.Deliver), or "" before the first. The
	// namespace replays a recovered socket's history up to it.
	Position() string
	// History returns at most max broadcasts of the namespace after offset
	// after, up to and including offset upTo, oldest first, and the offset
	// reached (upTo once the range is exhausted).
	History(ctx context.Context, after, upTo string, max int) ([]Stored, string, error)
	// Compare orders two offsets as -1, 0 or +1 (a before b, equal, after).
	Compare(a, b string) int
}

// SessionSource is implemented by Locals that keep sessions for recovery
// (namespaces with connection state recovery on): a SessionStore saves
// the connected sockets' sessions periodically, so that their clients
// recover even when this process dies.
type SessionSource interface {
	// Sessions returns the sessions of the connected sockets, and how
	// long a session is kept.
	Sessions() ([]Session, time.Duration)
}

// Session is a disconnected socket's state, kept for a recovery.
type Session struct {
	// SID is the socket's id and PID its private id (the client proves
	// its identity with it).
	SID, PID string
	// Rooms the socket was in, without its own id room.
	Rooms []string
	// Data is the socket's data, as JSON.
	Data json.RawMessage
}

// Stored is a broadcast from the history a SessionStore keeps.
type Stored struct {
	// Packet carries the broadcast, its Offset set.
	Packet *Packet
	Opts   Options
}

// ErrNoSession is returned (wrapped) by [SessionStore.RestoreSession] when
// there is nothing to restore: the session expired or was restored
// already, or the offset left the history.
var ErrNoSession = errors.New("room: no session to restore")
