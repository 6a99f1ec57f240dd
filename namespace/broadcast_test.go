package namespace_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
)

// roomsCounter is the memory adapter counting the room names its Rooms
// method hands out.
type roomsCounter struct {
	room.Adapter
	listed atomic.Int64
}

func (a *roomsCounter) Rooms(id string) []string {
	rooms := a.Adapter.Rooms(id)
	a.listed.Add(int64(len(rooms)))
	return rooms
}

// roomsNamespace connects sockets a, b and c to a namespace on a
// roomsCounter and returns them by name.
func roomsNamespace(t *testing.T) (*namespace.Namespace, *roomsCounter, map[string]*namespace.Socket) {
	t.Helper()
	var ad *roomsCounter
	ns := newNS("/", &nsConfig{
		Logger:  slog.New(slog.DiscardHandler),
		Adapter: func(l room.Local) room.Adapter { ad = &roomsCounter{Adapter: room.NewMemory(l)}; return ad },
	})
	connected := make(chan *namespace.Socket, 1)
	ns.OnConnection(func(s *namespace.Socket) { connected <- s })
	resolve := func(string, json.RawMessage) *namespace.Namespace { return ns }
	socks := map[string]*namespace.Socket{}
	for _, name := range []string{"a", "b", "c"} {
		c := nsImpl.NewClient(&recordConn{}, namespace.Handshake{}, resolve, &wiring.ClientOptions{ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, c.Receive(false, []byte("0")))
		socks[name] = <-connected
		t.Cleanup(func() { c.Closed(namespace.ReasonTransportClose) })
	}
	return ns, ad, socks
}

func TestBroadcastSocketsExcept(t *testing.T) {
	tests := []struct {
		name   string
		rooms  []string
		except []string // "@b" is socket b's id
		want   []string
	}{
		{"everyone", nil, nil, []string{"a", "b", "c"}},
		{"everyone except r1", nil, []string{"r1"}, []string{"c"}},
		{"r2 except r1", []string{"r2"}, []string{"r1"}, []string{"c"}},
		{"everyone except a socket", nil, []string{"@b"}, []string{"a", "c"}},
		{"everyone except a socket's room joined by c", nil, []string{"@a"}, []string{"b"}},
		{"except an unknown room", []string{"r1"}, []string{"nope"}, []string{"a", "b"}},
		{"except two rooms", nil, []string{"r1", "r2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, _, socks := roomsNamespace(t)
			socks["a"].Join("r1")
			socks["b"].Join("r1", "r2")
			socks["c"].Join("r2", socks["a"].ID())
			name := map[string]string{}
			for n, s := range socks {
				name[s.ID()] = n
			}
			except := slices.Clone(tt.except)
			for i, e := range except {
				if id, ok := socks[e[1:]]; ok && e[0] == '@' {
					except[i] = id.ID()
				}
			}
			var got []string
			for _, s := range ns.To(tt.rooms...).Except(except...).Sockets() {
				got = append(got, name[s.ID()])
			}
			slices.Sort(got)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestBroadcastSocketsExceptCost: selecting sockets except some rooms does
// not go through the rooms of each selected socket (a socket may be in as
// many rooms as a client made it join).
func TestBroadcastSocketsExceptCost(t *testing.T) {
	ns, ad, socks := roomsNamespace(t)
	rooms := make([]string, 5000)
	for i := range rooms {
		rooms[i] = fmt.Sprint("r", i)
	}
	socks["a"].Join(rooms...)
	socks["b"].Join("x")
	ad.listed.Store(0)
	got := ns.Except("x").Sockets()
	assert.Len(t, got, 2)
	assert.NotContains(t, got, socks["b"])
	assert.Less(t, ad.listed.Load(), int64(len(rooms)), "room names listed")
}
