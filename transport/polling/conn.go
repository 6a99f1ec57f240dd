package polling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flow"
)

// Conn is the server's end of one long-polling session. It implements
// [transport.Conn] and [http.Handler]: the Engine.IO server passes it every
// request of the session.
//
// Send, Close, Drain and ServeHTTP may be called from any goroutine,
// concurrently. A POST that arrives before Start waits for it (at most
// [Options.StartTimeout], then it is refused with 400 and the Conn closes). The Handler is called from the goroutine serving a POST, or,
// for HandleClose only, from a request goroutine or a short-lived goroutine of
// the Conn, never while a lock of the Conn is held.
type Conn struct {
	t          *Transport
	maxPayload int64
	remoteAddr string
	eio3       bool // revision 3 payloads (transport.Params.EIO3)
	b64        bool // revision 3: binary messages as base64 text (transport.Params.Base64)

	mu         sync.Mutex
	h          transport.Handler // set by Start
	queue      []transport.Frame // frames waiting for a GET
	budget     flow.Budget       // bytes of the queue and of the GET responses being written
	getWake    chan struct{}     // closed to wake the held GET; nil when none is held
	startWait  chan struct{}     // closed by Start or close; nil when no POST waits
	closeErr   error             // why the Conn closed; nil after Close
	getActive  bool              // a GET is in flight and has not taken its frames yet
	postActive bool              // a POST is in flight
	delivering bool              // a POST is calling HandleFrame
	closed     bool
	reported   bool        // HandleClose was called or is being called
	linger     *time.Timer // Close left frames for the next GET until it fires
}

var (
	_ transport.Conn      = (*Conn)(nil)
	_ transport.Drainer   = (*Conn)(nil)
	_ transport.TrySender = (*Conn)(nil)
	_ transport.Writable  = (*Conn)(nil)
	_ http.Handler        = (*Conn)(nil)
)

// Name returns [transport.NamePolling].
func (c *Conn) Name() string { return transport.NamePolling }

// RemoteAddr returns the RemoteAddr of the handshake request.
func (c *Conn) RemoteAddr() string { return c.remoteAddr }

// Start begins delivering the frames of POST requests to h. A POST arriving
// before Start waits for it, at most [Options.StartTimeout]. If the Conn has
// already closed, h.HandleClose is called soon, from another goroutine.
func (c *Conn) Start(h transport.Handler) {
	c.mu.Lock()
	if c.h != nil || h == nil {
		c.mu.Unlock()
		return
	}
	c.h = h
	if c.startWait != nil {
		close(c.startWait)
		c.startWait = nil
	}
	closed := c.closed
	c.mu.Unlock()
	if closed {
		go c.finish()
	}
}

// Send queues frames for the next GET, waking a held one. It never blocks
// and never modifies the frames. When the frames waiting for the client
// (queued, or in a GET response being written) already count
// Params.MaxQueueBytes, it closes the Conn and returns an error wrapping
// [transport.ErrQueueFull]; after the Conn closed, an error wrapping
// [transport.ErrClosed].
func (c *Conn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	if len(frames) == 0 {
		c.mu.Unlock()
		return nil
	}
	if c.budget.Full() {
		err := fmt.Errorf("polling: %w: %d bytes waiting for the client (bound %d)", transport.ErrQueueFull, c.budget.Used(), c.budget.Max())
		c.closeFromOutsideLocked(err)
		return err
	}
	c.queueLocked(frames)
	c.mu.Unlock()
	return nil
}

// queueLocked queues frames for the next GET and wakes a held one.
func (c *Conn) queueLocked(frames []transport.Frame) {
	c.queue = append(c.queue, frames...)
	c.budget.Add(flow.Size(frames))
	c.wakeGetLocked()
}

// Close ends the session. A held GET is answered with the queued frames, or
// with a noop packet ("6") when none are. When no GET is held, the queued
// frames (a close packet, say) wait for the client's next GET, at most
// [Options.CloseTimeout]; HandleClose comes after that GET's answer or that
// timeout. Other requests get 400. Close is idempotent and returns nil; the
// Handler's HandleClose gets nil unless an error closed the Conn first.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closeFromOutsideLocked(nil)
	return nil
}

