package websocket

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flow"
)

// Conn is the server end of one WebSocket connection, returned by
// [Transport.Accept]. Send, Close and CloseWithStatus may be called from any
// goroutine.
//
// Received messages are delivered by a reader started by Start (on Linux a
// shared poller's worker, elsewhere a goroutine per connection); queued
// frames are written by whoever has the writer's turn (see write.go): the
// sender itself when it answers from a handler, the shared flushers, or a
// writer goroutine that exists only while a slow peer's queue is not empty.
// HandleClose is called exactly once, by the reader, after the last
// HandleFrame.
type Conn struct {
	t       *Transport
	nc      net.Conn        // reads (via rd), writes and deadlines
	raw     net.Conn        // what closing releases: nc, or the TCP conn under TLS
	rc      syscall.RawConn // nc's, for writev on Linux; nil elsewhere
	writev  bool            // nc writes net.Buffers with writev
	deflate bool            // permessage-deflate negotiated
	writeFn func()          // c.writeLoop, bound once so that starting a writer does not allocate

	rd   frameReader // reader goroutine (or polled reader) only
	h    transport.Handler
	poll atomic.Pointer[pollState] // set when read through the poller

	wg          sync.WaitGroup // running writer
	dispatching atomic.Bool    // the reader is handing received messages to h

	mu            sync.Mutex
	pong          int32       // 1 + the index in queue of the pong waiting there; 0 when none does
	queue         []outFrame  // frames waiting for the writer
	spare         []outFrame  // the writer's previous batch, reused as the next queue
	budget        flow.Budget // bytes of the queue and of the batch being written
	batch         int64       // bytes of the batch being written; 0 when none is
	writing       bool        // someone has the writer's turn (see startWriterLocked)
	started       bool        // Start was called
	closing       bool        // Send refused from now on; reason is final
	stage         closeStage
	tcpClosed     bool
	closeMsg      []byte    // payload of the close frame to send
	closeDeadline time.Time // bound of the writes that flush before the close frame
	reason        error     // what HandleClose gets
}

var (
	_ transport.Conn      = (*Conn)(nil)
	_ transport.TrySender = (*Conn)(nil)
	_ transport.Writable  = (*Conn)(nil)
)

type closeStage uint8

const (
	closeNone    closeStage = iota
	closePending            // a close frame waits for the writer
	closeWritten            // the close frame was written (or its write failed)
)

// outFrame is a queued frame: data is shared with the sender, never
// modified.
type outFrame struct {
	op  ws.OpCode
	raw bool // data is written as is, not framed (the handshake response)
	// noCompress: sent without permessage-deflate (transport.Frame.NoCompress).
	noCompress bool
	data       []byte
}

// idleQueueCap is the largest queue capacity kept while the connection is
// idle; bigger ones are released when the writer exits.
const idleQueueCap = 8

var errSendClosed = fmt.Errorf("websocket: send: %w", transport.ErrClosed)

func newConn(t *Transport, nc net.Conn, src io.Reader, p transport.Params, deflate bool) *Conn {
	c := &Conn{
		t:       t,
		nc:      nc,
		raw:     nc,
		deflate: deflate,
		budget:  flow.NewBudget(p.MaxQueueBytes),
		rd: frameReader{
			src:        src,
			maxPayload: p.MaxPayload,
			maxFrags:   t.maxFragments,
			masked:     true,
			deflate:    deflate,
		},
	}
	switch nc := nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		c.writev = true
	case *tls.Conn:
		// Closing the TCP connection never blocks, unlike tls.Conn.Close
		// which writes an alert; the close frame already ended the session.
		c.raw = nc.NetConn()
	}
	c.rc = rawConnOf(nc)
	c.writeFn = c.writeLoop
	// Until Start, frames are sent by the goroutine that accepted the
	// connection (the Engine.IO open packet): written by it, at once.
	c.dispatching.Store(true)
	return c
}

// Name returns transport.NameWebSocket.
func (c *Conn) Name() string { return transport.NameWebSocket }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Compression reports whether permessage-deflate was negotiated.
func (c *Conn) Compression() bool { return c.deflate }

