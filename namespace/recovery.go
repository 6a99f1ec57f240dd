package namespace

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/transport"
)

// Recovery configures connection state recovery (socket.io 4.6+
// connectionStateRecovery): a client that loses its connection and comes
// back within MaxDisconnectionDuration gets its socket id, rooms and data
// back, and every broadcast it missed meanwhile, in order.
//
// As in socket.io, broadcasts then carry an offset as their last argument
// (socket.io-client keeps it to ask for what it missed), and what is kept
// is limited to broadcasts: events emitted to one socket (Socket.Emit) and
// acks are not replayed. Recovery state lives in the process: a client
// recovers on the node it left.
type Recovery struct {
	// MaxDisconnectionDuration is how long a disconnected session, and the
	// broadcasts it may miss, are kept. Default 2 minutes.
	MaxDisconnectionDuration time.Duration
	// SkipMiddlewares skips the middlewares for a recovered socket.
	SkipMiddlewares bool
}

// recoverable disconnect reasons: the client did not mean to leave.
var recoverable = map[string]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true,
	ReasonPingTimeout: true, ReasonServerShutdown: true, ReasonForcedServerClose: true,
}

// storedPacket is a broadcast kept for clients that may come back.
type storedPacket struct {
	seq    uint64 // order of storing, from 1
	offset string
	opts   room.Options
	frames []transport.Frame // as Deliver sent them: a replay sends them again, as they are
	at     time.Time
}

// session is a disconnected socket's state, kept for recovery.
type session struct {
	sid, pid string
	rooms    []string
	data     any
	at       time.Time
}

// recoveryStore keeps a namespace's recent broadcasts and disconnected
// sessions, oldest first, both pruned by age.
type recoveryStore struct {
	cfg Recovery

	mu       sync.Mutex
	packets  []storedPacket
	seq      uint64              // of the last packet stored
	sessions map[string]*session // by pid
	order    []*session          // by disconnection time
	held     int                 // sockets whose Socket.held is set
}

var offsetSeq atomic.Uint64

// newOffset returns a unique, increasing offset id.
func newOffset() string {
	return strconv.FormatUint(uint64(time.Now().UnixMilli()), 36) + "-" + strconv.FormatUint(offsetSeq.Add(1), 36)
}

func newRecoveryStore(cfg Recovery) *recoveryStore {
	if cfg.MaxDisconnectionDuration <= 0 {
		cfg.MaxDisconnectionDuration = 2 * time.Minute
	}
	return &recoveryStore{cfg: cfg, sessions: make(map[string]*session)}
}

// pruneLocked drops what is older than the recovery window.
func (r *recoveryStore) pruneLocked(now time.Time) {
	limit := now.Add(-r.cfg.MaxDisconnectionDuration)
	i := 0
	for i < len(r.packets) && r.packets[i].at.Before(limit) {
		i++
	}
	if i > 0 {
		clear(r.packets[:i])
		r.packets = r.packets[i:]
	}
	j := 0
	for j < len(r.order) && r.order[j].at.Before(limit) {
		if r.sessions[r.order[j].pid] == r.order[j] {
			delete(r.sessions, r.order[j].pid)
		}
		j++
	}
	if j > 0 {
		clear(r.order[:j])
		r.order = r.order[j:]
	}
}

// store keeps a broadcast, encoded as frames, which carries offset as its
// last argument. The sockets of targets that are recovering get it from
// their replay: they are set to nil.
func (r *recoveryStore) store(offset string, frames []transport.Frame, opts room.Options, targets []*Socket) {
	now := time.Now()
	opts.Rooms = slices.Clone(opts.Rooms)
	opts.Except = slices.Clone(opts.Except)
	r.mu.Lock()
	r.pruneLocked(now)
	r.seq++
	r.packets = append(r.packets, storedPacket{seq: r.seq, offset: offset, opts: opts, frames: frames, at: now})
	if r.held > 0 {
		for i, s := range targets {
			if s.held {
				targets[i] = nil
			}
		}
	}
	r.mu.Unlock()
}

// lastString returns the last element of the JSON array data when it is a
// string (a broadcast's offset), or "".
func lastString(data []byte) string {
	data = bytes.TrimRight(data, " \t\r\n")
	if len(data) < 4 || data[len(data)-1] != ']' || data[len(data)-2] != '"' {
		return ""
	}
	end := len(data) - 2
	start := bytes.LastIndexByte(data[:end], '"')
	if start < 0 || bytes.IndexByte(data[start+1:end], '\\') >= 0 {
		return ""
	}
	return string(data[start+1 : end])
}

