package room

import (
	"context"
	"slices"
	"sync"
)

// Memory is the in-process [Adapter]: membership in maps, broadcasts
// delivered straight to the local namespace. Create it with [NewMemory].
type Memory struct {
	ns Local

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room -> member ids (own-id rooms not stored)
	sids  map[string][]string            // socket id -> joined rooms (without its own id)
	done  bool
}

// NewMemory returns an in-memory adapter serving ns. Its signature fits the
// hub's adapter factory option.
func NewMemory(ns Local) Adapter { return newMemory(ns) }

func newMemory(ns Local) *Memory {
	return &Memory{ns: ns, rooms: make(map[string]map[string]struct{}), sids: make(map[string][]string)}
}

// AddAll implements [Adapter].
func (m *Memory) AddAll(id string, rooms ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	joined, known := m.sids[id]
	if !known {
		joined = nil
	}
	for _, r := range rooms {
		if r == id || slices.Contains(joined, r) {
			continue
		}
		joined = append(joined, r)
		members := m.rooms[r]
		if members == nil {
			members = make(map[string]struct{}, 1)
			m.rooms[r] = members
		}
		members[id] = struct{}{}
	}
	m.sids[id] = joined
}

// Del implements [Adapter].
func (m *Memory) Del(id, room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	joined, ok := m.sids[id]
	if !ok || room == id {
		return
	}
	if i := slices.Index(joined, room); i >= 0 {
		m.sids[id] = slices.Delete(joined, i, i+1)
		m.leaveLocked(id, room)
	}
}

func (m *Memory) leaveLocked(id, room string) {
	members := m.rooms[room]
	delete(members, id)
	if len(members) == 0 {
		delete(m.rooms, room)
	}
}

// DelAll implements [Adapter].
func (m *Memory) DelAll(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.sids[id] {
		m.leaveLocked(id, r)
	}
	delete(m.sids, id)
}

// Rooms implements [Adapter].
func (m *Memory) Rooms(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	joined, ok := m.sids[id]
	if !ok {
		return nil
	}
	out := make([]string, 0, 1+len(joined))
	return append(append(out, id), joined...)
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
