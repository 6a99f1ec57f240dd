package namespace

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/room"
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
	offset      string
	opts        room.Options
	data        []byte
	attachments [][]byte
	at          time.Time
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
	sessions map[string]*session // by pid
	order    []*session          // by disconnection time
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

// store keeps a broadcast; data carries offset as its last element.
func (r *recoveryStore) store(offset string, data []byte, atts [][]byte, opts room.Options) {
	now := time.Now()
	opts.Rooms = slices.Clone(opts.Rooms)
	opts.Except = slices.Clone(opts.Except)
	r.mu.Lock()
	r.pruneLocked(now)
	r.packets = append(r.packets, storedPacket{offset: offset, opts: opts, data: data, attachments: atts, at: now})
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

// persist keeps a disconnected socket's state.
func (r *recoveryStore) persist(s *session) {
	r.mu.Lock()
	r.pruneLocked(s.at)
	r.sessions[s.pid] = s
	r.order = append(r.order, s)
	r.mu.Unlock()
}

// restore takes the session pid if it is still recoverable from offset, with
// the broadcasts it missed.
func (r *recoveryStore) restore(pid, offset string) (*session, []storedPacket) {
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
	// The session's rooms as a set: checking each missed broadcast's
	// rooms against a list would cost its length every time, under the
	// lock that every broadcast takes.
	joined := make(map[string]struct{}, 1+len(s.rooms))
	joined[s.sid] = struct{}{}
	for _, name := range s.rooms {
		joined[name] = struct{}{}
	}
	in := func(name string) bool {
		_, ok := joined[name]
		return ok
	}
	var missed []storedPacket
	for _, p := range r.packets[index+1:] {
		if reaches(p.opts, in) {
			missed = append(missed, p)
		}
	}
	return s, missed
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
