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

// rawState is the batch's state for the raw writes.
type rawState struct {
	iov      []syscall.Iovec
	pending  [][]byte // what is left to write of bufs
	nowait   bool     // writev returns at EAGAIN instead of waiting
	full     bool     // a nowait write stopped at EAGAIN
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

// startRaw makes b.bufs the data the next writeRaw calls write.
func (b *batch) startRaw() {
	if b.writevFn == nil {
		b.writevFn = b.writev // bound once per pooled batch
	}
	b.pending, b.werr = b.bufs, nil
}

// writeRaw writes what is left of the batch to rc. With wait it blocks
// until everything is written, the write deadline passes or the connection
// fails; without, it stops when the socket's buffer is full and reports
// full. It is called again (with wait) to finish a full batch.
func (b *batch) writeRaw(rc syscall.RawConn, wait bool) (full bool, err error) {
	b.nowait, b.full = !wait, false
	err = rc.Write(b.writevFn)
	if err == nil {
		err = b.werr
	}
	if err == nil && b.full {
		return true, nil
	}
	clear(b.iov[:cap(b.iov)]) // drop pointers to frame data
	b.pending = nil
	return false, err
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
			if b.nowait {
				b.full = true
				return true
			}
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
