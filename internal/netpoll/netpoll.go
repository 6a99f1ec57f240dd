// Package netpoll tells when sockets become readable without a goroutine
// parked per socket: an epoll instance on Linux whose own descriptor sits in
// the Go runtime's poller, so waiting costs neither a thread nor a goroutine
// per connection. Call [Default] to get the process-wide poller, [Poller.Add]
// to watch a descriptor; [Supported] reports whether this platform has one
// (elsewhere callers keep a reading goroutine per connection).
package netpoll

import "errors"

// ErrUnsupported is returned where the platform has no poller.
var ErrUnsupported = errors.New("netpoll: not supported on this platform")

// ErrClosed is returned for operations on a removed registration.
var ErrClosed = errors.New("netpoll: registration closed")
