package websocket

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// maxServerHeader is the size of the longest unmasked frame header.
const maxServerHeader = 10

// batch is the writer's scratch space for one write call, pooled and held
// only while a writer runs.
type batch struct {
	hdr  []byte      // frame headers, and the close frame
	z    []byte      // compressed payloads
	zend []int       // per frame: end of its compressed payload in z, or -1
	bufs net.Buffers // what one writev sends
	wv   net.Buffers // bufs being consumed by net.Buffers.WriteTo
	flat []byte      // the same, joined, for conns without writev

	rawState // writev through syscall.RawConn (Linux)
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// maxPooledScratch bounds the buffers a pooled batch keeps.
const maxPooledScratch = 256 << 10

func (b *batch) release() {
	if cap(b.z) > maxPooledScratch {
		b.z = nil
	}
	if cap(b.flat) > maxPooledScratch {
		b.flat = nil
	}
	batchPool.Put(b)
}

// Who writes. The sender that finds no writer running becomes responsible
// for the queue (c.writing), and hands the writing to one of three:
//
//   - itself, at once, when the connection is dispatching received
//     messages (an ack or a reply from a handler): the frames go out with a
//     non-blocking write from the goroutine that produced them, with no
//     goroutine started or woken;
//   - the shared flushers (flush.go), for everything else on a plain TCP
//     connection: a broadcast to 1,000 idle connections wakes a goroutine or
//     two instead of starting 1,000;
//   - a writer goroutine of its own (writeLoop) with blocking writes bounded
//     by Options.WriteTimeout: when the socket's buffer is full (a slow
//     reader), for the close frame, and on connections without a raw
//     descriptor (TLS).
//
// Non-blocking writes never wait for the peer, so neither a handler nor a
// flusher is held up by a slow client.

// inlineRounds bounds the batches an inline writer writes before it leaves
// the rest to the flushers (others may keep queueing meanwhile).
const inlineRounds = 2

// flushRounds bounds the batches a flusher writes for one connection
// before it moves on to the next one.
const flushRounds = 4

// startWriterLocked makes sure someone writes what was just queued. It
// reports true when the caller must call c.flush(inlineRounds) itself,
// after unlocking c.mu.
func (c *Conn) startWriterLocked() (inline bool) {
	if c.writing {
		return false
	}
	c.writing = true
	c.wg.Add(1)
	switch {
	case c.rc == nil || c.stage == closePending:
		go c.writeFn()
	case c.dispatching.Load():
		return true
	default:
		flushers.push(c)
	}
	return false
}

// takeLocked moves the queue into the batch about to be written: all the
// bytes counted are the batch's until written releases them.
func (c *Conn) takeLocked() []outFrame {
	items := c.queue
	c.queue, c.spare = c.spare[:0], nil
	c.pong = 0
	c.batch = c.budget.Used()
	return items
}

// idleLocked ends the writer's turn: nothing is queued.
func (c *Conn) idleLocked() {
	c.writing = false
	// Idle: keep one small slice for the next Send.
	if cap(c.queue) == 0 {
		c.queue, c.spare = c.spare, nil
	}
	if c.spare != nil {
		putQueue(c.spare)
		c.spare = nil
	}
	if cap(c.queue) > idleQueueCap {
		putQueue(c.queue)
		c.queue = nil
	}
}

// flush writes what is queued with non-blocking writes, for at most rounds
// batches. The caller holds the writer's turn (c.writing); flush passes it
// on: released once the queue is empty, or handed to a writer goroutine
// (socket full, close frame) or to the flushers (rounds used up).
func (c *Conn) flush(rounds int) {
	b := batchPool.Get().(*batch)
	for i := 0; ; i++ {
		c.mu.Lock()
		switch {
		case c.tcpClosed || (len(c.queue) == 0 && c.stage != closePending):
			c.idleLocked()
			c.mu.Unlock()
			b.release()
			c.wg.Done()
			return
		case c.stage == closePending:
			c.mu.Unlock()
			b.release()
			go c.writeFn()
			return
		case i == rounds:
			c.mu.Unlock()
			b.release()
			flushers.push(c)
			return
		}
		items := c.takeLocked()
		c.mu.Unlock()

		b.prepare(c, items, false, nil)
		b.startRaw()
		full, err := b.writeRaw(c.rc, false)
		if full {
			// The peer is not reading fast enough: finish this batch, and
			// whatever follows, with blocking writes on a goroutine.
			go c.writeRest(b, items)
			return
		}
		b.done()
		clear(items)
		if !c.written(items, err, false) {
			b.release()
			c.wg.Done()
			return
		}
	}
}

// writeRest finishes a batch that flush left half written, then writes
// like writeLoop.
func (c *Conn) writeRest(b *batch, items []outFrame) {
	defer c.wg.Done()
	defer b.release()
	c.mu.Lock()
	deadline := c.deadlineLocked()
	c.mu.Unlock()
	err := c.finishRaw(b, deadline)
	b.done()
	clear(items)
	if c.written(items, err, false) {
		c.writeFrom(b)
	}
}

// writeLoop writes queued frames, one write call per batch, until the queue
// is empty; then, if closing, the close frame. It runs only while there is
// something to write.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	b := batchPool.Get().(*batch)
	defer b.release()
	c.writeFrom(b)
}

