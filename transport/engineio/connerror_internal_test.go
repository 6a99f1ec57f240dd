package engineio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/logtest"
)

// TestErrorHookBounded: refusals that find maxPendingErrors others waiting
// for a stuck hook are dropped, with one warning; the hook gets the others
// in order once it is unstuck, and its goroutine then exits.
func TestErrorHookBounded(t *testing.T) {
	logs := logtest.New()
	entered := make(chan struct{})
	release := make(chan struct{})
	calls := make(chan ErrorCode, maxPendingErrors+1)
	h := &errorHook{logger: logs.Logger(), fn: func(e *ConnectionError) {
		if len(calls) == 0 && e.Code == CodeForbidden {
			close(entered)
			<-release
		}
		calls <- e.Code
	}}
	h.report(&ConnectionError{Code: CodeForbidden})
	<-entered // the worker holds the first one
	for range maxPendingErrors {
		h.report(&ConnectionError{Code: CodeBadRequest})
	}
	for range 3 {
		h.report(&ConnectionError{Code: CodeUnknownSID}) // dropped
	}
	rec, ok := logs.Wait(time.Second, logtest.Message("engineio: OnConnectionError is too slow"))
	require.True(t, ok)
	assert.Equal(t, "1", rec.Attrs["dropped"], "the first drop is logged at once, the next ones a minute later")
	assert.Len(t, logs.Matching(logtest.Message("engineio: OnConnectionError is too slow")), 1)

	close(release)
	assert.Equal(t, CodeForbidden, <-calls)
	for range maxPendingErrors {
		assert.Equal(t, CodeBadRequest, <-calls)
	}
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return !h.running
	}, 5*time.Second, time.Millisecond, "the worker exits when idle")
	assert.Empty(t, calls)
}

func TestErrorCodeString(t *testing.T) {
	for code, want := range map[ErrorCode]string{
		CodeUnknownTransport:           "Transport unknown",
		CodeUnknownSID:                 "Session ID unknown",
		CodeBadHandshakeMethod:         "Bad handshake method",
		CodeBadRequest:                 "Bad request",
		CodeForbidden:                  "Forbidden",
		CodeUnsupportedProtocolVersion: "Unsupported protocol version",
		-1:                             "ErrorCode(-1)",
		6:                              "ErrorCode(6)",
	} {
		assert.Equal(t, want, code.String())
	}
}
