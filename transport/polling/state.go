package polling

import "github.com/go-realtime/realtime/transport"

// Held reports whether a GET is being held, waiting for frames to answer
// with: for metrics, and for tests that must know the client is polling.
func (c *Conn) Held() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getWake != nil
}

// TrySend queues frames only if the queue has room for all of them; it
// reports whether it did and never closes the Conn (see
// transport.TrySender).
func (c *Conn) TrySend(frames ...transport.Frame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || len(c.queue)+len(frames) > c.queueSize {
		return false
	}
	if len(frames) > 0 {
		c.queue = append(c.queue, frames...)
		c.wakeGetLocked()
	}
	return true
}
