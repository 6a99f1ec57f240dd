package room_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-realtime/realtime/room"
)

func TestMemoryRoomEvents(t *testing.T) {
	m := room.NewMemory(&recordingNS{}).(*room.Memory)
	var got []string
	m.OnRoomEvent(func(e room.Event) {
		got = append(got, fmt.Sprintf("%s %s %s", e.Kind, e.Room, e.ID))
		if e.Kind == room.JoinRoom && e.Room == "chain" {
			m.AddAll(e.ID, "chained") // a hook may call the adapter: delivered after this event
		}
	})
	for _, tc := range []struct {
		name string
		op   func()
		want []string
	}{
		{"join creates", func() { m.AddAll("a", "a", "r1", "r2") }, []string{
			"create-room r1 ", "join-room r1 a", "create-room r2 ", "join-room r2 a"}},
		{"second member", func() { m.AddAll("b", "r1") }, []string{"join-room r1 b"}},
		{"already in", func() { m.AddAll("b", "r1") }, nil},
		{"leave, not last", func() { m.Del("a", "r1") }, []string{"leave-room r1 a"}},
		{"leave, last", func() { m.Del("b", "r1") }, []string{"leave-room r1 b", "delete-room r1 "}},
		{"leave a room not in", func() { m.Del("b", "r1") }, nil},
		{"hook joins", func() { m.AddAll("c", "chain") }, []string{
			"create-room chain ", "join-room chain c", "create-room chained ", "join-room chained c"}},
		{"disconnect", func() { m.DelAll("c") }, []string{
			"leave-room chain c", "delete-room chain ", "leave-room chained c", "delete-room chained "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			tc.op()
			assert.Equal(t, tc.want, got)
		})
	}
}

// quietNS is a recordingNS that logs nowhere.
type quietNS struct{ recordingNS }

func (*quietNS) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Hooks see each room's events in order (created before joined, left
// before deleted) even when sockets join and leave concurrently, and a
// hook that panics does not stop the others.
func TestMemoryRoomEventsConcurrent(t *testing.T) {
	m := room.NewMemory(&quietNS{}).(*room.Memory)
	var mu sync.Mutex
	members := map[string]int{}
	exists := map[string]bool{}
	var bad []string
	var once sync.Once
	m.OnRoomEvent(func(e room.Event) { once.Do(func() { panic("hook bug") }) })
	m.OnRoomEvent(func(e room.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case room.CreateRoom:
			if exists[e.Room] {
				bad = append(bad, "created twice: "+e.Room)
			}
			exists[e.Room] = true
		case room.JoinRoom:
			if !exists[e.Room] {
				bad = append(bad, "joined before created: "+e.Room)
			}
			members[e.Room]++
		case room.LeaveRoom:
			members[e.Room]--
		case room.DeleteRoom:
			if members[e.Room] != 0 {
				bad = append(bad, "deleted with members: "+e.Room)
			}
			delete(exists, e.Room)
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			id := fmt.Sprint("s", g)
			for i := range 200 {
				r := fmt.Sprint("r", i%3)
				m.AddAll(id, r)
				m.Del(id, r)
			}
		})
	}
	wg.Wait()
	assert.Empty(t, bad)
	assert.Empty(t, exists, "every room deleted")
}
