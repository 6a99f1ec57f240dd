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

// writeLoop writes queued frames, one write call per batch, until the queue
// is empty; then, if closing, the close frame. It runs only while there is
// something to write.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	b := batchPool.Get().(*batch)
	defer b.release()
	for {
		c.mu.Lock()
		items := c.queue
		sendClose := c.stage == closePending
		if c.tcpClosed || (len(items) == 0 && !sendClose) {
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
			c.mu.Unlock()
			return
		}
		var closeMsg []byte
		if sendClose {
			closeMsg = c.closeMsg
			c.stage = closeWritten
		}
		c.queue, c.spare = c.spare[:0], nil
		c.inflight = len(items)
		deadline := time.Now().Add(c.t.writeTimeout)
		if c.closing && !c.closeDeadline.IsZero() && c.closeDeadline.Before(deadline) {
			deadline = c.closeDeadline
		}
		_ = c.nc.SetWriteDeadline(deadline)
		c.mu.Unlock()

		err := c.writeBatch(b, items, sendClose, closeMsg)
		clear(items)

		c.mu.Lock()
		c.inflight = 0
		if c.spare == nil {
			c.spare = items[:0]
		}
		if err == nil && !sendClose {
			c.mu.Unlock()
			continue
		}
		c.writing = false
		c.spare = nil
		if err != nil {
			clear(c.queue) // never to be written: drop the shared frames
			putQueue(c.queue)
			c.queue = nil
		}
		closeNow := !c.tcpClosed && (err != nil || !c.started || c.t.closeTimeout < 0)
		if err != nil && !c.closing {
			c.closing = true
			c.reason = fmt.Errorf("websocket: write: %w", err)
		}
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
		} else if sendClose {
			// The reader waits for the client's answer, not forever.
			_ = c.nc.SetReadDeadline(time.Now().Add(c.t.closeTimeout))
			if c.poll.Load() != nil {
				time.AfterFunc(c.t.closeTimeout, c.closeTCP)
			}
		}
		return
	}
}

// writeBatch writes items, then the close frame when sendClose, with one
// write call. Frame data is handed to writev as is, never copied (except for
// connections without writev, such as TLS, where it is joined first).
func (c *Conn) writeBatch(b *batch, items []outFrame, sendClose bool, closeMsg []byte) error {
	if c.deflate {
		b.z, b.zend = b.z[:0], b.zend[:0]
		for _, it := range items {
			end := -1
			if it.op.IsData() && len(it.data) >= c.t.threshold {
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

	var err error
	switch {
	case c.rc != nil:
		err = b.writeRaw(c.rc)
	case c.writev:
		b.wv = b.bufs // WriteTo consumes it
		_, err = b.wv.WriteTo(c.nc)
		b.wv = nil
	default:
		flat := b.flat[:0]
		for _, p := range b.bufs {
			flat = append(flat, p...)
		}
		_, err = c.nc.Write(flat)
		b.flat = flat[:0]
	}
	clear(b.bufs[:cap(b.bufs)]) // drop references to frame data
	b.bufs = b.bufs[:0]
	return err
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
