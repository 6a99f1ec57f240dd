package namespace

import (
	"encoding/json"
	"errors"
)

// Errors returned by sockets and broadcasts.
var (
	// ErrDisconnected is returned when emitting to, or awaiting an ack from,
	// a socket that has disconnected.
	ErrDisconnected = errors.New("namespace: socket disconnected")
	// ErrReservedEvent is returned when emitting an event name Socket.IO
	// reserves (connect, connect_error, disconnect, disconnecting,
	// newListener, removeListener).
	ErrReservedEvent = errors.New("namespace: reserved event name")
	// ErrAckSent is returned by an AckFunc called a second time.
	ErrAckSent = errors.New("namespace: ack already sent")
	// ErrNoArg is returned by Args.Decode for an argument the client did not send.
	ErrNoArg = errors.New("namespace: no such argument")
)

// ConnectError refuses a connection from a middleware: the client receives
// CONNECT_ERROR with Message and Data (socket.io-client's connect_error
// event: err.message and err.data).
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return "namespace: connection refused: " + e.Message }

// payload is the CONNECT_ERROR JSON.
func (e *ConnectError) payload() []byte {
	v := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{e.Message, e.Data}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{e.Message})
	}
	return b
}

// Disconnect reasons, as socket.io-client and the reference server name
// them. A client that breaks the protocol is disconnected with the reason
// socket.io 4.8 gives: a broken or oversize WebSocket frame or polling body
// is a "transport error", data that is not Engine.IO a "parse error", a
// packet that is not Socket.IO a "forced close", and a packet the client may
// not send in its state (a second CONNECT, a CONNECT_ERROR, a packet for a
// namespace it has not joined) a "forced server close".
const (
	ReasonServerDisconnect  = "server namespace disconnect"
	ReasonClientDisconnect  = "client namespace disconnect"
	ReasonTransportClose    = "transport close"
	ReasonTransportError    = "transport error"
	ReasonPingTimeout       = "ping timeout"
	ReasonParseError        = "parse error"
	ReasonForcedClose       = "forced close"
	ReasonForcedServerClose = "forced server close"
	ReasonServerShutdown    = "server shutting down"
	// ReasonRateLimit: the socket sent events faster than the hub allows
	// (the client sees a server disconnect).
	ReasonRateLimit = "rate limit exceeded"
)
