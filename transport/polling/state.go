package polling

import "github.com/go-realtime/realtime/transport"

// Held reports whether a GET is being held, waiting for frames to answer
// with: for metrics, and for tests that must know the client is polling.
func (c *Conn) Held() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getWake != nil
}

// TrySend queues frames only when a GET is being held, waiting for data (the
// frames then answer it at once); it reports whether it did and never
// closes the Conn (see transport.TrySender).
func (c *Conn) TrySend(frames ...transport.Frame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.getWake == nil || c.budget.Full() {
		return false
	}
	if len(frames) > 0 {
		c.queueLocked(frames)
	}
	return true
}

// Writable implements [transport.Writable]: nil while the frames waiting for
// the client (queued, or in a GET response being written) count less than
// half Params.MaxQueueBytes, or after the Conn closed; else a channel closed
// once GETs have taken enough of them, or the Conn closes (Drain included).
func (c *Conn) Writable() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return c.budget.Writable()
}
