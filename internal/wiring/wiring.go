// Package wiring joins package hub (and hubtest, and this module's tests)
// to the machinery of package namespace that is not public API: the
// Socket.IO client of one connection, and the making of namespaces.
//
// Package namespace registers its implementation with [Register] when it
// is initialised; callers get it with [Get], naming namespace's types as
// type arguments:
//
//	var impl = wiring.Get[*namespace.Namespace, namespace.Handshake, namespace.Args, *namespace.Recovery]()
//
// Go initialises an imported package before the importing one, so a
// package-level variable of a package that imports namespace always finds
// the implementation registered. Type arguments that do not match the
// registered ones panic at initialisation, never later.
package wiring

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/transport"
)

// Conn is the connection a client's sockets share: an Engine.IO session
// (*engineio.Session satisfies it). Send takes Engine.IO message frames
// and must not wait for the client: broadcasts use it.
//
// A Conn may have more methods, which the client then uses:
//
//   - Header() http.Header (the handshake request's header) lets the caller
//     leave the handshake's Header nil in NewClient: the header is then
//     asked of the Conn whenever a socket's handshake is described, and
//     never stored by the client.
//   - SendWait(ctx context.Context, frames ...transport.Frame) error sends
//     like Send but first waits, until ctx ends, while the client is too
//     far behind: Socket.Emit, acks and recovery replays use it. Without
//     it they use Send.
//   - TrySend(frames ...transport.Frame) bool sends volatile packets only
//     when the client is ready for them, and reports whether it did.
//     Without it volatile packets are sent like others.
type Conn interface {
	Send(frames ...transport.Frame) error
	Close() error
}

// Client is the Socket.IO side of one client connection.
type Client interface {
	// Receive handles one Engine.IO message. An error means the message
	// is not valid Socket.IO: the caller closes the connection.
	Receive(binary bool, data []byte) error
	// Closed tells the client its connection has closed, for reason (a
	// socket.io disconnect reason); every socket disconnects with it.
	Closed(reason string)
}

// ClientOptions configure clients. The zero value means defaults. A
// client keeps the ClientOptions it is given without copying them, so a
// server shares one among all its clients: don't modify them afterwards.
type ClientOptions struct {
	// ConnectTimeout closes a connection that has joined no namespace by
	// then. Default 45s.
	ConnectTimeout time.Duration
	// MaxAttachments bounds the binary attachments of one packet. Default 10.
	MaxAttachments int
	// Parser is the packet encoding, a namespace.Parser; it must be the
	// namespaces' (Config.Parser).
	Parser uint8
	// EventRate, when positive, bounds the events per second one socket may
	// send, with bursts of EventBurst (default: EventRate, at least 1). A
	// socket that sends faster is disconnected, and OnRateLimit is called.
	// Default: no bound.
	EventRate   float64
	EventBurst  int
	OnRateLimit func()
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// Config configures a namespace. The zero value means defaults. R is
// *namespace.Recovery.
type Config[R any] struct {
	// Adapter creates the room adapter. Default room.NewMemory.
	Adapter func(room.Local) room.Adapter
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
	// Recovery, when not nil, enables connection state recovery.
	Recovery R
	// KeepEmptyChildren keeps a dynamic namespace's instances when their
	// last socket leaves (by default they are removed, their adapters
	// closed).
	KeepEmptyChildren bool
	// Parser is the packet encoding, a namespace.Parser.
	Parser uint8
}

// Impl is namespace's implementation. N is *namespace.Namespace, H
// namespace.Handshake, A namespace.Args and R *namespace.Recovery.
type Impl[N, H, A, R any] struct {
	// NewNamespace returns a namespace called name ("" for the parent of
	// a dynamic namespace's instances).
	NewNamespace func(name string, cfg *Config[R]) N
	// NewChild returns parent's instance called name, making it if there
	// is none (created reports that): a dynamic namespace's instances run
	// their parent's middlewares and connection handlers, then their own,
	// and are reached by the parent's broadcasts.
	NewChild func(parent N, name string) (child N, created bool)
	// Child returns parent's live instance called name, or the zero N.
	Child func(parent N, name string) N
	// NewClient returns the client of a new connection. info describes
	// its handshake (Auth is set per socket); resolve finds the namespace
	// a client asks to connect to (the zero N refuses it with "Invalid
	// namespace"); opts may be nil.
	NewClient func(conn Conn, info H, resolve func(name string, auth json.RawMessage) N, opts *ClientOptions) Client
	// ParseEvent splits an event's JSON array [name, ...args] (with
	// binary attachments) into its name and arguments.
	ParseEvent func(data json.RawMessage, attachments [][]byte) (string, A, error)
	// NewArgs wraps the JSON array of an ack's arguments.
	NewArgs func(data json.RawMessage, attachments [][]byte) (A, error)
	// SetObserver makes o the observer of ns's sockets; nil removes it.
	SetObserver func(ns N, o Observer[A])
}

// Observer watches every socket of a namespace, for package admin's feed,
// at no cost per socket: the namespace calls it directly, without its
// locks held, and recovers and logs its panics. A is namespace.Args.
//
// Its methods must not wait: they run on the hot paths (the goroutine
// reading a client, or the one broadcasting).
type Observer[A any] interface {
	// Wants reports whether events sent to n sockets are to be reported,
	// before the namespace decodes them for Outgoing: a broadcast asks it
	// once, not per recipient. The observer may count the n as dropped
	// when it says no.
	Wants(n int) bool
	// Incoming reports an event received from socket sid, before its
	// listeners run.
	Incoming(sid, name string, args A)
	// Outgoing reports an event about to be sent to socket sid, by its own
	// emit (after Wants(1)) or by a broadcast (after Wants).
	Outgoing(sid, name string, args A)
	// Disconnected reports that socket sid has disconnected, for reason.
	Disconnected(sid, reason string)
}

var impl any

// Register records namespace's implementation. Only package namespace
// calls it, from init.
func Register[N, H, A, R any](i *Impl[N, H, A, R]) { impl = i }

// Get returns the registered implementation.
func Get[N, H, A, R any]() *Impl[N, H, A, R] {
	i, ok := impl.(*Impl[N, H, A, R])
	if !ok {
		panic("wiring: package namespace not registered with these types")
	}
	return i
}
