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
//
// What waits to be written to a client is bounded in bytes
// ([Params.MaxQueueBytes]), and senders choose what happens at the bound: a
// producer that must not lose frames waits on [Writable] before it sends; one
// that must not wait (a broadcast) calls [Conn.Send], which closes the
// connection of a client that is too far behind; a volatile message goes
// through [TrySender] and is dropped unless the connection is writable at
// once.
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
//
// NoCompress asks the transport not to compress the frame (socket.io's
// compress(false)); the zero value lets it compress. A WebSocket with
// permessage-deflate sends such a frame as it is; a polling response is
// compressed only when at least one of the frames it carries allows it.
type Frame struct {
	Binary     bool
	NoCompress bool
	Data       []byte
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
	// the peer. The queue is bounded in bytes ([Params.MaxQueueBytes]): when
	// it is already at its bound, Send returns an error wrapping
	// [ErrQueueFull] and the connection is closed, so a slow client never
	// blocks its sender. The frames of an accepted Send may take the queue
	// over the bound (by their own size at most, which lets a frame larger
	// than the bound go out at all). After Close it returns an error
	// wrapping [ErrClosed].
	Send(frames ...Frame) error
	// Close ends the connection. Frames already queued are written first,
	// waiting on the peer a bounded time at most (polling: for its next
	// request); HandleClose comes after. Close is idempotent and returns
	// without waiting.
	Close() error
}

// TrySender is implemented by Conns that can refuse frames instead of
// queueing them: TrySend queues frames only when the connection is writable
// right now, with nothing waiting to be written before them (WebSocket: the
// queue is empty and no write is in progress; polling: a GET is being held,
// waiting for data), and reports whether it did. It never closes the
// connection. It serves volatile messages, which socket.io drops rather than
// delay.
type TrySender interface {
	TrySend(frames ...Frame) bool
}

// Writable is implemented by Conns whose producers may wait for the queue
// to drain instead of overflowing it.
type Writable interface {
	// Writable returns nil when the queue is under half its bound
	// ([Params.MaxQueueBytes]), so that Send accepts frames now (or when
	// the Conn is closed, and Send reports it); else a channel that is
	// closed once the queue has drained under half its bound, or the Conn
	// closed. Producers that wait thus leave the other half of the bound to
	// senders that do not (broadcasts, heartbeats), which would otherwise
	// find a healthy client's queue full. It does not allocate when it
	// returns nil.
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
	// MaxQueueBytes bounds what waits to be written to the peer: the sum,
	// over the frames queued or being written, of len(Data) plus
	// [FrameOverhead] each (so that a flood of tiny frames is bounded too).
	// Send is refused (see [Conn.Send]) once the queue is at the bound;
	// producers waiting on [Writable] are held from half of it. Zero means
	// [DefaultMaxQueueBytes].
	MaxQueueBytes int64
	// SendsFirst says that the caller sends its first frames (or calls
	// Start) right after Accept returns, so a transport may keep its
	// handshake response until then and write both at once (the WebSocket
	// transport does: one system call less per connection). Leave it false
	// when the client must get the response before the caller acts (for
	// example, when Start waits for something else). Default false.
	SendsFirst bool
	// EIO3 says the client speaks revision 3 of the Engine.IO protocol
	// (socket.io-client 2.x), which the Engine.IO server accepts only
	// when told to (engineio.Options.AllowEIO3). Frames stay the same
	// (a binary frame holds a message's bytes); only a transport that
	// frames several packets itself encodes them otherwise: the polling
	// transport writes and reads revision 3 payloads. Default false:
	// revision 4.
	EIO3 bool
	// Base64 says a revision 3 client cannot take binary data (its
	// request carried b64=1): binary messages reach it as base64 text.
	// Only read with EIO3.
	Base64 bool
}

// Defaults for zero Params fields.
const (
	DefaultMaxPayload    = 1_000_000
	DefaultMaxQueueBytes = 4 << 20
)

// FrameOverhead is what each queued frame counts against
// [Params.MaxQueueBytes] besides its Data: about what the queue entry and
// the frame's header cost.
const FrameOverhead = 64

// WithDefaults returns p with zero fields set to their defaults.
func (p Params) WithDefaults() Params {
	if p.MaxPayload <= 0 {
		p.MaxPayload = DefaultMaxPayload
	}
	if p.MaxQueueBytes <= 0 {
		p.MaxQueueBytes = DefaultMaxQueueBytes
	}
	return p
}

// Transport accepts connections of one kind over HTTP.
type Transport interface {
	// Name is the transport's name, as in [Conn.Name].
	Name() string
	// Accept turns r into a new Conn. A WebSocket transport completes the
	// upgrade handshake (answering w with an error status when it cannot),
	// with the Set-Cookie headers already set on w in its response;
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
	// ErrQueueFull means the peer does not read fast enough: the outgoing
	// queue was at its bound (Params.MaxQueueBytes) and the connection was
	// closed.
	ErrQueueFull = errors.New("transport: send queue full")
	// ErrTooLarge means the peer sent more than Params.MaxPayload, or a
	// message in more parts than the transport accepts.
	ErrTooLarge = errors.New("transport: payload too large")
	// ErrBadRequest means the peer's request or data could not be decoded.
	ErrBadRequest = errors.New("transport: bad request")
)
