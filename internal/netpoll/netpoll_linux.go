//go:build linux

package netpoll

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Supported reports whether this platform has a poller.
const Supported = true

// Poller watches descriptors for readability with edge-triggered epoll
// registrations: a descriptor is reported when data arrives, and its
// callback runs on a worker goroutine, one run at a time per descriptor.
// A report that comes while the callback runs makes it run once more right
// after, so no arrival is missed and no system call is needed to re-enable
// reports (one-shot registrations would need an epoll_ctl per read).
type Poller struct {
	epfd int
	file *os.File // the epoll descriptor, parked in the Go runtime's poller

	tasks chan *Handle // callbacks for idle workers

	mu     sync.Mutex
	nextID uint64
	byID   map[uint64]*Handle
}

// Handle is one watched descriptor.
type Handle struct {
	p       *Poller
	fd      int
	id      uint64
	onRead  func()
	state   atomic.Int32 // idle, running or rerun
	hup     atomic.Bool  // a hangup or error was reported
	removed atomic.Bool
}

// Handle states.
const (
	idle    = iota // no callback running
	running        // the callback runs
	rerun          // the callback runs, and runs again when it returns
)

var (
	defaultOnce   sync.Once
	defaultPoller *Poller
	defaultErr    error
)

// Default returns the process-wide poller, starting it on first use.
func Default() (*Poller, error) {
	defaultOnce.Do(func() { defaultPoller, defaultErr = New() })
	return defaultPoller, defaultErr
}

// New starts a poller. Its goroutine waits in the Go runtime's poller on
// the epoll descriptor, so it costs no thread while idle; the poller lives
// as long as the process.
func New() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("netpoll: set nonblock: %w", err)
	}
	p := &Poller{epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"), byID: make(map[uint64]*Handle), tasks: make(chan *Handle)}
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.file.Close()
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	go p.run(rc)
	return p, nil
}

// run waits for the epoll descriptor to become readable, then collects the
// ready descriptors without blocking and starts their callbacks.
func (p *Poller) run(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 256)
	ready := make([]*Handle, 0, 256)
	for {
		err := rc.Read(func(fd uintptr) bool {
			// The runtime poller watches the epoll descriptor
			// edge-triggered: empty the ready list before waiting again,
			// or the descriptors still on it would never be reported.
			for {
				n, err := syscall.EpollWait(int(fd), events, 0)
				if err == syscall.EINTR {
					continue
				}
				if err != nil || n <= 0 {
					return false // nothing ready: wait for the next wakeup
				}
				ready = ready[:0]
				p.mu.Lock()
				for _, ev := range events[:n] {
					id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
					if h := p.byID[id]; h != nil {
						if ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
							h.hup.Store(true)
						}
						ready = append(ready, h)
					}
				}
				p.mu.Unlock()
				for i, h := range ready {
					if h.report() {
						p.dispatch(h)
					}
					ready[i] = nil
				}
				if n < len(events) {
					return false
				}
			}
		})
		if err != nil {
			return
		}
	}
}

// epollET is EPOLLET as the uint32 of EpollEvent.Events (the syscall
// package declares it as a negative int).
const epollET = 1 << 31

// idleWorkerTimeout is how long a worker waits for another callback
// before it exits.
const idleWorkerTimeout = time.Second

// HungUp reports whether the peer's hangup (or an error) was reported: the
// end of the stream is then pending after the data, and a read that returns
// less than asked for no longer means the socket is empty — read on until
// the end.
func (h *Handle) HungUp() bool { return h.hup.Load() }

// report records a readability report; it returns true when the callback
// must be started (none is running).
func (h *Handle) report() bool {
	for {
		switch st := h.state.Load(); st {
		case idle:
			if h.state.CompareAndSwap(idle, running) {
				return true
			}
		case running:
			if h.state.CompareAndSwap(running, rerun) {
				return false
			}
		default:
			return false
		}
	}
}

// run calls the callback until no report came during its last call.
func (h *Handle) run() {
	for {
		h.onRead()
		if h.state.CompareAndSwap(running, idle) {
			return
		}
		h.state.Store(running) // was rerun
	}
}

// dispatch runs h's callback on an idle worker goroutine, or on a new one
// when none is idle. Workers are reused so that their grown stacks are too:
// a new goroutine per report would grow a fresh stack for every message.
func (p *Poller) dispatch(h *Handle) {
	select {
	case p.tasks <- h:
	default:
		go p.worker(h)
	}
}

// worker runs callbacks until none comes for idleWorkerTimeout.
func (p *Poller) worker(h *Handle) {
	t := time.NewTimer(idleWorkerTimeout)
	defer t.Stop()
	for {
		h.run()
		t.Reset(idleWorkerTimeout)
		select {
		case h = <-p.tasks:
		case <-t.C:
			return
		}
	}
}

// Add watches fd and calls onRead (on a worker goroutine) when data
// arrives or the peer hangs up. Reports are edge-triggered: onRead must
// read until the socket is empty (a read that returns less than asked for
// is enough, unless HungUp) or the connection ends; data arriving after that is reported
// again. Calls of onRead for one descriptor never overlap.
func (p *Poller) Add(fd int, onRead func()) (*Handle, error) {
	p.mu.Lock()
	p.nextID++
	h := &Handle{p: p, fd: fd, id: p.nextID, onRead: onRead}
	p.byID[h.id] = h
	p.mu.Unlock()
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, h.event()); err != nil {
		p.forget(h)
		return nil, fmt.Errorf("netpoll: epoll_ctl add: %w", err)
	}
	return h, nil
}

func (h *Handle) event() *syscall.EpollEvent {
	return &syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET,
		Fd:     int32(uint32(h.id)),
		Pad:    int32(uint32(h.id >> 32)),
	}
}

// Remove stops watching the descriptor. Call it before closing the
// descriptor, never after: a closed descriptor's number may already belong
// to another socket, whose registration it would remove. Calls after the
// first do nothing.
func (h *Handle) Remove() error {
	if h.removed.Swap(true) {
		return nil
	}
	h.p.forget(h)
	if err := syscall.EpollCtl(h.p.epfd, syscall.EPOLL_CTL_DEL, h.fd, nil); err != nil {
		return fmt.Errorf("netpoll: epoll_ctl del: %w", err)
	}
	return nil
}

func (p *Poller) forget(h *Handle) {
	p.mu.Lock()
	delete(p.byID, h.id)
	p.mu.Unlock()
}
