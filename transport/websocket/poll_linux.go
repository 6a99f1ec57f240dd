//go:build linux

package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gobwas/ws"

	"github.com/go-realtime/realtime/internal/netpoll"
)

// On Linux a plain TCP connection is read without a goroutine of its own:
// the shared poller (internal/netpoll) reports when the socket is readable,
// one of its worker goroutines reads what has arrived without blocking, hands
// every complete message to the handler, and returns; reports are
// edge-triggered, so the next arrival is reported again. An
// idle connection holds no goroutine and no read buffer.

// pollState is a polled connection's reading state.
type pollState struct {
	mu       sync.Mutex                     // one reading goroutine at a time
	h        atomic.Pointer[netpoll.Handle] // nil until registered
	in       *[]byte                        // bytes read but not processed yet (pooled); nil while idle
	off      int                            // processed prefix of *in
	scan     unitScan                       // how far the unit at off was walked
	unit     bytes.Reader                   // what rd.src reads while polled
	finished bool                           // finish has run: nothing more to read
}

// pollBufSize is the pooled read buffer size; larger messages grow their own.
const pollBufSize = 4 << 10

var pollBufs = sync.Pool{New: func() any { b := make([]byte, 0, pollBufSize); return &b }}

// startPolled registers c with the poller; false means read with a goroutine.
func (c *Conn) startPolled() bool {
	if c.rc == nil || c.t.noPoll {
		return false
	}
	p, err := netpoll.Default()
	if err != nil {
		return false
	}
	ps := new(pollState)
	if pr, ok := c.rd.src.(*prefixReader); ok && len(pr.buf) > 0 {
		// Bytes that came with the handshake: process them first.
		b := pollBufs.Get().(*[]byte)
		*b = append((*b)[:0], pr.buf...)
		ps.in = b
	}
	c.poll.Store(ps)
	if ps.in != nil {
		go c.onReadable() // registers when done
		return true
	}
	// Hold the reading lock while registering: a report may come at once,
	// and its reader must find the handle set.
	ps.mu.Lock()
	defer ps.mu.Unlock()
	h, err := c.register(p, ps)
	if err != nil {
		c.poll.Store(nil)
		return false
	}
	ps.h.Store(h)
	return true
}

// register adds the socket to the poller, holding the descriptor open
// meanwhile (a closed connection fails instead).
func (c *Conn) register(p *netpoll.Poller, ps *pollState) (*netpoll.Handle, error) {
	var h *netpoll.Handle
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { h, err = p.Add(int(fd), c.onReadable) }); cerr != nil {
		return nil, cerr
	}
	return h, err
}

// wakeReader makes the reading side notice that the TCP connection was
// closed locally, which the poller does not report.
func (c *Conn) wakeReader() {
	if c.poll.Load() != nil {
		go c.onReadable()
	}
}

// onReadable reads what has arrived, processes the complete messages, and
// returns (reports are edge-triggered: what arrives later is reported).
func (c *Conn) onReadable() {
	ps := c.poll.Load()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.finished {
		return
	}
	for {
		if ps.in == nil {
			ps.in = pollBufs.Get().(*[]byte)
			*ps.in = (*ps.in)[:0]
		}
		buf := *ps.in
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		space := cap(buf) - len(buf)
		n, rerr := rawRead(c.rc, buf[len(buf):cap(buf)])
		if n > 0 {
			buf = buf[:len(buf)+n]
		}
		*ps.in = buf
		if !c.processUnits(ps) {
			return
		}
		switch {
		case n == space:
			continue // the buffer filled up: there may be more
		case n > 0:
			if h := ps.h.Load(); h != nil && h.HungUp() {
				continue // read on to the end of the stream
			}
			// A short read emptied the socket: no need for a read that
			// would only say EAGAIN; anything newer is reported.
		case errors.Is(rerr, syscall.EAGAIN):
		case rerr == nil:
			c.finishPolled(ps, io.EOF)
			return
		default:
			c.finishPolled(ps, rerr)
			return
		}
		break
	}
	if ps.off == len(*ps.in) {
		ps.release()
	}
	if ps.h.Load() != nil {
		return // reports are edge-triggered: the next data is reported
	}
	// Bytes that came with the handshake were processed: now watch.
	p, _ := netpoll.Default()
	h, err := c.register(p, ps)
	if err != nil {
		c.finishPolled(ps, err)
		return
	}
	ps.h.Store(h)
}

// processUnits hands every complete message (or control frame) in ps.in
// to the frame reader and the handler. It returns false once the
// connection has finished.
func (c *Conn) processUnits(ps *pollState) bool {
	// Frames sent meanwhile (replies, acks) are written at once by their
	// sender; see startWriterLocked.
	c.dispatching.Store(true)
	defer c.dispatching.Store(false)
	for {
		pending := (*ps.in)[ps.off:]
		end := ps.scan.unitLen(pending, &c.rd)
		if end == 0 {
			break
		}
		ps.unit.Reset(pending[:end])
		c.rd.src = &ps.unit
		ps.off += end
		if !c.handleNext() {
			ps.finished = true
			ps.release()
			c.unregister()
			return false
		}
	}
	// Keep only the unprocessed bytes, at the front.
	rest := (*ps.in)[ps.off:]
	if len(rest) == 0 {
		*ps.in = (*ps.in)[:0]
	} else if ps.off > 0 {
		*ps.in = (*ps.in)[:copy(*ps.in, rest)]
	}
	ps.off = 0
	return true
}

