package room_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-realtime/realtime/room"
)

// printer is a room.Local that prints whom a broadcast reaches.
type printer struct{}

func (printer) Name() string { return "/" }
func (printer) Deliver(p *room.Packet, ids []string, _ room.Options, _ func(room.Ack)) int {
	ids = slices.Sorted(slices.Values(ids))
	fmt.Println(string(p.Data), "->", ids)
	return len(ids)
}
func (printer) Disconnect([]string, bool)           {}
func (printer) Describe([]string) []room.SocketInfo { return nil }

// The in-memory adapter selects the recipients of a broadcast: the
// sockets in any of the rooms, minus those in the excepted ones.
func ExampleNewMemory() {
	ad := room.NewMemory(printer{})
	for _, id := range []string{"alice", "bob", "carol"} {
		ad.AddAll(id, id) // every socket is in its own room
	}
	ad.AddAll("alice", "room one")
	ad.AddAll("bob", "room one")

	ctx := context.Background()
	_ = ad.Broadcast(ctx, &room.Packet{Data: []byte(`["news"]`)}, room.Options{Rooms: []string{"room one"}})
	_ = ad.Broadcast(ctx, &room.Packet{Data: []byte(`["hi"]`)}, room.Options{Rooms: []string{"room one"}, Except: []string{"alice"}})
	_ = ad.Broadcast(ctx, &room.Packet{Data: []byte(`["all"]`)}, room.Options{})
	// Output:
	// ["news"] -> [alice bob]
	// ["hi"] -> [bob]
	// ["all"] -> [alice bob carol]
}
