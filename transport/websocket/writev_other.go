//go:build !linux

package websocket

import (
	"errors"
	"net"
	"syscall"
)

type rawState struct{}

// rawConnOf returns nil: elsewhere than on Linux batches go through
// net.Buffers (writev where the standard library uses it).
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (b *batch) startRaw() {}

func (b *batch) writeRaw(syscall.RawConn, bool) (bool, error) {
	return false, errors.New("websocket: raw writev not supported on this platform")
}
