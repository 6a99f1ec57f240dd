package room

import (
	"context"
	"slices"
	"sync"
)

// Memory is the in-process [Adapter]: membership in maps, broadcasts
// delivered straight to the local namespace. Create it with [NewMemory].
//
// Joining and leaving a room cost the same whatever the number of rooms
// the socket is in (a client can make a server join as many rooms as its
// handlers allow): a socket's rooms are a slice, scanned while it holds a
// few, indexed by a map past that.
type Memory struct {
	ns Local

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room -> member ids (own-id rooms not stored)
	// sids holds each socket's rooms (without its own id) in join order.
	// A slice of at most smallRooms entries is exactly those rooms; a
	// longer one has an index in index, and holds stale entries too.
	sids map[string][]string
	// index maps, for a socket with more than smallRooms entries in
	// sids, each of its rooms to its entry. An entry is live when the
	// index points back at it: leaving deletes from the index only, and
	// the slice is compacted once it holds as many stale entries as live
	// ones.
	index map[string]map[string]int
	done  bool

	events notifier
}

// OnRoomEvent implements [Notifier]: fn runs for every room created,
// deleted, joined or left on this adapter, in the order the changes
// happened, outside the adapter's lock (maybe on the goroutine of another
// change than the one it reports). The room named by each socket's id is
// not reported (socket.io reports it too).
func (m *Memory) OnRoomEvent(fn func(Event)) {
	if fn == nil {
		panic("room: OnRoomEvent: nil hook")
	}
	m.events.add(fn)
}

// smallRooms is how many rooms a socket's slice holds before it is
// indexed: scanning that many is about as fast as a map lookup, and
// costs no memory for the many sockets in few rooms.
const smallRooms = 16

// NewMemory returns an in-memory adapter serving ns. Its signature fits the
// hub's adapter factory option.
func NewMemory(ns Local) Adapter { return newMemory(ns) }

func newMemory(ns Local) *Memory {
	return &Memory{
		ns:    ns,
		rooms: make(map[string]map[string]struct{}),
		sids:  make(map[string][]string),
		index: make(map[string]map[string]int),
	}
}

// joinedLocked returns socket id's rooms slice and, when it is indexed,
// its index.
func (m *Memory) joinedLocked(id string) (list []string, index map[string]int, known bool) {
	list, known = m.sids[id]
	if len(list) > smallRooms {
		index = m.index[id]
	}
	return list, index, known
}

// live reports whether entry i of an indexed rooms slice is a room the
// socket is in (and not one it left, or a duplicate of a rejoined one).
func live(list []string, index map[string]int, i int) bool {
	j, ok := index[list[i]]
	return ok && j == i
}

// AddAll implements [Adapter].
func (m *Memory) AddAll(id string, rooms ...string) {
	m.mu.Lock()
	m.addAllLocked(id, rooms)
	m.mu.Unlock()
	m.events.deliver(m.ns)
}

func (m *Memory) addAllLocked(id string, rooms []string) {
	notify := m.events.active.Load()
	list, index, _ := m.joinedLocked(id)
	for _, r := range rooms {
		if r == id {
			continue
		}
		if index != nil {
			if _, in := index[r]; in {
				continue
			}
		} else if slices.Contains(list, r) {
			continue
		}
		list = append(list, r)
		switch {
		case index != nil:
			index[r] = len(list) - 1
		case len(list) > smallRooms:
			index = indexOf(list)
			m.index[id] = index
		}
		members := m.rooms[r]
		if members == nil {
			members = make(map[string]struct{}, 1)
			m.rooms[r] = members
			if notify {
				m.events.push(Event{Kind: CreateRoom, Room: r})
			}
		}
		members[id] = struct{}{}
		if notify {
			m.events.push(Event{Kind: JoinRoom, Room: r, ID: id})
		}
	}
	m.sids[id] = list
}

// Del implements [Adapter].
func (m *Memory) Del(id, room string) {
	m.mu.Lock()
	m.delLocked(id, room)
	m.mu.Unlock()
	m.events.deliver(m.ns)
}

func (m *Memory) delLocked(id, room string) {
	list, index, known := m.joinedLocked(id)
	if !known || room == id {
		return
	}
	if index == nil {
		i := slices.Index(list, room)
		if i < 0 {
			return
		}
		m.sids[id] = slices.Delete(list, i, i+1)
	} else {
		if _, in := index[room]; !in {
			return
		}
		delete(index, room)
		if stale := len(list) - len(index); stale >= len(index) {
			m.compactLocked(id, list, index)
		}
	}
	m.leaveLocked(id, room)
}

// compactLocked drops the stale entries of socket id's indexed rooms
// slice, in place. It runs once they are as many as the live ones, so its
// cost is at most twice the leaves since the slice was last compacted.
// With few rooms left the socket goes back to a plain slice; a slice (and
// its index: a map does not shrink) much larger than what is left is
// allocated again.
func (m *Memory) compactLocked(id string, list []string, index map[string]int) {
	out := list[:0]
	for i, r := range list {
		if live(list, index, i) {
			index[r] = len(out)
			out = append(out, r)
		}
	}
	clear(list[len(out):])
	switch {
	case len(out) <= smallRooms:
		delete(m.index, id)
		out = append([]string(nil), out...)
	case 8*len(out) < cap(out):
		out = append([]string(nil), out...)
		m.index[id] = indexOf(out)
	}
	m.sids[id] = out
}

// indexOf maps each room of a rooms slice without stale entries to its
// position.
func indexOf(list []string) map[string]int {
	index := make(map[string]int, len(list))
	for i, r := range list {
		index[r] = i
	}
	return index
}