// Start begins delivering received messages to h; see transport.Conn. If
// the connection has already ended, h.HandleClose is called at once (from
// another goroutine). Calls after the first are ignored.
func (c *Conn) Start(h transport.Handler) {
	if h == nil {
		h = discardHandler{}
	}
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		c.t.log.Warn("websocket: Start called more than once", "remote", c.nc.RemoteAddr())
		return
	}
	c.started = true
	c.h = h
	inline := len(c.queue) > 0 && c.startWriterLocked() // the handshake response, if still queued
	c.mu.Unlock()
	if inline {
		c.flush(inlineRounds)
	}
	c.dispatching.Store(false)
	if c.startPolled() {
		return
	}
	go c.readLoop()
}

type discardHandler struct{}

func (discardHandler) HandleFrame(transport.Frame) error { return nil }
func (discardHandler) HandleClose(error)                 {}

// Send queues frames to be written in order; see transport.Conn. It never
// waits for the peer. When the frames waiting to be written (queued, or
// being written) already count Params.MaxQueueBytes, the connection is
// closed at once and the error wraps transport.ErrQueueFull. Frame data is
// shared, not copied: it must not be modified afterwards.
func (c *Conn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return errSendClosed
	}
	if c.budget.Full() {
		used := c.budget.Used()
		c.mu.Unlock()
		return c.overflow(used)
	}
	inline := c.queueLocked(frames)
	c.mu.Unlock()
	if inline {
		c.flush(inlineRounds)
	}
	return nil
}

// TrySend queues frames only when nothing waits to be written (the queue is
// empty and no write is in progress); it reports whether it did and never
// closes the connection (see transport.TrySender).
func (c *Conn) TrySend(frames ...transport.Frame) bool {
	c.mu.Lock()
	if c.closing || len(c.queue) > 0 || c.batch > 0 {
		c.mu.Unlock()
		return false
	}
	inline := c.queueLocked(frames)
	c.mu.Unlock()
	if inline {
		c.flush(inlineRounds)
	}
	return true
}

// Writable implements transport.Writable: nil while the bytes waiting to
// be written are under half Params.MaxQueueBytes (or the connection is
// closing), else a channel closed once a write has brought them under it,
// or the connection closes.
func (c *Conn) Writable() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	return c.budget.Writable()
}

// queueLocked appends frames to the queue (the caller checked the bound)
// and makes sure someone writes them. It reports true when the caller must
// call c.flush(inlineRounds) once it has unlocked c.mu.
func (c *Conn) queueLocked(frames []transport.Frame) (inline bool) {
	if len(frames) == 0 {
		return false
	}
	c.reserveLocked(len(frames))
	for _, f := range frames {
		op := ws.OpText
		if f.Binary {
			op = ws.OpBinary
		}
		c.queue = append(c.queue, outFrame{op: op, data: f.Data, noCompress: f.NoCompress})
	}
	c.budget.Add(flow.Size(frames))
	return c.startWriterLocked()
}

// Queues grow in size classes taken from pools and go back to them when
// the writer goes idle, so that a connection that sees a burst now and then
// neither keeps a large queue while idle nor allocates one per burst.
var queueClasses = [...]int{16, 64, 256, 1024, 4096}

var queuePools [len(queueClasses)]sync.Pool

// boxes are the pointers the pools hold queues in, reused so that giving a
// queue back does not allocate.
var boxes = sync.Pool{New: func() any { return new([]outFrame) }}

// reserveLocked makes room in the queue for n more frames.
func (c *Conn) reserveLocked(n int) {
	if cap(c.queue)-len(c.queue) >= n {
		return
	}
	need := len(c.queue) + n
	q := getQueue(need)
	q = append(q, c.queue...)
	putQueue(c.queue)
	c.queue = q
}

// getQueue returns an empty queue with room for at least n frames.
func getQueue(n int) []outFrame {
	for i, size := range queueClasses {
		if size >= n {
			if p, ok := queuePools[i].Get().(*[]outFrame); ok {
				q := (*p)[:0]
				*p = nil
				boxes.Put(p)
				return q
			}
			return make([]outFrame, 0, size)
		}
	}
	return make([]outFrame, 0, n)
}

