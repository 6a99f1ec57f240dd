package engineio

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// ErrorCode is the code of a refused request, in the JSON body of the
// server's error answer ({"code","message"}) and in [ConnectionError]: the
// reference server's codes.
type ErrorCode int

// The reference server's error codes.
const (
	CodeUnknownTransport           ErrorCode = 0 // no or unknown transport query parameter
	CodeUnknownSID                 ErrorCode = 1 // no open session has this sid
	CodeBadHandshakeMethod         ErrorCode = 2 // a handshake that is not a GET
	CodeBadRequest                 ErrorCode = 3 // anything else that is wrong with the request
	CodeForbidden                  ErrorCode = 4 // the request is not allowed (its Origin)
	CodeUnsupportedProtocolVersion ErrorCode = 5 // EIO is not 4
)

var codeMessages = [...]string{
	CodeUnknownTransport:           "Transport unknown",
	CodeUnknownSID:                 "Session ID unknown",
	CodeBadHandshakeMethod:         "Bad handshake method",
	CodeBadRequest:                 "Bad request",
	CodeForbidden:                  "Forbidden",
	CodeUnsupportedProtocolVersion: "Unsupported protocol version",
}

// String returns the code's message, as the reference server words it
// ("Transport unknown", ...).
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(codeMessages) {
		return codeMessages[c]
	}
	return "ErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// ConnectionError describes a request the server refused; it is what
// [Options.OnConnectionError] receives, as engine.io's "connection_error"
// event does ({req, code, message, context}).
type ConnectionError struct {
	// Request is a copy of the refused request (header, URL, remote
	// address, context values), without its body: the hook runs after the
	// request has been answered.
	Request *http.Request
	// Code and Message are the answer's: Message is Code.String().
	Code    ErrorCode
	Message string
	// Context holds details, with the reference server's keys where it has
	// them: "transport" (CodeUnknownTransport), "sid" (CodeUnknownSID),
	// "method" (CodeBadHandshakeMethod), "protocol" (the EIO value,
	// CodeUnsupportedProtocolVersion), "origin" (CodeForbidden); for
	// CodeBadRequest, "name" says what was wrong:
	//   - "TRANSPORT_HANDSHAKE_ERROR": a WebSocket handshake without the
	//     Upgrade header;
	//   - "TRANSPORT_MISMATCH": a request of another transport than the
	//     session's ("transport", "previousTransport");
	//   - "BAD_METHOD": a polling request with a method other than GET and
	//     POST ("method");
	//   - "ID_GENERATION_ERROR": Options.GenerateID failed ("error": an
	//     error wrapping ErrInvalidID, ErrDuplicateID, the function's error
	//     or its panic);
	//   - "SERVER_FULL": MaxConnections sessions are open;
	//   - "SERVER_SHUTTING_DOWN": the server is shutting down.
	// The last two are this server's own (the reference server has neither
	// limit); their answers are HTTP 503.
	Context map[string]any
}

// Error returns the message with the context's name, if any.
func (e *ConnectionError) Error() string {
	if name, ok := e.Context["name"].(string); ok {
		return fmt.Sprintf("engineio: connection error %d: %s (%s)", e.Code, e.Message, name)
	}
	return fmt.Sprintf("engineio: connection error %d: %s", e.Code, e.Message)
}

// refuse answers a refused request with the reference server's error
// answer and reports it to Options.OnConnectionError. ctx holds the
// ConnectionError's Context as key, value pairs.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code ErrorCode, ctx ...any) {
	writeError(w, code)
	s.reportRefusal(r, code, ctx...)
}

// reportRefusal reports a refused request to Options.OnConnectionError;
// it does nothing (and allocates nothing) without one.
func (s *Server) reportRefusal(r *http.Request, code ErrorCode, ctx ...any) {
	if s.errorHook == nil {
		return
	}
	e := &ConnectionError{Code: code, Message: code.String(), Context: make(map[string]any, len(ctx)/2)}
	for i := 0; i+1 < len(ctx); i += 2 {
		if k, ok := ctx[i].(string); ok {
			e.Context[k] = ctx[i+1]
		}
	}
	if r != nil {
		// The handler returns before the hook runs: keep a copy whose
		// context outlives the request, and no body.
		e.Request = r.Clone(context.WithoutCancel(r.Context()))
		e.Request.Body, e.Request.GetBody = http.NoBody, nil
	}
	s.errorHook.report(e)
}

// maxPendingErrors bounds the refusals waiting for the hook; more are
// dropped (and logged, once per droppedEvery).
const (
	maxPendingErrors = 1024
	droppedEvery     = time.Minute
)

// errorHook calls Options.OnConnectionError on its own goroutine, one
// refusal at a time and in order, so that a slow hook never holds a
// request; the goroutine exits when nothing is waiting.
type errorHook struct {
	fn     func(*ConnectionError)
	logger *slog.Logger

	mu       sync.Mutex
	queue    []*ConnectionError
	running  bool
	dropped  int       // since the last warning
	warnedAt time.Time // when the last drop warning was logged
}

func (h *errorHook) report(e *ConnectionError) {
	h.mu.Lock()
	if len(h.queue) >= maxPendingErrors {
		h.dropped++
		var n int
		if now := time.Now(); now.Sub(h.warnedAt) >= droppedEvery {
			n, h.dropped, h.warnedAt = h.dropped, 0, now
		}
		h.mu.Unlock()
		if n > 0 {
			h.logger.Warn("engineio: OnConnectionError is too slow; refusals not reported to it", "dropped", n, "pending", maxPendingErrors)
		}
		return
	}
	h.queue = append(h.queue, e)
	start := !h.running
	h.running = true
	h.mu.Unlock()
	if start {
		go h.run()
	}
}

// run calls the hook until the queue is empty.
func (h *errorHook) run() {
	for {
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.running = false
			h.queue = nil // let a burst's backing array go
			h.mu.Unlock()
			return
		}
		e := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		h.mu.Unlock()
		h.call(e)
	}
}

// call runs the hook; a panic is logged, and the next refusals are still
// reported.
func (h *errorHook) call(e *ConnectionError) {
	defer func() {
		if p := recover(); p != nil {
			h.logger.Error("engineio: OnConnectionError panicked", "code", int(e.Code),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	h.fn(e)
}
