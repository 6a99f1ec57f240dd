package load

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// After the handshake a connection's bytes are read into a buffer and cut
// into frames by [reader]: on Linux by a callback of the shared poller
// when the socket is readable (poll_linux.go; no goroutine and no buffer
// while idle), elsewhere by a goroutine per connection (readLoop).

// frameHandler acts on one complete message or control frame; an error
// ends the connection.
type frameHandler interface {
	handleFrame(op byte, p []byte) error
}

// reader cuts a byte stream into WebSocket messages.
type reader struct {
	in     *[]byte // bytes read but not processed yet; nil while idle (polled)
	frag   []byte  // the fragments of an unfinished message
	fragOp byte    // its opcode; 0 when no message is unfinished
}

// readBufSize is the size of the pooled read buffers; a frame that does
// not fit gets a buffer of its own.
const readBufSize = 4 << 10

var readBufs = sync.Pool{New: func() any { b := make([]byte, 0, readBufSize); return &b }}

// buf returns the read buffer, taking one from the pool when there is none,
// with room for at least one more byte.
func (r *reader) buf() []byte {
	if r.in == nil {
		r.in = readBufs.Get().(*[]byte)
		*r.in = (*r.in)[:0]
	}
	b := *r.in
	if len(b) == cap(b) {
		need := len(b) + 1
		if h, ok, _ := parseHeader(b); ok && h.hdr+h.n > need {
			need = h.hdr + h.n
		}
		nb := make([]byte, len(b), max(need, 2*cap(b)))
		copy(nb, b)
		r.in = &nb // the pooled one is dropped: it was full, so never empty
		b = nb
	}
	return b
}

// pending reports whether part of a frame or message has been read.
func (r *reader) pending() bool {
	return (r.in != nil && len(*r.in) > 0) || r.fragOp != 0
}

// release returns an empty read buffer to the pool.
func (r *reader) release() {
	if r.in == nil || len(*r.in) > 0 {
		return
	}
	if cap(*r.in) == readBufSize {
		readBufs.Put(r.in)
	}
	r.in = nil
}

// frameHeader is a parsed frame header.
type frameHeader struct {
	fin    bool
	op     byte
	masked bool
	hdr    int // header length, mask key included
	n      int // payload length
}

// maxFrame bounds what a server may send us.
const maxFrame = 1 << 20

// parseHeader parses the frame header at the start of b; ok is false when
// b does not hold all of it yet.
func parseHeader(b []byte) (h frameHeader, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	h.op = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	h.hdr = 2
	n := uint64(b[1] & 0x7f)
	switch n {
	case 126:
		if len(b) < 4 {
			return h, false, nil
		}
		n = uint64(binary.BigEndian.Uint16(b[2:]))
		h.hdr = 4
	case 127:
		if len(b) < 10 {
			return h, false, nil
		}
		n = binary.BigEndian.Uint64(b[2:])
		h.hdr = 10
	}
	if n > maxFrame {
		return h, false, fmt.Errorf("%w: frame of %d bytes", ErrProtocol, n)
	}
	h.n = int(n)
	if h.masked {
		h.hdr += 4
	}
	return h, len(b) >= h.hdr, nil
}

// consume hands every complete message and control frame in the buffer to
// c, and keeps the bytes of an incomplete frame at the front of the buffer.
func (r *reader) consume(c frameHandler) error {
	b := *r.in
	off := 0
	defer func() {
		if off > 0 {
			*r.in = b[:copy(b, b[off:])]
		}
	}()
	for {
		h, ok, err := parseHeader(b[off:])
		if err != nil {
			return err
		}
		if !ok || len(b)-off-h.hdr < h.n {
			return nil
		}
		p := b[off+h.hdr : off+h.hdr+h.n]
		if h.masked { // servers do not mask, but tolerate it
			key := b[off+h.hdr-4 : off+h.hdr]
			for i := range p {
				p[i] ^= key[i&3]
			}
		}
		off += h.hdr + h.n
		op := h.op
		switch {
		case op >= opClose: // control frames come whole, even within a message
		case op == opCont:
			if r.fragOp == 0 {
				return fmt.Errorf("%w: continuation frame outside a message", ErrProtocol)
			}
			if len(r.frag)+len(p) > maxFrame {
				return fmt.Errorf("%w: message of more than %d bytes", ErrProtocol, maxFrame)
			}
			r.frag = append(r.frag, p...)
			if !h.fin {
				continue
			}
			op, p = r.fragOp, r.frag
			r.frag, r.fragOp = nil, 0
		case r.fragOp != 0:
			return fmt.Errorf("%w: data frame within a fragmented message", ErrProtocol)
		case !h.fin:
			if op != opText && op != opBin {
				return fmt.Errorf("%w: fragmented frame of opcode %d", ErrProtocol, op)
			}
			r.frag = append(make([]byte, 0, 2*len(p)), p...)
			r.fragOp = op
			continue
		}
		if err := c.handleFrame(op, p); err != nil {
			return err
		}
	}
}

// handleFrame acts on one message or control frame.
func (c *Client) handleFrame(op byte, p []byte) error {
	switch op {
	case opText:
		return c.packet(p)
	case opClose:
		return fmt.Errorf("%w: close frame", ErrClosed)
	case opPing:
		return c.sendFrame(opPong, p)
	}
	return nil // binary and pong frames are ignored
}

// readLoop reads the connection on a goroutine of its own, starting with
// the bytes that came with the handshake.
func (c *Client) readLoop(r *reader) {
	var err error
	defer func() { c.finish(err) }()
	if r.in != nil { // the bytes that came with the handshake
		if err = r.consume(c); err != nil {
			return
		}
	}
	for {
		b := r.buf()
		n, rerr := c.nc.Read(b[len(b):cap(b)])
		*r.in = b[:len(b)+n]
		if err = r.consume(c); err != nil {
			return
		}
		if rerr != nil {
			err = endErr(r, rerr)
			return
		}
	}
}

// endErr is the error that ends a connection whose read failed with err.
func endErr(r *reader, err error) error {
	if errors.Is(err, io.EOF) && r.pending() {
		return io.ErrUnexpectedEOF
	}
	return err
}

// finish ends the connection once the reading side has stopped: it closes
// the socket, fails the pending acks and closes done.
func (c *Client) finish(err error) {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.err = err
	c.unregister()
	_ = c.nc.Close()
	c.amu.Lock()
	acks := c.acks
	c.acks = nil
	c.ended = true
	c.amu.Unlock()
	for _, fn := range acks {
		fn(nil)
	}
	close(c.done)
}

// noPoll makes new connections read with a goroutine even where a poller
// is available (tests set it to cover both ways).
var noPoll bool
