package room_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/room"
)

// recordingNS is a Local that records what the adapter asks of it.
type recordingNS struct {
	mu           sync.Mutex
	delivered    []string
	disconnected []string
	closeConns   bool
}

func (n *recordingNS) Name() string { return "/" }
func (n *recordingNS) Deliver(p *room.Packet, ids []string, _ room.Options, onAck func(room.Ack)) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.delivered = append(n.delivered, ids...)
	if onAck != nil {
		for _, id := range ids {
			onAck(room.Ack{SocketID: id, Data: []byte(`["ok"]`)})
		}
	}
	return len(ids)
}
func (n *recordingNS) Disconnect(ids []string, close bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.disconnected = append(n.disconnected, ids...)
	n.closeConns = close
}
func (n *recordingNS) Describe(ids []string) []room.SocketInfo {
	out := make([]room.SocketInfo, len(ids))
	for i, id := range ids {
		out[i] = room.SocketInfo{ID: id}
	}
	return out
}

func (n *recordingNS) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	d := n.delivered
	n.delivered = nil
	slices.Sort(d)
	return d
}

// setup: a, b, c connected; a and b in "r1"; b and c in "r2".
func setup() (*recordingNS, room.Adapter) {
	ns := &recordingNS{}
	ad := room.NewMemory(ns)
	for _, id := range []string{"a", "b", "c"} {
		ad.AddAll(id, id)
	}
	ad.AddAll("a", "r1")
	ad.AddAll("b", "r1", "r2")
	ad.AddAll("c", "r2")
	return ns, ad
}

