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
// acks are not replayed. Recovery state lives in the process, and a client
// recovers on the node it left, unless the namespace's adapter is a
// [room.SessionStore] (for example room/redis's NewStreams): sessions and
// broadcasts are then kept there, and a client recovers on any node. A
// session restored from such a store has its data as JSON
// (a json.RawMessage in Socket.Data).
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
	cfg    Recovery
	shared room.SessionStore // the adapter keeps sessions and history; nil: kept here

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
	r.skipHeldLocked(targets)
	r.mu.Unlock()
}

// skipHeldLocked sets to nil the targets that are recovering: they get
// the packet from their replay.
func (r *recoveryStore) skipHeldLocked(targets []*Socket) {
	if r.held > 0 {
		for i, s := range targets {
			if s.held {
				targets[i] = nil
			}
		}
	}
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
	wasHeld := s.held
	if s.held {
		s.held = false
		r.held--
	}
	if r.shared != nil {
		if kept != nil && !wasHeld {
			r.persist(s.ns, kept)
		} else {
			r.drop(s.ns, s.pid)
		}
		return
	}
	if wasHeld {
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
	after  string // with a shared store: the client's offset
}

// restore takes the session pid if it is still recoverable from offset, with
// the broadcasts it missed.
func (r *recoveryStore) restore(pid, offset string) (*session, *replay) {
	if r.shared != nil {
		return r.restoreShared(pid, offset)
	}
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
	in := memberOf(id, rooms)
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
	if r.shared != nil {
		return r.replayShared(ctx, s, rp.after)
	}
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
// memberOf returns the membership test of a socket of id in rooms, as a
// set: checking each broadcast's rooms against a list would cost the
// list's length every time (the socket's rooms may be many: clients often
// choose them).
func memberOf(id string, rooms []string) func(name string) bool {
	joined := make(map[string]struct{}, 1+len(rooms))
	joined[id] = struct{}{}
	for _, name := range rooms {
		joined[name] = struct{}{}
	}
	return func(name string) bool {
		_, ok := joined[name]
		return ok
	}
}

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

// ---- recovery kept by the adapter (room.SessionStore) ----------------------

// storeTimeout bounds each call to a shared store while a client connects.
const storeTimeout = 10 * time.Second

// historyPage is how many history entries a replay reads at a time.
const historyPage = 256

// restoreShared takes session pid from the adapter.
func (r *recoveryStore) restoreShared(pid, offset string) (*session, *replay) {
	if offset == "" {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	got, err := r.shared.RestoreSession(ctx, pid, offset)
	if err != nil || got == nil {
		return nil, nil
	}
	ses := &session{sid: got.SID, pid: got.PID, rooms: got.Rooms}
	if d := bytes.TrimSpace(got.Data); len(d) > 0 && string(d) != "null" {
		ses.data = json.RawMessage(d)
	}
	return ses, &replay{after: offset}
}

// persist saves a disconnected socket's session in the adapter (which
// queues the write: the disconnect does not wait for Redis); a failure is
// logged, and counted by the adapter.
func (r *recoveryStore) persist(ns *Namespace, kept *session) {
	data, err := json.Marshal(kept.data)
	if err != nil {
		ns.logger.Warn("namespace: socket data cannot be kept for recovery", "socket", kept.sid, "err", err)
		data = nil
	}
	ses := room.Session{SID: kept.sid, PID: kept.pid, Rooms: kept.rooms, Data: data}
	if err := r.shared.PersistSession(context.Background(), ses, r.cfg.MaxDisconnectionDuration); err != nil {
		ns.logger.Warn("namespace: session not saved for recovery", "socket", ses.SID, "err", err)
	}
}

// drop deletes the session of a socket that left for good from the
// adapter (it saves connected sockets' sessions periodically).
func (r *recoveryStore) drop(ns *Namespace, pid string) {
	if err := r.shared.DropSession(context.Background(), pid); err != nil {
		ns.logger.Debug("namespace: session not deleted", "err", err)
	}
}

// sessions is room.SessionSource's Sessions: with connection state
// recovery on, the sessions of the connected sockets, as they would be
// kept if they disconnected now (a SessionStore saves them periodically,
// so that they survive this process).
func (n *Namespace) sessions() ([]room.Session, time.Duration) {
	if n.recovery == nil {
		return nil, 0
	}
	n.mu.RLock()
	socks := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		socks = append(socks, s)
	}
	n.mu.RUnlock()
	out := make([]room.Session, 0, len(socks))
	for _, s := range socks {
		if !s.Connected() {
			continue
		}
		var data json.RawMessage
		if d := s.Data(); d != nil {
			data, _ = json.Marshal(d)
		}
		rooms := slices.DeleteFunc(n.adapter.Rooms(s.id), func(r string) bool { return r == s.id })
		out = append(out, room.Session{SID: s.id, PID: s.pid, Rooms: rooms, Data: data})
	}
	return out, n.recovery.cfg.MaxDisconnectionDuration
}

// replayShared sends recovered socket s the broadcasts after offset after
// from the adapter's history, page by page as its client reads them, up
// to what this node has delivered; its broadcasts then go to it directly
// (those at or before what the replay sent are skipped). It reports
// whether the socket is still connected. A history that cannot be read
// disconnects the socket: it must not look recovered with packets missing.
func (r *recoveryStore) replayShared(ctx context.Context, s *Socket, after string) bool {
	st := r.shared
	for {
		upTo := st.Position()
		if st.Compare(after, upTo) >= 0 {
			r.mu.Lock()
			if st.Compare(after, st.Position()) >= 0 {
				s.floor.Store(&after)
				s.held = false
				r.held--
				r.mu.Unlock()
				return s.Connected()
			}
			r.mu.Unlock()
			continue
		}
		for st.Compare(after, upTo) < 0 {
			rctx, cancel := context.WithTimeout(ctx, storeTimeout)
			page, next, err := st.History(rctx, after, upTo, historyPage)
			cancel()
			if err != nil {
				s.ns.logger.Warn("namespace: recovery history unreadable; disconnecting the recovered socket",
					"socket", s.id, "err", err)
				s.closed(ReasonTransportError)
				return false
			}
			if len(page) > 0 {
				in := memberOf(s.id, s.ns.adapter.Rooms(s.id))
				for _, e := range page {
					if e.Opts.Flags.Volatile || !reaches(e.Opts, in) {
						continue
					}
					frames, err := s.ns.sharedFrames(e.Packet, e.Opts.Flags)
					if err != nil {
						s.ns.logger.Error("namespace: a missed broadcast cannot be encoded, not replayed", "socket", s.id, "err", err)
						continue
					}
					if s.sendWait(ctx, frames) != nil {
						return false // the socket will not be kept (see leave)
					}
				}
			}
			after = next
		}
	}
}

// skipShared sets to nil the targets that must not get the broadcast at
// offset now: those recovering (their replay sends it) and those whose
// replay sent it already.
func (r *recoveryStore) skipShared(targets []*Socket, offset string) {
	r.mu.Lock()
	r.skipHeldLocked(targets)
	r.mu.Unlock()
	for i, s := range targets {
		if s != nil && s.passed(r.shared, offset) {
			targets[i] = nil
		}
	}
}

// passed reports whether a broadcast at offset is one that recovered
// socket s already got from its replay (or before it disconnected).
func (s *Socket) passed(st room.SessionStore, offset string) bool {
	f := s.floor.Load()
	if f == nil {
		return false
	}
	if st.Compare(offset, *f) <= 0 {
		return true
	}
	s.floor.Store(nil) // past it: no more comparing
	return false
}
