package websocket

import (
	"runtime"
	"sync/atomic"
	"time"
)

// The flushers write, with non-blocking writes, the queues of connections
// whose frames were sent by goroutines other than their readers (mostly
// broadcasts and heartbeats). There are at most GOMAXPROCS of them, started
// when there is work and gone after a second without any, so a broadcast to
// many idle connections costs a couple of goroutine wake-ups, not one
// goroutine per connection; and while they are busy, frames sent meanwhile
// to a connection waiting its turn join its batch.
type flushPool struct {
	jobs    chan *Conn
	running atomic.Int32
	max     int32
}

// flushQueueLen bounds the connections waiting for a flusher; beyond it a
// connection gets a writer goroutine of its own.
const flushQueueLen = 4096

// idleFlusherTimeout is how long a flusher waits for work before it exits.
const idleFlusherTimeout = time.Second

var flushers = &flushPool{jobs: make(chan *Conn, flushQueueLen), max: int32(max(runtime.GOMAXPROCS(0), 1))}

// push hands c (whose writer's turn the caller holds) to a flusher. It
// never blocks.
func (p *flushPool) push(c *Conn) {
	select {
	case p.jobs <- c:
	default:
		go c.writeFn() // the flushers are far behind: a writer of its own
		return
	}
	if p.rejoin() {
		go p.run()
	}
}

// run flushes connections until none comes for idleFlusherTimeout.
func (p *flushPool) run() {
	t := time.NewTimer(idleFlusherTimeout)
	defer t.Stop()
	for {
		select {
		case c := <-p.jobs:
			c.flush(flushRounds)
			continue
		default:
		}
		t.Reset(idleFlusherTimeout)
		select {
		case c := <-p.jobs:
			c.flush(flushRounds)
		case <-t.C:
			p.running.Add(-1)
			// A job pushed while this flusher was leaving, when push saw
			// the pool full, would wait for the next push: take it.
			if len(p.jobs) == 0 {
				return
			}
			if !p.rejoin() {
				return
			}
		}
	}
}

// rejoin counts a leaving flusher back in, unless the pool is full again.
func (p *flushPool) rejoin() bool {
	for {
		n := p.running.Load()
		if n >= p.max {
			return false
		}
		if p.running.CompareAndSwap(n, n+1) {
			return true
		}
	}
}