func TestBroadcastSelection(t *testing.T) {
	tests := []struct {
		name string
		opts room.Options
		want []string
	}{
		{"everyone", room.Options{}, []string{"a", "b", "c"}},
		{"one room", room.Options{Rooms: []string{"r1"}}, []string{"a", "b"}},
		{"two rooms, no duplicates", room.Options{Rooms: []string{"r1", "r2"}}, []string{"a", "b", "c"}},
		{"room except sender", room.Options{Rooms: []string{"r1"}, Except: []string{"a"}}, []string{"b"}},
		{"everyone except a room", room.Options{Except: []string{"r2"}}, []string{"a"}},
		{"a socket's own room", room.Options{Rooms: []string{"c"}}, []string{"c"}},
		{"unknown room", room.Options{Rooms: []string{"nope"}}, nil},
		{"except everything", room.Options{Rooms: []string{"r1"}, Except: []string{"r1"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, ad := setup()
			require.NoError(t, ad.Broadcast(context.Background(), &room.Packet{}, tt.opts))
			assert.Equal(t, tt.want, ns.take())
		})
	}
}

// TestOwnRoomJoinedByOthers: a room named like a socket's id holds that
// socket and whoever joined it (socket.io keeps one set for both).
func TestOwnRoomJoinedByOthers(t *testing.T) {
	tests := []struct {
		name string
		opts room.Options
		want []string
	}{
		{"the room", room.Options{Rooms: []string{"b"}}, []string{"a", "b"}},
		{"the room and another", room.Options{Rooms: []string{"b", "r2"}}, []string{"a", "b", "c"}},
		{"the room except r2", room.Options{Rooms: []string{"b"}, Except: []string{"r2"}}, []string{"a"}},
		{"everyone except the room", room.Options{Except: []string{"b"}}, []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, ad := setup()
			ad.AddAll("a", "b")
			require.NoError(t, ad.Broadcast(context.Background(), &room.Packet{}, tt.opts))
			assert.Equal(t, tt.want, ns.take())
			got := ad.Sockets(tt.opts.Rooms...)
			slices.Sort(got)
			if len(tt.opts.Except) == 0 {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestMembership(t *testing.T) {
	_, ad := setup()
	assert.Equal(t, []string{"b", "r1", "r2"}, ad.Rooms("b"))
	assert.Equal(t, []string{"r1", "r2"}, ad.RoomNames())
	ad.Del("b", "r1")
	ad.Del("b", "b") // a socket cannot leave its own room
	assert.Equal(t, []string{"b", "r2"}, ad.Rooms("b"))
	ids := ad.Sockets("r1")
	assert.Equal(t, []string{"a"}, ids)
	mem := ad.(*room.Memory)
	assert.True(t, mem.HasMembers("r1"))
	assert.True(t, mem.HasMembers("a"), "a socket is in its own room")
	assert.False(t, mem.HasMembers("nobody"))
	ad.DelAll("a")
	assert.Nil(t, ad.Rooms("a"))
	assert.False(t, mem.HasMembers("r1"))
	assert.False(t, mem.HasMembers("a"))
	assert.Equal(t, []string{"r2"}, ad.RoomNames())
	all := ad.Sockets()
	slices.Sort(all)
	assert.Equal(t, []string{"b", "c"}, all)
	ad.AddAll("b", "r2") // joining twice is a no-op
	assert.Equal(t, []string{"b", "r2"}, ad.Rooms("b"))
}

func TestRoomOperations(t *testing.T) {
	ns, ad := setup()
	ctx := context.Background()
	require.NoError(t, ad.AddSockets(ctx, room.Options{Rooms: []string{"r2"}}, "r3"))
	got := ad.Sockets("r3")
	slices.Sort(got)
	assert.Equal(t, []string{"b", "c"}, got)
	require.NoError(t, ad.DelSockets(ctx, room.Options{Except: []string{"c"}}, "r3"))
	assert.Equal(t, []string{"c"}, ad.Sockets("r3"))

	infos, err := ad.FetchSockets(ctx, room.Options{Rooms: []string{"r1"}})
	require.NoError(t, err)
	assert.Len(t, infos, 2)

	require.NoError(t, ad.DisconnectSockets(ctx, room.Options{Rooms: []string{"r1"}}, true))
	slices.Sort(ns.disconnected)
	assert.Equal(t, []string{"a", "b"}, ns.disconnected)
	assert.True(t, ns.closeConns)

	var count int
	var acks []string
	require.NoError(t, ad.BroadcastWithAck(ctx, &room.Packet{}, room.Options{Rooms: []string{"r2"}},
		func(n int) { count += n }, func(a room.Ack) { acks = append(acks, a.SocketID) }))
	assert.Equal(t, 2, count)
	slices.Sort(acks)
	assert.Equal(t, []string{"b", "c"}, acks)

	require.NoError(t, ad.Close())
	assert.ErrorIs(t, ad.Broadcast(ctx, &room.Packet{}, room.Options{}), room.ErrClosed)
}

func BenchmarkBroadcastRoomExceptSender(b *testing.B) {
	ns := &countingNS{}
	ad := room.NewMemory(ns)
	for i := 0; i < 1000; i++ {
		id := string(rune('A'+i%26)) + string(rune(i))
		ad.AddAll(id, id, "room")
	}
	opts := room.Options{Rooms: []string{"room"}, Except: []string{"A"}}
	p := &room.Packet{}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = ad.Broadcast(ctx, p, opts)
	}
}

type countingNS struct{ n int }

func (n *countingNS) Name() string { return "/" }
func (n *countingNS) Deliver(_ *room.Packet, ids []string, _ room.Options, _ func(room.Ack)) int {
	n.n += len(ids)
	return len(ids)
}
func (n *countingNS) Disconnect([]string, bool)               {}
func (n *countingNS) Describe(ids []string) []room.SocketInfo { return nil }

// roomNames returns n distinct room names starting with prefix.
func roomNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// BenchmarkJoinLeave measures one socket joining and leaving rooms while
// it is in many (rooms=N): the cost per operation must not grow with N.
// pair joins a fresh room and leaves it (the socket stays in exactly N
// rooms); join and leave time one operation each, the socket going from N
// to N+batch rooms and back with the timer stopped for the other
// direction. members=N is a socket joining and leaving a room of N
// members.
func BenchmarkJoinLeave(b *testing.B) {
	const batch = 256
	for _, n := range []int{1, 10, 100, 1000, 10_000, 100_000} {
		setup := func(b *testing.B) (room.Adapter, []string) {
			ad := room.NewMemory(&countingNS{})
			ad.AddAll("s", "s")
			ad.AddAll("s", roomNames("in", n)...)
			b.ReportAllocs()
			b.ResetTimer()
			return ad, roomNames("new", batch)
		}
		b.Run(fmt.Sprintf("rooms=%d/pair", n), func(b *testing.B) {
			ad, fresh := setup(b)
			for i := 0; b.Loop(); i++ {
				r := fresh[i%batch]
				ad.AddAll("s", r)
				ad.Del("s", r)
			}
		})
		b.Run(fmt.Sprintf("rooms=%d/join", n), func(b *testing.B) {
			ad, fresh := setup(b)
			for i := 0; b.Loop(); i++ {
				if i%batch == 0 && i > 0 {
					b.StopTimer()
					for _, r := range fresh {
						ad.Del("s", r)
					}
					b.StartTimer()
				}
				ad.AddAll("s", fresh[i%batch])
			}
		})
		b.Run(fmt.Sprintf("rooms=%d/leave", n), func(b *testing.B) {
			ad, fresh := setup(b)
			for i := 0; b.Loop(); i++ {
				if i%batch == 0 {
					b.StopTimer()
					ad.AddAll("s", fresh...)
					b.StartTimer()
				}
				ad.Del("s", fresh[i%batch])
			}
		})
	}
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("members=%d/pair", n), func(b *testing.B) {
			ad := room.NewMemory(&countingNS{})
			for _, id := range roomNames("m", n) {
				ad.AddAll(id, id, "big")
			}
			ad.AddAll("s", "s")
			b.ReportAllocs()
			for b.Loop() {
				ad.AddAll("s", "big")
				ad.Del("s", "big")
			}
		})
	}
}
