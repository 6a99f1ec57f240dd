//go:build linux

package load

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/go-realtime/realtime/internal/netpoll"
)

// On Linux a connection is read without a goroutine of its own: the shared
// poller reports when its socket is readable, and a poller worker reads
// what has arrived without blocking, handles every complete frame and
// returns. Reports are edge-triggered, so the next arrival is reported
// again. An idle connection holds no goroutine and no read buffer.

// pollState is a polled connection's reading state.
type pollState struct {
	c        *Client
	mu       sync.Mutex // one reader at a time: the poller's, or Close's
	rc       syscall.RawConn
	h        *netpoll.Handle // set before any report is handled
	r        *reader
	finished bool // nothing more to read

	// The read in progress: RawConn.Read's callback is a method value made
	// once, not a closure per read.
	p      []byte
	n      int
	err    error
	readFn func(fd uintptr) bool
}

// startReading registers the connection with the poller, or starts a
// reader goroutine when that fails.
func (c *Client) startReading(r *reader) {
	if !noPoll && c.startPolled(r) {
		return
	}
	go c.readLoop(r)
}

func (c *Client) startPolled(r *reader) bool {
	p, err := netpoll.Default()
	if err != nil {
		return false
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ps := &pollState{c: c, rc: rc, r: r}
	ps.readFn = ps.read
	// Hold the reading lock while registering: a report may come at once,
	// and its reader must find the handle set.
	ps.mu.Lock()
	var h *netpoll.Handle
	cerr := rc.Control(func(fd uintptr) { h, err = p.Add(int(fd), ps.onReadable) })
	if cerr != nil || err != nil {
		ps.mu.Unlock()
		return false
	}
	ps.h = h
	c.poll = ps
	pending := r.in != nil
	ps.mu.Unlock()
	if pending {
		// Bytes came with the handshake: handle them now, not when more
		// arrive.
		go ps.onReadable()
	}
	return true
}

// onReadable reads what has arrived and handles the complete frames.
func (ps *pollState) onReadable() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.finished {
		return
	}
	for {
		b := ps.r.buf()
		space := cap(b) - len(b)
		n, rerr := ps.rawRead(b[len(b):cap(b)])
		*ps.r.in = b[:len(b)+n]
		if err := ps.r.consume(ps.c); err != nil {
			ps.end(err)
			return
		}
		switch {
		case n == space:
			continue // the buffer filled up: there may be more
		case n > 0:
			if ps.h.HungUp() {
				continue // read on to the end of the stream
			}
			// A short read emptied the socket; what comes next is reported.
		case rerr == nil:
			ps.end(endErr(ps.r, io.EOF))
			return
		case errors.Is(rerr, syscall.EAGAIN):
		case errors.Is(rerr, syscall.EINTR):
			continue
		default:
			ps.end(endErr(ps.r, fmt.Errorf("load: read: %w", rerr)))
			return
		}
		break
	}
	ps.r.release()
}

// end finishes the connection from the reading side.
func (ps *pollState) end(err error) {
	ps.finished = true
	if ps.r.in != nil {
		*ps.r.in = (*ps.r.in)[:0]
		ps.r.release()
	}
	ps.r.frag = nil
	ps.c.finish(err)
}

func (ps *pollState) read(fd uintptr) bool {
	ps.n, ps.err = syscall.Read(int(fd), ps.p)
	return true // never wait: the poller does
}

// rawRead reads once into p without waiting.
func (ps *pollState) rawRead(p []byte) (int, error) {
	ps.p = p
	err := ps.rc.Read(ps.readFn)
	n, rerr := max(ps.n, 0), ps.err
	ps.p, ps.n, ps.err = nil, 0, nil
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// unregister stops the poller watching the socket. It must run before the
// socket is closed: the descriptor's number may be reused at once by
// another connection, whose registration a later removal would drop.
func (c *Client) unregister() {
	if c.poll != nil {
		_ = c.poll.h.Remove()
	}
}

// wakeReader makes the reading side notice that the socket was closed
// locally, which the poller does not report.
func (c *Client) wakeReader() {
	if c.poll != nil {
		c.poll.onReadable()
	}
}
