// Package memory is an in-process [transport.Conn] pair, like [net.Pipe]
// for Engine.IO frames: what one end sends, the other end's Handler receives.
// It lets tests run a real Engine.IO/Socket.IO server with no network.
//
// Call [Pipe], hand the server end to the server (for example
// engineio.Server.ServeConn), and drive the client end yourself. Each end has
// its own queue of incoming frames, bounded in bytes like the other
// transports' send queues, delivers in order from a goroutine that exists
// only while frames are waiting, and copies Data on delivery, so frames stay
// shareable as the transport contract requires.
package memory

import (
	"errors"
	"fmt"
	"sync"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flow"
)

// Name is the transport name a memory Conn reports.
const Name = "memory"

// ErrPeerClosed is what a Handler's HandleClose receives when the other end
// closed the pipe. It wraps [transport.ErrClosed].
var ErrPeerClosed = fmt.Errorf("memory: peer closed: %w", transport.ErrClosed)

// Conn is one end of a pipe made by [Pipe]. It implements [transport.Conn].
type Conn struct {
	peer   *Conn
	params transport.Params

	mu       sync.Mutex
	handler  transport.Handler
	queue    []transport.Frame // frames sent by the peer, waiting for delivery here
	budget   flow.Budget       // bytes of queue
	running  bool              // a delivery goroutine is active
	closing  bool              // no more frames accepted
	closeErr error             // reason given to HandleClose
	notified bool              // HandleClose has been called
	done     chan struct{}     // closed after HandleClose returned
}

// Pipe returns the two ends of a new in-memory connection. p bounds frame
// sizes (MaxPayload, enforced on the frames each end receives) and what
// waits for delivery at each end (MaxQueueBytes: a Send that finds the
// peer's queue at the bound fails the pipe, as a slow client's connection
// is closed; a frame counts until the receiving end takes it from its queue
// to hand it to its Handler).
func Pipe(p transport.Params) (server, client *Conn) {
	p = p.WithDefaults()
	a := &Conn{params: p, budget: flow.NewBudget(p.MaxQueueBytes), done: make(chan struct{})}
	b := &Conn{params: p, budget: flow.NewBudget(p.MaxQueueBytes), done: make(chan struct{})}
	a.peer, b.peer = b, a
	return a, b
}

// Name reports [Name].
func (c *Conn) Name() string { return Name }

// Start begins delivering frames sent by the peer to h.
func (c *Conn) Start(h transport.Handler) {
	c.mu.Lock()
	if c.handler != nil {
		c.mu.Unlock()
		return
	}
	c.handler = h
	c.kickLocked()
	c.mu.Unlock()
}

// Done is closed once this end's Handler has been told the pipe closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

var (
	_ transport.Conn      = (*Conn)(nil)
	_ transport.TrySender = (*Conn)(nil)
	_ transport.Writable  = (*Conn)(nil)
)

// Send queues frames for the peer's Handler. When the peer's queue is at
// its bound (Params.MaxQueueBytes) it fails the pipe and returns an error
// wrapping [transport.ErrQueueFull].
func (c *Conn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	closed := c.closing
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("memory: send: %w", transport.ErrClosed)
	}
	return c.peer.enqueue(frames, false)
}

// TrySend queues frames for the peer only when its queue is empty (see
// transport.TrySender); it reports whether it did and never closes the pipe.
func (c *Conn) TrySend(frames ...transport.Frame) bool {
	c.mu.Lock()
	closed := c.closing
	c.mu.Unlock()
	if closed {
		return false
	}
	return c.peer.enqueue(frames, true) == nil
}

// Writable implements [transport.Writable] for the peer's queue: nil while
// it is under half its bound or the pipe is closed, else a channel closed
// once the peer has taken enough frames, or the pipe closes.
func (c *Conn) Writable() <-chan struct{} {
	p := c.peer
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return nil
	}
	return p.budget.Writable()
}

// errNotEmpty is what enqueue returns to TrySend when frames wait.
var errNotEmpty = errors.New("memory: frames waiting")

// enqueue adds frames to c's incoming queue. When the queue is at its
// bound, it fails the pipe; with try it queues them only into an empty
// queue, and never fails the pipe.
func (c *Conn) enqueue(frames []transport.Frame, try bool) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return fmt.Errorf("memory: send: %w", transport.ErrClosed)
	}
	if try && len(c.queue) > 0 {
		c.mu.Unlock()
		return errNotEmpty
	}
	if c.budget.Full() {
		used := c.budget.Used()
		c.mu.Unlock()
		err := fmt.Errorf("memory: send: %w: %d bytes waiting (bound %d)", transport.ErrQueueFull, used, c.params.MaxQueueBytes)
		c.fail(err)
		return err
	}
	for _, f := range frames {
		// The receiving handler owns its Data; the sender's may be shared.
		c.queue = append(c.queue, transport.Frame{Binary: f.Binary, Data: append([]byte(nil), f.Data...)})
	}
	c.budget.Add(flow.Size(frames))
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// kickLocked starts the delivery goroutine when there is work and none runs.
func (c *Conn) kickLocked() {
	if c.running || c.handler == nil || c.notified {
		return
	}
	if len(c.queue) == 0 && !c.closing {
		return
	}
	c.running = true
	go c.deliver()
}

// deliver hands queued frames to the handler, then HandleClose once closing.
func (c *Conn) deliver() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			if c.closing && !c.notified {
				c.notified = true
				h, err := c.handler, c.closeErr
				c.running = false
				c.mu.Unlock()
				h.HandleClose(err)
				close(c.done)
				return
			}
			c.running = false
			c.mu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = transport.Frame{}
		c.queue = c.queue[1:]
		c.budget.Release(flow.FrameSize(f))
		h := c.handler
		c.mu.Unlock()

		var err error
		if int64(len(f.Data)) > c.params.MaxPayload {
			err = fmt.Errorf("memory: frame of %d bytes: %w", len(f.Data), transport.ErrTooLarge)
		} else {
			err = h.HandleFrame(f)
		}
		if err != nil {
			c.fail(err)
		}
	}
}

// Close closes both ends: frames already queued for either end are still
// delivered, then each end's Handler gets HandleClose (nil on this end,
// [ErrPeerClosed] on the other).
func (c *Conn) Close() error {
	c.closeWith(nil)
	c.peer.closeWith(ErrPeerClosed)
	return nil
}

// fail closes both ends because of err; queued frames are dropped.
func (c *Conn) fail(err error) {
	c.closeWith(err)
	c.peer.closeWith(fmt.Errorf("%w (%v)", ErrPeerClosed, err))
}

func (c *Conn) closeWith(err error) {
	c.mu.Lock()
	if !c.closing {
		c.closing = true
		c.closeErr = err
		c.budget.Wake()
		if err != nil && !errors.Is(err, ErrPeerClosed) {
			// This end failed: what is still queued for it is dropped.
			// (What it sent before failing still reaches the peer.)
			c.queue = nil
		}
	}
	c.kickLocked()
	noHandler := c.handler == nil && !c.notified
	if noHandler {
		// Nobody will ever be told; release waiters now.
		c.notified = true
		close(c.done)
	}
	c.mu.Unlock()
}
