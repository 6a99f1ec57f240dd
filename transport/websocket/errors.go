package websocket

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/go-realtime/realtime/transport"
)

// ErrOriginNotAllowed is wrapped by the error [Transport.Accept] returns when
// [Options.CheckOrigin] refused the request's Origin.
var ErrOriginNotAllowed = errors.New("websocket: origin not allowed")

// ErrTooManyFragments is wrapped by the error a connection ends with when
// the client split a message into more frames than [Options.MaxFragments]
// allows. The error also wraps transport.ErrTooLarge, and the connection is
// closed with status 1008 (policy violation, as Node's ws does) as soon as
// the frame past the bound arrives.
var ErrTooManyFragments = errors.New("websocket: message split into too many fragments")

// Close status codes used by this package (RFC 6455 section 7.4.1).
const (
	StatusNormalClosure   = 1000
	StatusGoingAway       = 1001
	StatusProtocolError   = 1002
	StatusNoStatus        = 1005 // received close frame had no status code; never sent
	StatusInvalidPayload  = 1007
	StatusPolicyViolation = 1008
	StatusMessageTooBig   = 1009
	StatusInternalError   = 1011
)

// CloseError is the reason a connection ended when the peer sent a close
// frame: its status code (StatusNoStatus when the frame had none) and reason.
// Handlers get it in HandleClose; test with errors.As.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	s := "websocket: closed by peer with status " + strconv.Itoa(e.Code)
	if e.Reason != "" {
		s += ": " + strconv.Quote(e.Reason)
	}
	return s
}

// protocolError is a violation of the protocol by the peer, detected while
// reading: the connection is closed with code and the handler gets err.
type protocolError struct {
	code int
	err  error
	// inSync reports whether the byte stream is still at a frame boundary,
	// so that later frames (the peer's close reply) can still be parsed.
	inSync bool
}

func (e *protocolError) Error() string { return e.err.Error() }
func (e *protocolError) Unwrap() error { return e.err }

// protoErr reports a malformed frame: close 1002, error wrapping
// transport.ErrBadRequest.
func protoErr(inSync bool, format string, args ...any) error {
	return &protocolError{
		code:   StatusProtocolError,
		err:    fmt.Errorf("websocket: protocol error: "+format+": %w", append(args, transport.ErrBadRequest)...),
		inSync: inSync,
	}
}

// invalidDataErr reports invalid payload data (bad UTF-8, bad deflate
// stream): close 1007, error wrapping transport.ErrBadRequest.
func invalidDataErr(format string, args ...any) error {
	return &protocolError{
		code:   StatusInvalidPayload,
		err:    fmt.Errorf("websocket: invalid payload: "+format+": %w", append(args, transport.ErrBadRequest)...),
		inSync: true,
	}
}

// tooLargeErr reports a message over the limit: close 1009, error wrapping
// transport.ErrTooLarge.
func tooLargeErr(limit int64, inSync bool) error {
	return &protocolError{
		code:   StatusMessageTooBig,
		err:    fmt.Errorf("websocket: message larger than %d bytes: %w", limit, transport.ErrTooLarge),
		inSync: inSync,
	}
}

// tooManyFragmentsErr reports a message of more than limit frames: close
// 1008, error wrapping ErrTooManyFragments and transport.ErrTooLarge. It is
// detected on a frame's first header bytes, out of sync with the stream.
func tooManyFragmentsErr(limit int) error {
	return &protocolError{
		code:   StatusPolicyViolation,
		err:    fmt.Errorf("%w (more than %d): %w", ErrTooManyFragments, limit, transport.ErrTooLarge),
		inSync: false,
	}
}