// Drain implements [transport.Drainer], for the upgrade to WebSocket: it
// closes the Conn like [Conn.Close] but returns, in order, the queued frames
// instead of writing them. A held GET is answered with a noop packet ("6");
// HandleClose gets nil. After the Conn closed it returns nil.
func (c *Conn) Drain() []transport.Frame {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	frames := c.queue
	c.queue = nil
	c.closeFromOutsideLocked(nil)
	return frames
}

// closeFromOutsideLocked closes the Conn from a goroutine that is not serving
// one of its requests, and unlocks c.mu. When no request goroutine is in
// flight to report the close, a short-lived goroutine calls HandleClose: the
// caller may hold locks of its own that the Handler needs.
func (c *Conn) closeFromOutsideLocked(err error) {
	c.closeLocked(err)
	spawn := c.h != nil && !c.getActive && !c.postActive && c.linger == nil
	c.mu.Unlock()
	if spawn {
		go c.finish()
	}
}

// closeLocked marks the Conn closed with err and wakes whoever waits. The
// caller must make sure finish runs afterwards.
func (c *Conn) closeLocked(err error) {
	if c.closed {
		return
	}
	c.closed = true
	c.closeErr = err
	if !c.getActive {
		if err == nil && len(c.queue) > 0 && c.t.closeTimeout > 0 {
			// An orderly close: the next GET collects them.
			c.linger = time.AfterFunc(c.t.closeTimeout, c.endLinger)
		} else {
			c.queue = nil // nobody will write them
		}
	}
	c.budget.Wake()
	c.wakeGetLocked()
	if c.startWait != nil {
		close(c.startWait)
		c.startWait = nil
	}
}

func (c *Conn) wakeGetLocked() {
	if c.getWake != nil {
		close(c.getWake)
		c.getWake = nil
	}
}

// endLinger drops the frames Close left for a GET that did not come in time.
func (c *Conn) endLinger() {
	c.mu.Lock()
	if c.linger == nil { // a GET took them
		c.mu.Unlock()
		return
	}
	c.linger = nil
	c.queue = nil
	c.mu.Unlock()
	c.finish()
}

// finish calls HandleClose once the Conn is closed, started, no longer
// delivering frames and no longer keeping frames for a GET. Every request
// goroutine calls it on its way out, so the last one to leave a closed Conn
// reports it.
func (c *Conn) finish() {
	c.mu.Lock()
	if !c.closed || c.h == nil || c.delivering || c.reported || c.linger != nil {
		c.mu.Unlock()
		return
	}
	c.reported = true
	h, err := c.h, c.closeErr
	c.mu.Unlock()
	if err != nil {
		c.t.log.Debug("polling: session closed", "remote", c.remoteAddr, "err", err)
	}
	h.HandleClose(err)
}

// ServeHTTP serves one request of the session: GET receives, POST sends,
// any other method is answered 400. The caller has checked the query, the
// session id, the Origin and set CORS headers.
func (c *Conn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		c.serveGet(w, r)
	case http.MethodPost:
		c.servePost(w, r)
	default:
		http.Error(w, "polling: method not allowed", http.StatusBadRequest)
		return
	}
	c.finish()
}

// Packets the Conn writes on its own.
var (
	closePacket = transport.TextFrame("1")
	noopPacket  = transport.TextFrame("6")
)

