//go:build !linux

package netpoll

// Supported reports whether this platform has a poller.
const Supported = false

// Poller is unavailable on this platform.
type Poller struct{}

// Handle is unavailable on this platform.
type Handle struct{}

// Default returns ErrUnsupported on this platform.
func Default() (*Poller, error) { return nil, ErrUnsupported }

// Add returns ErrUnsupported on this platform.
func (p *Poller) Add(int, func()) (*Handle, error) { return nil, ErrUnsupported }

// Remove returns ErrUnsupported on this platform.
func (h *Handle) Remove() error { return ErrUnsupported }

// HungUp returns false on this platform.
func (h *Handle) HungUp() bool { return false }
