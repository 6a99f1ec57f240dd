// Package transport defines how the Engine.IO layer reaches a client: a
// [Transport] accepts connections of one kind (WebSocket, HTTP long-polling),
// and each accepted [Conn] carries Engine.IO packets, one packet per
// [Frame], in both directions.
//
// Start with the implementations: [github.com/go-realtime/realtime/transport/websocket],
// [github.com/go-realtime/realtime/transport/polling] and, for tests,
// [github.com/go-realtime/realtime/transport/memory]. The Engine.IO server in
// [github.com/go-realtime/realtime/transport/engineio] drives them; most
// users never call a Conn themselves.
//
// A transport knows nothing of sessions, heartbeats or Socket.IO: it moves
// frames, enforces size limits, and reports when the connection ends. That
// keeps it small enough to fake in tests.
package transport

import (
	"errors"
	"net/http"
)

// Names of the transports as Engine.IO spells them in the "transport" query
// parameter and in the handshake's "upgrades" list.
const (
	NameWebSocket = "websocket"
	NamePolling   = "polling"
)

// Frame is one Engine.IO packet in the form it takes inside one WebSocket
// message: a text frame holds the packet type digit followed by its payload
// ("4hello", "2", "0{...}"); a binary frame holds the raw bytes of a binary
// message packet (no type byte).
//
// Frames are shared: the same Frame may be sent on many connections at once
// (a broadcast encodes its packet once). Whoever builds a Frame must not modify
// Data after handing it to [Conn.Send], and a Conn must never modify it.
type Frame struct {
	Binary bool
	Data   []byte
}

// TextFrame returns a text frame holding s.
func TextFrame(s string) Frame { return Frame{Data: []byte(s)} }

// BinaryFrame returns a binary frame holding b (not copied).
func BinaryFrame(b []byte) Frame { return Frame{Binary: true, Data: b} }

// Handler receives what a Conn reads. A Conn calls its Handler from one
// goroutine at a time, in the order frames arrived, and HandleClose exactly
// once, last.
type Handler interface {
	// HandleFrame is called for each frame received. The handler owns f.Data.
	// A non-nil error is a protocol error: the Conn closes (WebSocket with
	// close code 1002, or 1009 when the error wraps [ErrTooLarge]; polling
	// answers the request that carried the frame with HTTP 400 or 413) and
	// then calls HandleClose with that error.
	HandleFrame(f Frame) error
	// HandleClose is called once when the connection has ended, whoever ended
	// it; err says why (nil after a local Close).
	HandleClose(err error)
}

// Conn is the server's end of one client connection.
//
// Send and Close may be called from any goroutine, concurrently.
type Conn interface {
	// Name is the transport's name: NameWebSocket, NamePolling, or another
	// transport's own.
	Name() string
	// Start begins delivering received frames to h. It returns at once; it
	// must be called exactly once, after the caller is ready for h to be
	// called.
	Start(h Handler)
	// Send queues frames to go out in order and returns without waiting for
	// the peer. When the connection's bounded queue cannot take them, Send
	// returns an error wrapping [ErrQueueFull] and the connection is closed:
	// a slow client never blocks its sender. After Close it returns an error
	// wrapping [ErrClosed].
	Send(frames ...Frame) error
	// Close ends the connection. Frames already queued are written first
	// when that can be done without waiting on the peer. Close is idempotent.
	Close() error
}

// TrySender is implemented by Conns that can refuse frames instead of
// overflowing: TrySend queues frames only when the queue has room for all
// of them and reports whether it did; it never closes the connection. It
// serves volatile messages, which are dropped for clients that are behind.
type TrySender interface {
	TrySend(frames ...Frame) bool
}

// Writable is implemented by Conns whose producers may wait for the queue to drain instead of overflowing it.
type Writable interface {
	// Writable returns nil when the queue is under its bound (Send of a frame would be accepted now),
	// else a channel that is closed once the queue has drained under the bound, or the Conn closed.
	Writable() <-chan struct{}
}

// Drainer is implemented by Conns that queue frames until the client asks
// for them (polling). When a session moves to another transport, Drain closes
// the Conn without telling the client anything more (a pending request is
// answered with a noop) and returns, in order, the frames that were queued
// but not yet written, so the session can send them on the new transport.
// HandleClose is still called, with nil.
type Drainer interface {
	Drain() []Frame
}

// Params are what the layer above agreed with the client and tells the
// transport when it accepts a connection.
type Params struct {
	// MaxPayload is the largest frame (WebSocket) or request body (polling)
	// accepted from the client, in bytes. Zero means 1,000,000.
	MaxPayload int64
	// QueueSize bounds the frames waiting to be written. Zero means 1024.
	QueueSize int
	// SendsFirst says that the caller sends its first frames (or calls
	// Start) right after Accept returns, so a transport may keep its
	// handshake response until then and write both at once (the WebSocket
	// transport does: one system call less per connection). Leave it false
	// when the client must get the response before the caller acts (for
	// example, when Start waits for something else). Default false.
	SendsFirst bool
}

// Defaults for zero Params fields.
const (
	DefaultMaxPayload = 1_000_000
	DefaultQueueSize  = 1024
)

// WithDefaults returns p with zero fields set to their defaults.
func (p Params) WithDefaults() Params {
	if p.MaxPayload <= 0 {
		p.MaxPayload = DefaultMaxPayload
	}
	if p.QueueSize <= 0 {
		p.QueueSize = DefaultQueueSize
	}
	return p
}

// Transport accepts connections of one kind over HTTP.
type Transport interface {
	// Name is the transport's name, as in [Conn.Name].
	Name() string
	// Accept turns r into a new Conn. A WebSocket transport completes the
	// upgrade handshake (answering w with an error status when it cannot);
	// a polling transport only creates the Conn and leaves r unanswered, for
	// the caller to pass to the Conn's ServeHTTP once the first frames are
	// queued.
	Accept(w http.ResponseWriter, r *http.Request, p Params) (Conn, error)
}

// Errors shared by transports. Implementations wrap them so callers can test
// with errors.Is.
var (
	// ErrClosed is returned by Send after the connection was closed.
	ErrClosed = errors.New("transport: connection closed")
	// ErrQueueFull means the peer does not read fast enough: the bounded
	// outgoing queue overflowed and the connection was closed.
	ErrQueueFull = errors.New("transport: send queue full")
	// ErrTooLarge means the peer sent more than Params.MaxPayload.
	ErrTooLarge = errors.New("transport: payload too large")
	// ErrBadRequest means the peer's request or data could not be decoded.
	ErrBadRequest = errors.New("transport: bad request")
)
