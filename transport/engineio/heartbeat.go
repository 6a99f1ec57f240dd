package engineio

import (
	"sync"
	"time"

	"github.com/go-realtime/realtime/transport"
)

// Heartbeats are scheduled per Server, not per session: every session of a
// server shares PingInterval and PingTimeout, so deadlines grow with the
// order in which sessions enter a list, and two intrusive FIFO lists keep
// them sorted for free:
//
//   - waiting: sessions waiting to be pinged (deadline: open or last pong +
//     PingInterval);
//   - pinged: sessions that were pinged and owe a pong (deadline: ping +
//     PingTimeout, see below).
//
// One runtime timer, armed only while a list is non-empty, wakes the
// scheduler for the earliest head; a wake-up handles every entry due. Pings
// go out up to slack early, so sessions that connected close together share
// wake-ups, and so do their timeouts: the sessions pinged together share one
// deadline, PingTimeout after the wake-up or after the earliest of their
// pings was due, whichever came first. So a timeout is never late: a session
// that owes a pong is closed PingInterval+PingTimeout after its last pong (or
// its open) at the latest, as the reference server's clients expect, and
// never before it had PingTimeout to answer a ping sent on time. The timer
// is armed for a timeout exactly, but may itself run late on a loaded
// machine; so that this cannot be seen, a session past its deadline is also
// closed when the client or the application next reaches it (see
// [Session.timedOut]): a pong, a request or a Server.Session lookup after
// the deadline finds it gone.
//
// Sessions of revision 3 clients (Options.AllowEIO3), which ping the server
// instead, are on a third list, clients: each is due PingInterval +
// PingTimeout after its open or its last ping (a constant, so the list is
// sorted as well); one that is overdue is closed.

// Which list a session is on.
const (
	hbNone uint8 = iota
	hbWaiting
	hbPinged
	hbClient // a revision 3 client, waiting for its ping
)

// pingFrames is the ping packet; frames are never modified, so all sessions
// share it.
var pingFrames = []transport.Frame{{Data: []byte{'2'}}}

// hbList is an intrusive doubly linked FIFO list of sessions.
type hbList struct{ head, tail *Session }

func (l *hbList) push(s *Session) {
	s.hbPrev, s.hbNext = l.tail, nil
	if l.tail != nil {
		l.tail.hbNext = s
	} else {
		l.head = s
	}
	l.tail = s
}

func (l *hbList) unlink(s *Session) {
	if s.hbPrev != nil {
		s.hbPrev.hbNext = s.hbNext
	} else {
		l.head = s.hbNext
	}
	if s.hbNext != nil {
		s.hbNext.hbPrev = s.hbPrev
	} else {
		l.tail = s.hbPrev
	}
	s.hbPrev, s.hbNext = nil, nil
}

// heartbeats is a Server's heartbeat scheduler.
type heartbeats struct {
	interval, timeout, slack int64 // nanoseconds
	base                     time.Time

	// fireMu serialises wake-ups, so their buffers can be reused; it is
	// held while pings are sent, never while mu is wanted by the sender.
	fireMu      sync.Mutex
	pings, dead []*Session

	mu      sync.Mutex
	waiting hbList // to be pinged
	pinged  hbList // owing a pong
	clients hbList // revision 3 clients, owing a ping
	timer   *time.Timer
	armedAt int64 // when timer fires (nanoseconds since base); 0: stopped
}

func newHeartbeats(interval, timeout time.Duration) *heartbeats {
	slack := min(interval/64, 50*time.Millisecond)
	return &heartbeats{
		interval: int64(interval),
		timeout:  int64(timeout),
		slack:    int64(slack),
		base:     time.Now(),
	}
}

// now is the monotonic time since base, in nanoseconds; never 0.
func (h *heartbeats) now() int64 { return int64(time.Since(h.base)) + 1 }

// start puts a new session on the ping list, unless it has closed.
func (h *heartbeats) start(s *Session) {
	h.mu.Lock()
	if !s.closed.Load() && s.hbList == hbNone {
		if s.v3 != nil {
			h.clientLocked(s)
		} else {
			h.waitLocked(s)
		}
	}
	h.mu.Unlock()
}

// clientLocked puts a revision 3 session, on no list, at the end of the
// clients list: its next ping is due PingInterval+PingTimeout from now.
func (h *heartbeats) clientLocked(s *Session) {
	now := h.now()
	s.hbDeadline = now + h.interval + h.timeout
	s.pongDue.Store(s.hbDeadline)
	s.hbList = hbClient
	h.clients.push(s)
	h.armLocked(now)
}

