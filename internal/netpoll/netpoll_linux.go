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

// Poller watches descriptors for readability with one-shot epoll
// registrations: after a descriptor is reported, it is not reported again
// until its Handle is rearmed, so one callback at a time runs for it.
type Poller struct {
	epfd int
	file *os.File // the epoll descriptor, parked in the Go runtime's poller

	tasks chan func() // callbacks for idle workers

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
	removed atomic.Bool
}

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
	p := &Poller{epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"), byID: make(map[uint64]*Handle), tasks: make(chan func())}
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
						ready = append(ready, h)
					}
				}
				p.mu.Unlock()
				for i, h := range ready {
					p.dispatch(h.onRead)
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

// idleWorkerTimeout is how long a worker waits for another callback
// before it exits.
const idleWorkerTimeout = time.Second

// dispatch runs fn on an idle worker goroutine, or on a new one when none
// is idle. Workers are reused so that their grown stacks are too: a new
// goroutine per report would grow a fresh stack for every message.
func (p *Poller) dispatch(fn func()) {
	select {
	case p.tasks <- fn:
	default:
		go p.worker(fn)
	}
}

// worker runs callbacks until none comes for idleWorkerTimeout.
func (p *Poller) worker(fn func()) {
	t := time.NewTimer(idleWorkerTimeout)
	defer t.Stop()
	for {
		fn()
		t.Reset(idleWorkerTimeout)
		select {
		case fn = <-p.tasks:
		case <-t.C:
			return
		}
	}
}

// Add watches fd and calls onRead (on a worker goroutine) when it becomes
// readable or hangs up. The registration is one-shot: call Rearm once
// onRead has read what it could.
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
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(uint32(h.id)),
		Pad:    int32(uint32(h.id >> 32)),
	}
}

// Rearm asks for the next readability report.
func (h *Handle) Rearm() error {
	if h.removed.Load() {
		return ErrClosed
	}
	if err := syscall.EpollCtl(h.p.epfd, syscall.EPOLL_CTL_MOD, h.fd, h.event()); err != nil {
		return fmt.Errorf("netpoll: epoll_ctl mod: %w", err)
	}
	return nil
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
