package engineio

import (
	"errors"
	"net/http"
	"strconv"
)

// Why a session closed. The error passed to [SessionHandler.HandleClose]
// wraps one of these; [Reason] turns it into the reason string Socket.IO
// reports ("ping timeout", "transport close", ...).
var (
	// ErrTransportClose: the client closed the connection or it was lost.
	ErrTransportClose = errors.New("engineio: transport close")
	// ErrTransportError: the transport failed (queue overflow, write error).
	ErrTransportError = errors.New("engineio: transport error")
	// ErrPingTimeout: no pong arrived within PingTimeout.
	ErrPingTimeout = errors.New("engineio: ping timeout")
	// ErrParseError: the client sent something that is not Engine.IO (or
	// that the application's handler refused).
	ErrParseError = errors.New("engineio: parse error")
	// ErrForcedClose: the server closed the session ([Session.Close]).
	ErrForcedClose = errors.New("engineio: forced close")
	// ErrServerShutdown: the server is shutting down ([Server.Shutdown]).
	ErrServerShutdown = errors.New("engineio: server shutting down")
	// ErrClosed is returned by Session.Send after the session closed.
	ErrClosed = errors.New("engineio: session closed")
	// ErrNotMessage is returned by Session.Send for a text frame that is
	// not a message packet (it must start with '4').
	ErrNotMessage = errors.New("engineio: frame is not a message packet")
)

// Reason returns the Socket.IO-style reason string for a close error: one
// of "transport close", "transport error", "ping timeout", "parse error",
// "forced close", "server shutting down"; "" for nil.
func Reason(err error) string {
	for _, e := range []error{ErrPingTimeout, ErrParseError, ErrForcedClose, ErrServerShutdown, ErrTransportError, ErrTransportClose} {
		if errors.Is(err, e) {
			return e.Error()[len("engineio: "):]
		}
	}
	if err == nil {
		return ""
	}
	return "transport error"
}

// Error codes of the reference server's HTTP error answers.
const (
	codeUnknownTransport = 0
	codeUnknownSID       = 1
	codeBadHandshake     = 2
	codeBadRequest       = 3
	codeForbidden        = 4
	codeUnsupported      = 5
)

var codeMessages = [...]string{
	codeUnknownTransport: "Transport unknown",
	codeUnknownSID:       "Session ID unknown",
	codeBadHandshake:     "Bad handshake method",
	codeBadRequest:       "Bad request",
	codeForbidden:        "Forbidden",
	codeUnsupported:      "Unsupported protocol version",
}

// writeError answers like the reference server: JSON {"code","message"}
// with 403 for Forbidden and 400 for everything else.
func writeError(w http.ResponseWriter, code int) {
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	body := `{"code":` + strconv.Itoa(code) + `,"message":"` + codeMessages[code] + `"}`
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
