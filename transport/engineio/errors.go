package engineio

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/polling"
)

// Why a session closed. The error passed to [SessionHandler.HandleClose]
// wraps one of these; [Reason] turns it into the reason string the reference
// server (engine.io) reports, which Socket.IO passes on: "ping timeout",
// "transport close", ...
var (
	// ErrTransportClose: the client closed the session (close packet, a
	// WebSocket close frame) or the connection was lost.
	ErrTransportClose = errors.New("engineio: transport close")
	// ErrTransportError: the transport failed: a broken WebSocket frame or
	// invalid UTF-8, a message or polling body over MaxPayload, overlapping
	// or aborted polling requests, a full send queue or a write error, a
	// ping from the client.
	ErrTransportError = errors.New("engineio: transport error")
	// ErrPingTimeout: no pong arrived within PingTimeout.
	ErrPingTimeout = errors.New("engineio: ping timeout")
	// ErrParseError: the client sent something that is not Engine.IO: an
	// unknown or empty packet, a polling payload that cannot be split into
	// packets.
	ErrParseError = errors.New("engineio: parse error")
	// ErrForcedClose: the server closed the session: [Session.Close], or
	// the application's [SessionHandler.HandleMessage] returned an error
	// (the close error then wraps that error too).
	ErrForcedClose = errors.New("engineio: forced close")
	// ErrServerShutdown: the server is shutting down ([Server.Shutdown]).
	ErrServerShutdown = errors.New("engineio: server shutting down")
	// ErrClosed is returned by Session.Send after the session closed.
	ErrClosed = errors.New("engineio: session closed")
	// ErrNotMessage is returned by Session.Send for a text frame that is
	// not a message packet (it must start with '4').
	ErrNotMessage = errors.New("engineio: frame is not a message packet")
)

// reasons are the close errors, in the order Reason tests them.
var reasons = [...]error{ErrPingTimeout, ErrParseError, ErrForcedClose, ErrServerShutdown, ErrTransportError, ErrTransportClose}

// reasonOf returns the close error err wraps, or nil.
func reasonOf(err error) error {
	for _, e := range reasons {
		if errors.Is(err, e) {
			return e
		}
	}
	return nil
}

// Reason returns the Socket.IO-style reason string for a close error: one
// of "transport close", "transport error", "ping timeout", "parse error",
// "forced close", "server shutting down"; "" for nil.
func Reason(err error) string {
	if e := reasonOf(err); e != nil {
		return e.Error()[len("engineio: "):]
	}
	if err == nil {
		return ""
	}
	return "transport error"
}

// closeError is the session's close error for the error its transport
// ended with (nil: the client closed it), as engine.io names it: its
// transports report a broken or oversize message, bad or aborted requests
// as errors ("transport error"), and the end of the connection as a close.
// An error this package gave the transport (HandleFrame's) is kept as it
// is.
func closeError(err error) error {
	var pe *polling.PayloadError
	switch {
	case err == nil:
		return ErrTransportClose
	case reasonOf(err) != nil:
		return err
	case errors.As(err, &pe):
		return fmt.Errorf("%w: %w", ErrParseError, err)
	case errors.Is(err, transport.ErrQueueFull), errors.Is(err, transport.ErrTooLarge),
		errors.Is(err, transport.ErrBadRequest), errors.Is(err, polling.ErrAborted),
		errors.Is(err, polling.ErrNotStarted):
		return fmt.Errorf("%w: %w", ErrTransportError, err)
	default:
		// The peer's close frame, a connection reset or EOF.
		return fmt.Errorf("%w: %w", ErrTransportClose, err)
	}
}

// writeError answers like the reference server: JSON {"code","message"}
// with 403 for Forbidden and 400 for everything else.
func writeError(w http.ResponseWriter, code ErrorCode) {
	status := http.StatusBadRequest
	if code == CodeForbidden {
		status = http.StatusForbidden
	}
	body := `{"code":` + strconv.Itoa(int(code)) + `,"message":"` + code.String() + `"}`
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
