// Package flowtest holds what the transports' flow-control tests share:
// checking the channels [transport.Writable] returns.
//
// [transport.Writable]: https://pkg.go.dev/github.com/go-realtime/realtime/transport#Writable
package flowtest

import (
	"testing"
	"time"
)

// Timeout only turns a hang into a failure; nothing waits for it to pass.
const Timeout = 10 * time.Second

// Closed reports whether ch is closed, without waiting.
func Closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Recv receives from ch, failing t after Timeout.
func Recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Timeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