func (c *Conn) serveGet(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.closed && c.linger == nil {
		c.mu.Unlock()
		http.Error(w, "polling: session closed", http.StatusBadRequest)
		return
	}
	if c.getActive {
		c.closeLocked(fmt.Errorf("%w: second GET", ErrOverlap))
		c.mu.Unlock()
		http.Error(w, "polling: overlapping GET", http.StatusBadRequest)
		return
	}
	c.getActive = true
	for len(c.queue) == 0 && !c.closed {
		wake := make(chan struct{})
		c.getWake = wake
		c.mu.Unlock()
		if hook := c.t.hooks; hook != nil && hook.getParked != nil {
			hook.getParked(c)
		}
		select {
		case <-wake:
			c.mu.Lock()
		case <-r.Context().Done():
			c.mu.Lock()
			if c.getWake == wake {
				c.getWake = nil
			}
			c.getActive = false
			c.closeLocked(fmt.Errorf("%w: held GET: %w", ErrAborted, context.Cause(r.Context())))
			c.mu.Unlock()
			return
		}
	}
	frames, extra, taken, reuse := c.takeLocked()
	// The GET counts as answered from here: the client may send the next
	// one as soon as it reads this response.
	c.getActive = false
	c.mu.Unlock()

	bp := getBuffer()
	var buf []byte
	contentType := "text/plain; charset=UTF-8"
	if c.eio3 {
		var bin bool
		buf, bin = appendPayload3((*bp)[:0], frames, !c.b64)
		if extra.Data != nil {
			buf, _ = appendPayload3(buf, []transport.Frame{extra}, bin)
		}
		if bin {
			contentType = "application/octet-stream"
		}
	} else {
		buf = AppendPayload((*bp)[:0], frames)
		if extra.Data != nil {
			if len(frames) > 0 {
				buf = append(buf, Separator)
			}
			buf = AppendPayload(buf, []transport.Frame{extra})
		}
	}
	// Whether the frames allow compression, read before they are cleared.
	allowed := c.t.compression.on && compressible(frames)
	if reuse {
		clear(frames)
		c.mu.Lock()
		if c.queue == nil && !c.closed {
			c.queue = frames[:0]
		}
		c.mu.Unlock()
	}
	var zp *[]byte // the compressed body's buffer, if any
	body, coding := c.t.compression.encodeBody(r, allowed, buf, &zp)
	if coding != codingNone {
		w.Header().Set("Content-Encoding", codingNames[coding])
	}
	err := c.write(w, http.StatusOK, contentType, body)
	*bp = buf
	putBuffer(bp)
	if zp != nil {
		putBuffer(zp)
	}
	c.mu.Lock()
	// Written (or failed): the frames no longer count against the bound.
	c.budget.Release(taken)
	if err != nil {
		c.closeLocked(fmt.Errorf("%w: writing GET response: %w", ErrAborted, err))
	}
	c.mu.Unlock()
}

// maxReuse bounds the capacity of a drained queue kept for the next frames,
// so that an idle session does not pin a large slice.
const maxReuse = 32

// takeLocked removes the frames the answer to a GET carries. While the Conn
// is open they are the oldest queued frames fitting in maxPayload bytes (at
// least one), and taken is what they count against the bound until the
// response is written; once the Conn is closed, all of them plus extra: "1"
// after an error close, "6" when nothing else is there to say. reuse reports
// that frames may become the queue again once written.
func (c *Conn) takeLocked() (frames []transport.Frame, extra transport.Frame, taken int64, reuse bool) {
	q := c.queue
	if c.closed {
		c.queue = nil
		if c.linger != nil {
			c.linger.Stop()
			c.linger = nil
		}
		switch {
		case c.closeErr != nil:
			extra = closePacket
		case len(q) == 0:
			extra = noopPacket
		}
		return q, extra, 0, false
	}
	n, size := 1, int64(EncodedLen(q[0]))
	taken = flow.FrameSize(q[0])
	for ; n < len(q); n++ {
		size += 1 + int64(EncodedLen(q[n]))
		if size > c.maxPayload {
			break
		}
		taken += flow.FrameSize(q[n])
	}
	if n < len(q) {
		c.queue = q[n:]
		return q[:n:n], extra, taken, false
	}
	c.queue = nil
	return q, extra, taken, cap(q) <= maxReuse
}

