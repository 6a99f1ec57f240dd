// Package flow is the byte accounting of the transports' send queues: what
// counts against [transport.Params.MaxQueueBytes], and the channel
// [transport.Writable] hands to producers waiting for a queue to drain.
package flow

import "github.com/go-realtime/realtime/transport"

// FrameSize is what f counts against a queue's bound.
func FrameSize(f transport.Frame) int64 {
	return int64(len(f.Data)) + transport.FrameOverhead
}

// Size is what frames count against a queue's bound.
func Size(frames []transport.Frame) int64 {
	var n int64
	for _, f := range frames {
		n += FrameSize(f)
	}
	return n
}

// Budget counts the bytes of one send queue against its bound. Send is
// refused at the bound (Full); producers that wait (Writable) are held from
// half of it, which leaves the other half to the senders that never wait
// (broadcasts, heartbeats) so that they do not find a healthy client's
// queue full. It is not safe for concurrent use: the lock of the queue it
// counts guards it. An empty Budget holds no channel.
type Budget struct {
	max  int64
	used int64
	wait chan struct{} // closed to wake the waiting producers; nil when none waits
}

// NewBudget returns an empty Budget bounded by max bytes (at least 1).
func NewBudget(max int64) Budget {
	return Budget{max: max}
}

// Full reports whether the queue is at or over its bound: Send refuses
// frames.
func (b *Budget) Full() bool { return b.used >= b.max }

// Used is the bytes counted.
func (b *Budget) Used() int64 { return b.used }

// Max is the bound.
func (b *Budget) Max() int64 { return b.max }

// Add counts n more bytes.
func (b *Budget) Add(n int64) { b.used += n }

// Release counts n bytes less (written, or dropped), and wakes the waiting
// producers once the queue is under half its bound.
func (b *Budget) Release(n int64) {
	b.used -= n
	if b.used < b.half() {
		b.Wake()
	}
}

// half is where producers start waiting: half the bound, rounded up (so
// that a bound of 1 byte lets them send into an empty queue).
func (b *Budget) half() int64 { return b.max - b.max/2 }

// Writable implements [transport.Writable] for a queue that is open: nil
// when the queue is under half its bound, else the channel Release or Wake
// closes.
func (b *Budget) Writable() <-chan struct{} {
	if b.used < b.half() {
		return nil
	}
	if b.wait == nil {
		b.wait = make(chan struct{})
	}
	return b.wait
}

// Wake wakes the waiting producers, for example because the connection
// closed.
func (b *Budget) Wake() {
	if b.wait != nil {
		close(b.wait)
		b.wait = nil
	}
}
