//go:build !linux

package websocket

// pollState is unused where there is no poller.
type pollState struct{}

func (c *Conn) startPolled() bool { return false }

func (c *Conn) wakeReader() {}

func (c *Conn) unregister() {}