// handleNext reads one unit with the frame reader and acts on it, as
// readOne does for a reading goroutine. It returns false once the
// connection has finished.
func (c *Conn) handleNext() bool {
	op, p, err := c.rd.next()
	if err != nil {
		c.rd.src = c.nc
		c.finish(err)
		return false
	}
	switch op {
	case ws.OpText, ws.OpBinary:
		if c.isClosing() {
			return true
		}
		if err := c.h.HandleFrame(frameOf(op, p)); err != nil {
			c.rd.src = c.nc
			c.finish(&handlerError{err})
			return false
		}
	case ws.OpPing:
		c.enqueueControl(ws.OpPong, p)
	case ws.OpClose:
		ce, err := parseClose(p)
		c.rd.src = c.nc
		if err != nil {
			c.finish(err)
		} else {
			c.finish(ce)
		}
		return false
	}
	return true
}

// finishPolled ends a polled connection whose socket failed or hung up.
func (c *Conn) finishPolled(ps *pollState, err error) {
	if ps.in != nil && len(*ps.in)-ps.off > 0 && errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	ps.finished = true
	ps.release()
	c.unregister()
	c.rd.src = c.nc
	c.finish(err)
}

// unregister stops the poller watching the socket. It must run before the
// socket is closed: the descriptor's number may be reused at once by
// another connection, whose registration a later removal would drop.
func (c *Conn) unregister() {
	if ps := c.poll.Load(); ps != nil {
		if h := ps.h.Load(); h != nil {
			_ = h.Remove()
		}
	}
}

func (ps *pollState) release() {
	if ps.in == nil {
		return
	}
	if cap(*ps.in) == pollBufSize {
		*ps.in = (*ps.in)[:0]
		pollBufs.Put(ps.in)
	}
	ps.in, ps.off = nil, 0
}

// unitScan walks the frames of the unit (see unitLen) that the bytes
// pending in a pollState begin with. It keeps how far it got, so that a unit
// arriving over many reads is walked once, not once per read: a message
// split into many small frames costs time linear in its length.
type unitScan struct {
	pos   int   // whole frames of the unit walked so far, in bytes
	total int64 // payload bytes of the message's frames walked or read
	frags int   // data frames of the message walked or read
}

// unitLen returns the length of the first unit of b that the frame reader
// rd consumes in one call — a control frame, or the frames of a data message
// up to the final one (stopping early at an interleaved control frame) —
// or 0 when b does not hold all of it yet; b must begin with the unit the
// previous calls walked. Frames the reader will refuse (over the size limit,
// or past the fragment bound) end the unit at their header, so the reader
// sees them at once.
func (s *unitScan) unitLen(b []byte, rd *frameReader) int {
	if s.pos == 0 {
		// A new unit: it may continue a message whose first frames came
		// in an earlier unit.
		s.total, s.frags = int64(len(rd.msg)), rd.frags
	}
	limit := compressedLimit(rd.maxPayload)
	for {
		pos := s.pos
		if len(b)-pos < 2 {
			return 0
		}
		b0, b1 := b[pos], b[pos+1]
		control := ws.OpCode(b0 & 0xf).IsControl()
		if !control && rd.maxFrags > 0 && s.frags >= rd.maxFrags {
			return s.end(pos + 2) // refused by the reader on these 2 bytes
		}
		hdr := 2
		if b1&0x80 != 0 {
			hdr += 4
		}
		n := int64(b1 & 0x7f)
		switch n {
		case 126:
			hdr += 2
			if len(b)-pos < 4 {
				return 0
			}
			n = int64(binary.BigEndian.Uint16(b[pos+2:]))
		case 127:
			hdr += 8
			if len(b)-pos < 10 {
				return 0
			}
			// Past 2^62 the reader refuses the frame; refused below.
			n = int64(min(binary.BigEndian.Uint64(b[pos+2:]), 1<<62+1))
		}
		if len(b)-pos < hdr {
			return 0
		}
		switch {
		case n > 1<<62,
			control && n > maxControlPayload,
			!control && s.total+n > limit:
			return s.end(pos + hdr) // refused by the reader before its payload
		}
		if int64(len(b)-pos-hdr) < n {
			return 0
		}
		s.pos = pos + hdr + int(n)
		if control || b0&0x80 != 0 {
			return s.end(s.pos)
		}
		s.total += n
		s.frags++
	}
}

// end ends the unit at n bytes and returns n.
func (s *unitScan) end(n int) int {
	*s = unitScan{}
	return n
}

// rawOp is the state of a read done through syscall.RawConn, whose
// callback would otherwise allocate a closure (and its variables) per call.
type rawOp struct {
	p      []byte
	n      int
	err    error
	readFn func(fd uintptr) bool
}

var rawOps = sync.Pool{New: func() any {
	op := new(rawOp)
	op.readFn = op.read
	return op
}}

func (op *rawOp) read(fd uintptr) bool {
	op.n, op.err = syscall.Read(int(fd), op.p)
	return true // never wait: the poller does
}

// rawRead reads once into p without waiting.
func rawRead(rc syscall.RawConn, p []byte) (int, error) {
	op := rawOps.Get().(*rawOp)
	op.p = p
	err := rc.Read(op.readFn)
	n, rerr := op.n, op.err
	if err != nil {
		rerr = err
	}
	*op = rawOp{readFn: op.readFn}
	rawOps.Put(op)
	return n, rerr
}