// leave forgets socket s, which disconnected, and keeps its state for a
// recovery (kept; nil when the disconnect was meant). A socket that was
// still recovering is not kept: its replay failed (the connection was lost
// during it), and offering it again would fail the same way until the
// window ends; its client starts afresh at its next try.
func (r *recoveryStore) leave(s *Socket, kept *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.held {
		s.held = false
		r.held--
		return
	}
	if kept != nil {
		r.pruneLocked(kept.at)
		r.sessions[kept.pid] = kept
		r.order = append(r.order, kept)
	}
}

// replay is what a recovered socket missed, as restore found it.
type replay struct {
	missed []storedPacket
	upTo   uint64 // the seq of the last packet stored by then
}

// restore takes the session pid if it is still recoverable from offset, with
// the broadcasts it missed.
func (r *recoveryStore) restore(pid, offset string) (*session, *replay) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(time.Now())
	s := r.sessions[pid]
	if s == nil {
		return nil, nil
	}
	index := slices.IndexFunc(r.packets, func(p storedPacket) bool { return p.offset == offset })
	if index < 0 {
		return nil, nil
	}
	delete(r.sessions, pid)
	return s, &replay{missed: r.reachingLocked(r.packets[index+1:], s.sid, s.rooms), upTo: r.seq}
}

// reachingLocked returns the packets that reach a socket of id in rooms.
func (r *recoveryStore) reachingLocked(packets []storedPacket, id string, rooms []string) []storedPacket {
	// The rooms as a set: checking each broadcast's rooms against a list
	// would cost its length every time, under the lock that every
	// broadcast takes.
	joined := make(map[string]struct{}, 1+len(rooms))
	joined[id] = struct{}{}
	for _, name := range rooms {
		joined[name] = struct{}{}
	}
	in := func(name string) bool {
		_, ok := joined[name]
		return ok
	}
	var out []storedPacket
	for _, p := range packets {
		if reaches(p.opts, in) {
			out = append(out, p)
		}
	}
	return out
}

// hold makes the broadcasts to s, a recovered socket, go through its
// replay until the replay is done.
func (r *recoveryStore) hold(s *Socket) {
	r.mu.Lock()
	s.held = true
	r.held++
	r.mu.Unlock()
}

// replay sends recovered socket s what it missed, as its client reads it
// (each send waits until ctx ends): the packets restore found, then those
// kept meanwhile, until none is left; the socket's broadcasts then go to it
// directly, after them. It reports whether the socket is still connected.
func (r *recoveryStore) replay(ctx context.Context, s *Socket, rp *replay) bool {
	missed, upTo := rp.missed, rp.upTo
	for {
		for _, p := range missed {
			if s.sendWait(ctx, p.frames) != nil {
				return false // the socket will not be kept (see leave)
			}
		}
		var more bool
		if missed, upTo, more = r.next(s, upTo); !more {
			return s.Connected()
		}
	}
}

// next returns the packets kept after upTo that reach s, and the seq of the
// last packet stored. When there are none, s's hold ends and it reports
// false; also when s has left.
func (r *recoveryStore) next(s *Socket, upTo uint64) ([]storedPacket, uint64, bool) {
	rooms := s.ns.adapter.Rooms(s.id) // not under r.mu: Deliver takes it under the adapter's locks
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.held {
		return nil, upTo, false
	}
	i := sort.Search(len(r.packets), func(i int) bool { return r.packets[i].seq > upTo })
	missed := r.reachingLocked(r.packets[i:], s.id, rooms)
	if len(missed) == 0 {
		s.held = false
		r.held--
		return nil, r.seq, false
	}
	return missed, r.seq, true
}

// reaches reports whether a broadcast with opts would have reached a socket
// in the rooms in reports true for (its own id room among them).
func reaches(opts room.Options, in func(name string) bool) bool {
	if len(opts.Rooms) > 0 && !slices.ContainsFunc(opts.Rooms, in) {
		return false
	}
	return !slices.ContainsFunc(opts.Except, in)
}

// withOffset returns the JSON array data with offset appended as its last
// element.
func withOffset(data []byte, offset string) []byte {
	data = bytes.TrimRight(data, " \t\r\n")
	out := make([]byte, 0, len(data)+len(offset)+3)
	out = append(out, data[:len(data)-1]...)
	if len(bytes.TrimSpace(data[1:len(data)-1])) > 0 {
		out = append(out, ',')
	}
	q, _ := json.Marshal(offset)
	out = append(out, q...)
	return append(out, ']')
}

// recoveryAuth is what socket.io-client adds to the CONNECT payload when it
// tries to recover.
type recoveryAuth struct {
	PID    string `json:"pid"`
	Offset string `json:"offset"`
}