// clientPing records a revision 3 client's ping: its next one is due
// PingInterval+PingTimeout from now.
func (h *heartbeats) clientPing(s *Session) {
	h.mu.Lock()
	if s.hbList == hbClient {
		h.clients.unlink(s)
		h.clientLocked(s)
	}
	h.mu.Unlock()
}

// waitLocked puts s, on no list, at the end of the ping list.
func (h *heartbeats) waitLocked(s *Session) {
	now := h.now()
	s.hbDeadline = now + h.interval
	s.hbList = hbWaiting
	h.waiting.push(s)
	h.armLocked(now)
}

// pong records a pong: a session that owed one waits PingInterval for its
// next ping. A pong that was not asked for is ignored.
func (h *heartbeats) pong(s *Session) {
	h.mu.Lock()
	if s.hbList == hbPinged {
		h.pinged.unlink(s)
		s.pongDue.Store(0)
		h.waitLocked(s)
	}
	h.mu.Unlock()
}

// stop takes a closing session off the lists.
func (h *heartbeats) stop(s *Session) {
	h.mu.Lock()
	switch s.hbList {
	case hbWaiting:
		h.waiting.unlink(s)
	case hbPinged:
		h.pinged.unlink(s)
		s.pongDue.Store(0)
	case hbClient:
		h.clients.unlink(s)
		s.pongDue.Store(0)
	}
	s.hbList = hbNone
	if h.waiting.head == nil && h.pinged.head == nil && h.clients.head == nil && h.armedAt != 0 {
		h.timer.Stop()
		h.armedAt = 0
	}
	h.mu.Unlock()
}

// armLocked makes sure the timer fires by the earliest deadline, a ping's
// or a timeout's; with no sessions, the timer is stopped.
func (h *heartbeats) armLocked(now int64) {
	var at int64
	if s := h.waiting.head; s != nil {
		at = s.hbDeadline
	}
	if s := h.pinged.head; s != nil && (at == 0 || s.hbDeadline < at) {
		at = s.hbDeadline
	}
	if s := h.clients.head; s != nil && (at == 0 || s.hbDeadline < at) {
		at = s.hbDeadline
	}
	switch {
	case at == 0:
		if h.armedAt != 0 {
			h.timer.Stop()
			h.armedAt = 0
		}
		return
	case h.armedAt != 0 && h.armedAt <= at:
		return // fires early enough already
	}
	h.armedAt = at
	d := time.Duration(max(at-now, 0))
	if h.timer == nil {
		h.timer = time.AfterFunc(d, h.fire)
	} else {
		h.timer.Reset(d)
	}
}

// fire handles every heartbeat due: pings due within slack are sent (and the
// sessions wait for their pong until PingTimeout after now or after the
// first of these pings was due, if that was earlier), sessions whose pong is
// overdue are closed. Sending and closing happen after the scheduler's lock
// is released.
func (h *heartbeats) fire() {
	h.fireMu.Lock()
	defer h.fireMu.Unlock()

	h.mu.Lock()
	h.armedAt = 0
	now := h.now()
	pings, dead := h.pings[:0], h.dead[:0]
	var deadline int64 // of the pongs owed for the pings sent now
	if s := h.waiting.head; s != nil {
		deadline = min(now, s.hbDeadline) + h.timeout
	}
	for s := h.waiting.head; s != nil && s.hbDeadline <= now+h.slack; s = h.waiting.head {
		h.waiting.unlink(s)
		s.hbDeadline = deadline
		s.pongDue.Store(deadline)
		s.hbList = hbPinged
		h.pinged.push(s)
		pings = append(pings, s)
	}
	for s := h.pinged.head; s != nil && s.hbDeadline <= now; s = h.pinged.head {
		h.pinged.unlink(s)
		s.hbList = hbNone
		dead = append(dead, s)
	}
	for s := h.clients.head; s != nil && s.hbDeadline <= now; s = h.clients.head {
		h.clients.unlink(s)
		s.hbList = hbNone
		dead = append(dead, s)
	}
	h.armLocked(now)
	h.mu.Unlock()

	for _, s := range pings {
		_ = s.send(pingFrames...)
	}
	for _, s := range dead {
		s.close(ErrPingTimeout, true)
	}
	clear(pings)
	clear(dead)
	if cap(pings) > 4096 || cap(dead) > 4096 {
		pings, dead = nil, nil // after a burst, don't keep a big buffer
	}
	h.pings, h.dead = pings, dead
}

// armed reports whether the timer is running (for tests).
func (h *heartbeats) armed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.armedAt != 0
}