func (c *Conn) servePost(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		http.Error(w, "polling: session closed", http.StatusBadRequest)
		return
	}
	if c.postActive {
		c.closeLocked(fmt.Errorf("%w: second POST", ErrOverlap))
		c.mu.Unlock()
		http.Error(w, "polling: overlapping POST", http.StatusBadRequest)
		return
	}
	c.postActive = true
	c.mu.Unlock()

	frames, status, err := c.readFrames(r)
	if err == nil {
		status = http.StatusBadRequest
		err = c.waitStart(r.Context())
	}
	if err != nil {
		c.mu.Lock()
		c.postActive = false
		c.closeLocked(err)
		c.mu.Unlock()
		http.Error(w, "polling: "+http.StatusText(status), status)
		return
	}

	c.mu.Lock()
	h := c.h
	refused := c.closed // closed before the first frame
	c.delivering = !c.closed
	var herr error
	for i := 0; c.delivering && i < len(frames); i++ {
		c.mu.Unlock()
		herr = h.HandleFrame(frames[i])
		frames[i] = transport.Frame{}
		c.mu.Lock()
		if herr != nil {
			c.closeLocked(herr)
			break
		}
		c.delivering = !c.closed
	}
	c.delivering = false
	c.postActive = false
	// Frames after a close are dropped; the POST is still "ok" when the
	// Handler closed the Conn without error (a client's close packet).
	failed := refused || herr != nil || c.closeErr != nil
	c.mu.Unlock()

	switch {
	case errors.Is(herr, transport.ErrTooLarge):
		http.Error(w, "polling: payload too large", http.StatusRequestEntityTooLarge)
	case failed:
		http.Error(w, "polling: bad request", http.StatusBadRequest)
	default:
		_ = c.write(w, http.StatusOK, "text/html", okBody)
	}
}

var okBody = []byte("ok")

// readFrames reads and decodes the body of a POST, returning the status to
// answer with on error.
func (c *Conn) readFrames(r *http.Request) ([]transport.Frame, int, error) {
	max := c.maxPayload
	tooLarge := func() ([]transport.Frame, int, error) {
		return nil, http.StatusRequestEntityTooLarge,
			fmt.Errorf("polling: request body over %d bytes: %w", max, transport.ErrTooLarge)
	}
	if r.ContentLength > max {
		return tooLarge()
	}
	limit := r.ContentLength // read exactly that, or to the end of a body without one
	if limit < 0 {
		limit = max + 1
		if limit < 0 {
			limit = math.MaxInt64 // max is MaxInt64
		}
	}
	body, err := readBody(r.Body, limit)
	switch {
	case err != nil:
	case r.ContentLength >= 0 && int64(len(body)) < r.ContentLength:
		err = io.ErrUnexpectedEOF
	case int64(len(body)) > max:
		return tooLarge()
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("%w: reading POST body: %w", ErrAborted, err)
	}
	var frames []transport.Frame
	if c.eio3 {
		frames, err = decodePayload3(body, r.Header.Get("Content-Type") == "application/octet-stream")
	} else {
		frames, err = DecodePayload(body)
	}
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return frames, 0, nil
}

// firstRead is the most a POST's body buffer holds before any of it has
// arrived.
const firstRead = 4 << 10

// readBody reads r to its end, or up to limit bytes. The buffer grows with
// the bytes received, by four times when it is full (so it is never more
// than four times what arrived, plus firstRead), never with a length the
// client announced: a client that announces a large body and sends little
// of it, or sends it slowly, holds memory for what it sent.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit, firstRead))
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, 4*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// waitStart returns once Start was called, or an error when the Conn closed,
// the client went away or StartTimeout passed first.
func (c *Conn) waitStart(ctx context.Context) error {
	c.mu.Lock()
	if c.h != nil || c.closed {
		c.mu.Unlock()
		return nil // delivery sees c.closed
	}
	if c.startWait == nil {
		c.startWait = make(chan struct{})
	}
	wait := c.startWait
	c.mu.Unlock()
	if hook := c.t.hooks; hook != nil && hook.postWaiting != nil {
		hook.postWaiting(c)
	}
	timer := time.NewTimer(c.t.startTimeout)
	defer timer.Stop()
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: POST waiting for Start: %w", ErrAborted, context.Cause(ctx))
	case <-timer.C:
		return ErrNotStarted
	}
}

// write answers w with body in one Write, under the write deadline.
func (c *Conn) write(w http.ResponseWriter, status int, contentType string, body []byte) error {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if c.t.writeTimeout > 0 {
		// Not every ResponseWriter supports deadlines; without one the
		// server's own timeouts apply.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.t.writeTimeout))
	}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}

// Buffers for GET responses, pooled only while a response is written.
const maxPooled = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuffer() *[]byte { return bufPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