// writeFrom is writeLoop's loop, with b as scratch space.
func (c *Conn) writeFrom(b *batch) {
	for {
		c.mu.Lock()
		sendClose := c.stage == closePending
		if c.tcpClosed || (len(c.queue) == 0 && !sendClose) {
			c.idleLocked()
			c.mu.Unlock()
			return
		}
		var closeMsg []byte
		if sendClose {
			closeMsg = c.closeMsg
			c.stage = closeWritten
		}
		items := c.takeLocked()
		deadline := c.deadlineLocked()
		c.mu.Unlock()

		err := c.writeBatch(b, items, sendClose, closeMsg, deadline)
		clear(items)
		if !c.written(items, err, sendClose) {
			return
		}
	}
}

// deadlineLocked is the bound of a blocking write starting now.
func (c *Conn) deadlineLocked() time.Time {
	deadline := time.Now().Add(c.t.writeTimeout)
	if c.closing && !c.closeDeadline.IsZero() && c.closeDeadline.Before(deadline) {
		deadline = c.closeDeadline
	}
	return deadline
}

// written records the end of a batch's write: err is its error, sentClose
// whether it carried the close frame. Its bytes no longer count against the
// bound, which wakes the producers waiting for the queue to drain. It
// reports whether the writer goes on; when not, the writer's turn is over
// (c.writing is false) and the connection is closed or closing.
func (c *Conn) written(items []outFrame, err error, sentClose bool) bool {
	c.mu.Lock()
	c.budget.Release(c.batch)
	c.batch = 0
	if c.spare == nil {
		c.spare = items[:0]
	}
	if err == nil && !sentClose {
		c.mu.Unlock()
		return true
	}
	c.writing = false
	c.spare = nil
	if err != nil {
		c.closeLocked(fmt.Errorf("websocket: write: %w", err))
		c.dropQueueLocked() // never to be written: drop the shared frames
		putQueue(c.queue)
		c.queue = nil
	}
	closeNow := !c.tcpClosed && (err != nil || !c.started || c.t.closeTimeout < 0)
	if closeNow {
		c.tcpClosed = true
	}
	c.mu.Unlock()
	if err != nil {
		c.t.log.Debug("websocket: write failed", "remote", c.nc.RemoteAddr(), "err", err)
	}
	if closeNow {
		c.unregister()
		_ = c.raw.Close()
		c.wakeReader()
	} else if sentClose {
		// The reader waits for the client's answer, not forever.
		_ = c.nc.SetReadDeadline(time.Now().Add(c.t.closeTimeout))
		if c.poll.Load() != nil {
			time.AfterFunc(c.t.closeTimeout, c.closeTCP)
		}
	}
	return false
}