// putQueue gives a queue from getQueue back to its pool, emptied of the
// shared frame data it referred to.
func putQueue(q []outFrame) {
	for i, size := range queueClasses {
		if cap(q) == size {
			q = q[:size]
			clear(q)
			p := boxes.Get().(*[]outFrame)
			*p = q[:0]
			queuePools[i].Put(p)
			return
		}
	}
}

// overflow closes the connection because the peer does not read: used
// bytes wait for it.
func (c *Conn) overflow(used int64) error {
	err := fmt.Errorf("websocket: %w: %d bytes waiting for the peer (bound %d)", transport.ErrQueueFull, used, c.budget.Max())
	c.abort(err)
	return err
}

// enqueueControl queues a control frame, the answer to a client's ping,
// unless closing. A pong is never refused, so that a client that pings is
// not disconnected while its queue is near the bound: instead, at most one
// waits in the queue, answering the latest ping (as RFC 6455 section 5.5.3
// allows), and a client that floods pings without reading costs nothing
// more.
func (c *Conn) enqueueControl(op ws.OpCode, p []byte) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	if c.pong > 0 {
		q := &c.queue[c.pong-1]
		c.budget.Add(int64(len(p) - len(q.data)))
		q.data = p
		c.mu.Unlock()
		return
	}
	c.reserveLocked(1)
	c.queue = append(c.queue, outFrame{op: op, data: p})
	c.pong = int32(len(c.queue))
	c.budget.Add(int64(len(p)) + transport.FrameOverhead)
	inline := c.startWriterLocked()
	c.mu.Unlock()
	if inline {
		c.flush(inlineRounds)
	}
}

// Close closes the connection with status 1000; see CloseWithStatus.
func (c *Conn) Close() error { return c.CloseWithStatus(StatusNormalClosure, "") }

// CloseWithStatus closes the connection with the given status code (for
// example 1001 going away, 1008 policy violation, 1009 message too big) and
// reason (cut to 123 bytes). It returns at once: the frames already queued
// are written first (bounded by Options.WriteTimeout), then the close frame,
// then the TCP connection is closed once the client answers (bounded by
// Options.CloseTimeout). The handler gets HandleClose(nil) unless the
// connection had already ended for another reason. Calls after the first do
// nothing and return nil; an invalid code returns an error and does nothing.
func (c *Conn) CloseWithStatus(code int, reason string) error {
	if !validCloseCode(code) {
		return fmt.Errorf("websocket: invalid close status code %d", code)
	}
	c.beginClose(code, reason, nil, false)
	return nil
}

// beginClose starts the closing handshake from this side: reason err (for
// HandleClose), close frame (code, text) after the queued frames, or at once
// when dropQueue. It reports false when the connection was already closing.
func (c *Conn) beginClose(code int, text string, err error, dropQueue bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closeLocked(err) {
		return false
	}
	c.stage = closePending
	c.closeMsg = closePayload(code, text)
	c.closeDeadline = time.Now().Add(c.t.writeTimeout)
	if dropQueue {
		c.dropQueueLocked()
	}
	c.startWriterLocked() // closePending: never inline
	return true
}

// closeLocked makes Send refuse frames from now on, for reason err (what
// HandleClose gets), and wakes the producers waiting for the queue to
// drain. It reports false when the connection was already closing (the
// first reason stays).
func (c *Conn) closeLocked(err error) bool {
	if c.closing {
		return false
	}
	c.closing = true
	c.reason = err
	c.budget.Wake()
	return true
}

// dropQueueLocked drops the frames waiting for the writer (not the batch
// being written).
func (c *Conn) dropQueueLocked() {
	clear(c.queue)
	c.queue = c.queue[:0]
	c.pong = 0
	c.budget.Release(c.budget.Used() - c.batch)
}

// abort ends the connection at once: no close frame, TCP closed.
func (c *Conn) abort(err error) {
	c.mu.Lock()
	c.closeLocked(err)
	c.dropQueueLocked()
	c.mu.Unlock()
	c.closeTCP()
}