func (m *Memory) leaveLocked(id, room string) {
	members := m.rooms[room]
	delete(members, id)
	notify := m.events.active.Load()
	if notify {
		m.events.push(Event{Kind: LeaveRoom, Room: room, ID: id})
	}
	if len(members) == 0 {
		delete(m.rooms, room)
		if notify {
			m.events.push(Event{Kind: DeleteRoom, Room: room})
		}
	}
}

// DelAll implements [Adapter].
func (m *Memory) DelAll(id string) {
	m.mu.Lock()
	list, index, _ := m.joinedLocked(id)
	for i, r := range list {
		if index == nil || live(list, index, i) {
			m.leaveLocked(id, r)
		}
	}
	delete(m.sids, id)
	delete(m.index, id)
	m.mu.Unlock()
	m.events.deliver(m.ns)
}

// Rooms implements [Adapter].
func (m *Memory) Rooms(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	list, index, known := m.joinedLocked(id)
	if !known {
		return nil
	}
	if index == nil {
		out := make([]string, 0, 1+len(list))
		return append(append(out, id), list...)
	}
	out := make([]string, 1, 1+len(index))
	out[0] = id
	for i, r := range list {
		if live(list, index, i) {
			out = append(out, r)
		}
	}
	return out
}

// HasSocket reports whether socket id is a local socket of the namespace
// (added by [Memory.AddAll], not yet removed by [Memory.DelAll]), without
// listing its rooms.
func (m *Memory) HasSocket(id string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.sids[id]
	return ok
}

// HasMembers reports whether a local socket is in room (a socket is in the
// room named by its own id), without listing them.
func (m *Memory) HasMembers(room string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.rooms[room]) > 0 {
		return true
	}
	_, ok := m.sids[room]
	return ok
}

// RoomNames implements [Adapter].
func (m *Memory) RoomNames() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.rooms))
	for r := range m.rooms {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Sockets implements [Adapter].
func (m *Memory) Sockets(rooms ...string) []string {
	return m.selectIDs(nil, Options{Rooms: rooms})
}

// selectIDs appends to dst the ids of the local sockets opts selects.
func (m *Memory) selectIDs(dst []string, opts Options) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(opts.Rooms) == 0 {
		for id := range m.sids {
			if !m.excludedLocked(id, opts.Except) {
				dst = append(dst, id)
			}
		}
		return dst
	}
	var seen map[string]struct{}
	if len(opts.Rooms) > 1 {
		seen = make(map[string]struct{})
	}
	add := func(id string) {
		if seen != nil {
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
		}
		if !m.excludedLocked(id, opts.Except) {
			dst = append(dst, id)
		}
	}
	for _, r := range opts.Rooms {
		for id := range m.rooms[r] {
			add(id)
		}
		// The socket named r is in it too: its own room, which others may
		// join as well (never itself: its own id is not stored).
		if _, ok := m.sids[r]; ok {
			add(r)
		}
	}
	return dst
}

// excludedLocked reports whether socket id is in any of the except rooms.
func (m *Memory) excludedLocked(id string, except []string) bool {
	for _, e := range except {
		if e == id {
			return true
		}
		if _, in := m.rooms[e][id]; in {
			return true
		}
	}
	return false
}

var idsPool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// withIDs runs fn on the ids opts selects, from a pooled slice.
func (m *Memory) withIDs(opts Options, fn func(ids []string)) error {
	m.mu.RLock()
	done := m.done
	m.mu.RUnlock()
	if done {
		return ErrClosed
	}
	p := idsPool.Get().(*[]string)
	ids := m.selectIDs((*p)[:0], opts)
	fn(ids)
	clear(ids)
	*p = ids[:0]
	idsPool.Put(p)
	return nil
}

// Broadcast implements [Adapter].
func (m *Memory) Broadcast(_ context.Context, p *Packet, opts Options) error {
	return m.withIDs(opts, func(ids []string) { m.ns.Deliver(p, ids, opts, nil) })
}

// BroadcastWithAck implements [Adapter].
func (m *Memory) BroadcastWithAck(_ context.Context, p *Packet, opts Options, onCount func(int), onAck func(Ack)) error {
	return m.withIDs(opts, func(ids []string) {
		n := m.ns.Deliver(p, ids, opts, onAck)
		onCount(n)
	})
}

// AddSockets implements [Adapter].
func (m *Memory) AddSockets(_ context.Context, opts Options, rooms ...string) error {
	ids := m.selectIDs(nil, opts)
	for _, id := range ids {
		m.AddAll(id, rooms...)
	}
	return nil
}

// DelSockets implements [Adapter].
func (m *Memory) DelSockets(_ context.Context, opts Options, rooms ...string) error {
	ids := m.selectIDs(nil, opts)
	for _, id := range ids {
		for _, r := range rooms {
			m.Del(id, r)
		}
	}
	return nil
}

// DisconnectSockets implements [Adapter].
func (m *Memory) DisconnectSockets(_ context.Context, opts Options, close bool) error {
	m.ns.Disconnect(m.selectIDs(nil, opts), close)
	return nil
}

// FetchSockets implements [Adapter].
func (m *Memory) FetchSockets(_ context.Context, opts Options) ([]SocketInfo, error) {
	return m.ns.Describe(m.selectIDs(nil, opts)), nil
}

// Close implements [Adapter].
func (m *Memory) Close() error {
	m.mu.Lock()
	m.done = true
	m.mu.Unlock()
	return nil
}
