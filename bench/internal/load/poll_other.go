//go:build !linux

package load

// pollState is unused: without a poller every connection has a reader
// goroutine.
type pollState struct{}

// startReading starts the connection's reader goroutine.
func (c *Client) startReading(r *reader) { go c.readLoop(r) }

func (c *Client) unregister() {}

func (c *Client) wakeReader() {}