func (c *Conn) closeTCP() {
	c.mu.Lock()
	done := c.tcpClosed
	c.tcpClosed = true
	c.mu.Unlock()
	if !done {
		c.unregister()
		_ = c.raw.Close()
		c.wakeReader()
	}
}

func (c *Conn) isTCPClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tcpClosed
}

// frameOf returns the transport frame of a data message.
func frameOf(op ws.OpCode, p []byte) transport.Frame {
	return transport.Frame{Binary: op == ws.OpBinary, Data: p}
}

func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// readLoop delivers messages until the connection ends.
func (c *Conn) readLoop() {
	for c.readOne() {
	}
}

// readOne reads one message and hands it to the handler. It returns false
// once the connection has ended and HandleClose was called. It blocks until a
// whole message (or the end) has been read, so a poller may call it when the
// socket is readable instead of parking a goroutine per connection.
func (c *Conn) readOne() bool {
	f, err := c.readMessage()
	if err == nil {
		if c.isClosing() {
			// Closing: frames still in flight from the peer are dropped.
			return true
		}
		c.dispatching.Store(true)
		err = c.h.HandleFrame(f)
		c.dispatching.Store(false)
		if err == nil {
			return true
		}
		err = &handlerError{err}
	}
	c.finish(err)
	return false
}

// handlerError marks an error returned by HandleFrame.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// readMessage reads the next data message, answering the control frames
// that come before it: ping gets a pong, pong is ignored, close ends with a
// *CloseError.
func (c *Conn) readMessage() (transport.Frame, error) {
	for {
		op, p, err := c.rd.next()
		if err != nil {
			return transport.Frame{}, err
		}
		switch op {
		case ws.OpText, ws.OpBinary:
			return frameOf(op, p), nil
		case ws.OpPing:
			c.enqueueControl(ws.OpPong, p)
		case ws.OpClose:
			ce, err := parseClose(p)
			if err != nil {
				return transport.Frame{}, err
			}
			return transport.Frame{}, ce
		}
	}
}

// finish ends the connection after the reader stopped on err, then calls
// HandleClose.
func (c *Conn) finish(err error) {
	var (
		ce *CloseError
		pe *protocolError
		he *handlerError
	)
	switch {
	case errors.As(err, &ce):
		// The peer's close frame: answer it (unless it answers ours) with
		// its code, then close TCP once the answer is out.
		code := ce.Code
		if code == StatusNoStatus {
			code = 0
		}
		c.beginClose(code, "", ce, true)
		c.wg.Wait()
		c.closeTCP()
	case errors.As(err, &pe):
		c.t.log.Debug("websocket: closing on protocol error", "remote", c.nc.RemoteAddr(), "err", pe.err)
		if c.beginClose(pe.code, pe.err.Error(), pe.err, false) {
			c.drain(pe.inSync)
		}
		c.closeTCP()
		c.wg.Wait()
	case errors.As(err, &he):
		code := StatusProtocolError
		if errors.Is(he.err, transport.ErrTooLarge) {
			code = StatusMessageTooBig
		}
		if c.beginClose(code, he.err.Error(), he.err, false) {
			c.drain(true)
		}
		c.closeTCP()
		c.wg.Wait()
	default:
		c.mu.Lock()
		c.closeLocked(fmt.Errorf("websocket: read: %w", err))
		c.mu.Unlock()
		c.closeTCP()
		c.wg.Wait()
	}
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	if reason != nil {
		c.t.log.Debug("websocket: connection ended", "remote", c.nc.RemoteAddr(), "err", reason)
	}
	c.h.HandleClose(reason)
}

// drain reads until the peer answers the close frame sent after an error,
// closes, or the close timeout (set by the writer once the close frame is
// out) expires. When the stream is still at a frame boundary it is parsed to
// stop at the peer's close frame; otherwise bytes are discarded.
func (c *Conn) drain(inSync bool) {
	for inSync {
		op, _, err := c.rd.next()
		if err != nil {
			var pe *protocolError
			if !errors.As(err, &pe) {
				return
			}
			break
		}
		if op == ws.OpClose {
			return
		}
	}
	buf := make([]byte, 512)
	for {
		if _, err := c.rd.src.Read(buf); err != nil {
			return
		}
	}
}