// writeBatch writes items, then the close frame when sendClose, with one
// write call, blocking until deadline at most. Frame data is handed to
// writev as is, never copied (except for connections without writev, such
// as TLS, where it is joined first).
func (c *Conn) writeBatch(b *batch, items []outFrame, sendClose bool, closeMsg []byte, deadline time.Time) error {
	b.prepare(c, items, sendClose, closeMsg)
	defer b.done()
	switch {
	case c.rc != nil:
		// The deadline is set only when the socket is full: most batches
		// go out with the first, non-blocking, write.
		b.startRaw()
		full, err := b.writeRaw(c.rc, false)
		if !full {
			return err
		}
		return c.finishRaw(b, deadline)
	case c.writev:
		_ = c.nc.SetWriteDeadline(deadline)
		b.wv = b.bufs // WriteTo consumes it
		_, err := b.wv.WriteTo(c.nc)
		b.wv = nil
		return err
	default:
		_ = c.nc.SetWriteDeadline(deadline)
		flat := b.flat[:0]
		for _, p := range b.bufs {
			flat = append(flat, p...)
		}
		_, err := c.nc.Write(flat)
		b.flat = flat[:0]
		return err
	}
}

// finishRaw writes the rest of a batch that a non-blocking write left
// (the socket was full), waiting for the peer until deadline at most.
func (c *Conn) finishRaw(b *batch, deadline time.Time) error {
	_ = c.nc.SetWriteDeadline(deadline)
	_, err := b.writeRaw(c.rc, true)
	_ = c.nc.SetWriteDeadline(time.Time{}) // the next non-blocking writes must not see it expired
	return err
}

// prepare fills b.bufs with the frames of items (compressed when
// negotiated), then the close frame when sendClose.
func (b *batch) prepare(c *Conn, items []outFrame, sendClose bool, closeMsg []byte) {
	if c.deflate {
		b.z, b.zend = b.z[:0], b.zend[:0]
		for _, it := range items {
			end := -1
			if !it.raw && !it.noCompress && it.op.IsData() && len(it.data) >= c.t.threshold {
				b.z = deflateAppend(b.z, it.data, c.t.level)
				end = len(b.z)
			}
			b.zend = append(b.zend, end)
		}
	}
	// Sized up front: the header slices handed to bufs must not move.
	b.hdr = slices.Grow(b.hdr[:0], (len(items)+1)*maxServerHeader+maxControlPayload)
	b.bufs = slices.Grow(b.bufs[:0], 2*len(items)+1)
	zpos := 0
	for i, it := range items {
		if it.raw {
			b.bufs = append(b.bufs, it.data)
			continue
		}
		p, rsv := it.data, byte(0)
		if c.deflate {
			if end := b.zend[i]; end >= 0 {
				p, rsv, zpos = b.z[zpos:end], rsv1, end
			}
		}
		s := len(b.hdr)
		b.hdr = appendHeader(b.hdr, it.op, rsv, len(p))
		b.bufs = append(b.bufs, b.hdr[s:])
		if len(p) > 0 {
			b.bufs = append(b.bufs, p)
		}
	}
	if sendClose {
		s := len(b.hdr)
		b.hdr = appendHeader(b.hdr, ws.OpClose, 0, len(closeMsg))
		b.hdr = append(b.hdr, closeMsg...)
		b.bufs = append(b.bufs, b.hdr[s:])
	}
}

// done drops the batch's references to frame data once it is written.
func (b *batch) done() {
	clear(b.bufs[:cap(b.bufs)])
	b.bufs = b.bufs[:0]
}

// appendHeader appends an unmasked frame header (FIN set).
func appendHeader(dst []byte, op ws.OpCode, rsv byte, n int) []byte {
	b0 := 0x80 | rsv<<4 | byte(op)
	switch {
	case n <= maxControlPayload:
		return append(dst, b0, byte(n))
	case n <= 0xffff:
		return append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}
