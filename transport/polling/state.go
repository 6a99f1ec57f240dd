package polling

// Held reports whether a GET is being held, waiting for frames to answer
// with: for metrics, and for tests that must know the client is polling.
func (c *Conn) Held() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getWake != nil
}
