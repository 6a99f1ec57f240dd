//go:build !linux

package websocket

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: elsewhere than on Linux batches go through
// net.Buffers (writev where the standard library uses it).
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (b *batch) writeRaw(syscall.RawConn) error { panic("unreachable") }
