//go:build linux

package websocket

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// On Linux the batch is written with writev(2) called through
// syscall.RawConn, with the iovec array kept in the pooled batch: the
// standard library's net.Buffers path caches the iovec array on each socket,
// which would keep up to 16 KiB per connection after one large batch.

// maxIOV is the most buffers one writev call takes (IOV_MAX on Linux).
const maxIOV = 1024

// rawState is the batch's state for writeRaw.
type rawState struct {
	iov      []syscall.Iovec
	pending  [][]byte
	werr     error
	writevFn func(fd uintptr) bool
}

// rawConnOf returns nc's syscall.RawConn when writev can be called on it.
func rawConnOf(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeRaw writes b.bufs to rc; it blocks until everything is written, the
// write deadline passes or the connection fails.
func (b *batch) writeRaw(rc syscall.RawConn) error {
	if b.writevFn == nil {
		b.writevFn = b.writev // bound once per pooled batch
	}
	b.pending, b.werr = b.bufs, nil
	err := rc.Write(b.writevFn)
	clear(b.iov[:cap(b.iov)]) // drop pointers to frame data
	b.pending = nil
	if err == nil {
		err = b.werr
	}
	return err
}

// writev is the RawConn callback: it writes b.pending, and returns false to
// wait for the socket to become writable.
func (b *batch) writev(fd uintptr) bool {
	for len(b.pending) > 0 {
		iov := b.iov[:0]
		for _, p := range b.pending {
			if len(p) == 0 {
				continue
			}
			v := syscall.Iovec{Base: &p[0]}
			v.SetLen(len(p))
			iov = append(iov, v)
			if len(iov) == maxIOV {
				break
			}
		}
		b.iov = iov
		if len(iov) == 0 {
			b.pending = nil
			break
		}
		n, _, errno := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			b.werr = os.NewSyscallError("writev", errno)
			return true
		}
		consume(&b.pending, int(n))
	}
	return true
}

// consume drops the first n bytes of v.
func consume(v *[][]byte, n int) {
	for len(*v) > 0 {
		if l := len((*v)[0]); l > n {
			(*v)[0] = (*v)[0][n:]
			return
		} else {
			n -= l
		}
		*v = (*v)[1:]
	}
}
