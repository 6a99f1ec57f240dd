package namespace_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
)

// linked joins namespaces of the same name in one process, as a cluster
// adapter joins nodes: each one's server-side events reach the others.
type linked struct {
	mu    sync.Mutex
	nodes []room.Local
}

type linkedAdapter struct {
	room.Adapter
	self room.Local
	l    *linked
}

func (l *linked) factory(ns room.Local) room.Adapter {
	l.mu.Lock()
	l.nodes = append(l.nodes, ns)
	l.mu.Unlock()
	return &linkedAdapter{Adapter: room.NewMemory(ns), self: ns, l: l}
}

func (a *linkedAdapter) others() []room.ServerSideHandler {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	var out []room.ServerSideHandler
	for _, n := range a.l.nodes {
		if n != a.self && n.Name() == a.self.Name() {
			out = append(out, n.(room.ServerSideHandler))
		}
	}
	return out
}

func (a *linkedAdapter) ServerSideEmit(_ context.Context, data json.RawMessage) error {
	for _, h := range a.others() {
		h.HandleServerSideEmit(data, nil)
	}
	return nil
}

func (a *linkedAdapter) ServerSideEmitWithAck(ctx context.Context, data json.RawMessage) ([]json.RawMessage, error) {
	others := a.others()
	replies := make(chan json.RawMessage, len(others))
	for _, h := range others {
		go h.HandleServerSideEmit(data, func(args json.RawMessage) { replies <- args })
	}
	var out []json.RawMessage
	for range others {
		select {
		case r := <-replies:
			out = append(out, r)
		case <-ctx.Done():
			for { // the replies already in count, as a real adapter's would
				select {
				case r := <-replies:
					out = append(out, r)
				default:
					return out, ctx.Err()
				}
			}
		}
	}
	return out, nil
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestServerSideEmitBetweenNodes(t *testing.T) {
	l := &linked{}
	cfg := &nsConfig{Adapter: l.factory, Logger: quietLog}
	a, b, c := newNS("/", cfg), newNS("/", cfg), newNS("/", cfg)

	got := make(chan string, 4)
	b.OnServerSideEmit("hello", func(e *namespace.Event) {
		var who string
		var n int
		var blob []byte
		assert.NoError(t, e.Args.Scan(&who, &n, &blob))
		got <- who + ":" + string(blob)
	})
	c.OnServerSideEmit("hello", func(e *namespace.Event) {
		assert.Nil(t, e.Socket, "server-side events have no socket")
		assert.Nil(t, e.Ack, "no ack asked")
		got <- "c:" + string(e.Args.Raw(0))
	})
	require.NoError(t, a.ServerSideEmit("hello", "a", 1, []byte("bin")))
	assert.ElementsMatch(t, []string{"a:bin", `c:"a"`}, []string{<-got, <-got})

	b.OnServerSideEmit("load", func(e *namespace.Event) {
		assert.NoError(t, e.Ack("b", 2))
		assert.ErrorIs(t, e.Ack("again"), namespace.ErrAckSent)
	})
	c.OnServerSideEmit("load", func(e *namespace.Event) {
		assert.NoError(t, e.Context().Err())
		_ = e.Ack()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, err := a.ServerSideEmitWithAck(ctx, "load")
	require.NoError(t, err)
	require.Len(t, replies, 2)
	lens := []int{replies[0].Len(), replies[1].Len()}
	assert.ElementsMatch(t, []int{2, 0}, lens)
	for _, r := range replies {
		if r.Len() == 2 {
			var name string
			var n int
			require.NoError(t, r.Scan(&name, &n))
			assert.Equal(t, "b", name)
			assert.Equal(t, 2, n)
		}
	}

	// A panicking handler is logged; its node never answers. The wait ends
	// (here: is cancelled) once the other node answered.
	short, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	b.OnServerSideEmit("boom", func(*namespace.Event) { panic("handler bug") })
	c.OnServerSideEmit("boom", func(e *namespace.Event) { _ = e.Ack("ok"); cancel2() })
	replies, err = a.ServerSideEmitWithAck(short, "boom")
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, replies, 1)
	var answer string
	require.NoError(t, replies[0].Scan(&answer))
	assert.Equal(t, "ok", answer)

	// Unknown events and malformed data are ignored.
	require.NoError(t, a.ServerSideEmit("nobody-listens"))
	l.nodes[1].(room.ServerSideHandler).HandleServerSideEmit(json.RawMessage(`{"not":"an array"}`), nil)
	l.nodes[1].(room.ServerSideHandler).HandleServerSideEmit(json.RawMessage(`[]`), nil)
}

func TestServerSideEmitAlone(t *testing.T) {
	ns := newNS("/", &nsConfig{Logger: quietLog}) // in-memory adapter: no other node
	require.NoError(t, ns.ServerSideEmit("hello", 1))
	replies, err := ns.ServerSideEmitWithAck(context.Background(), "hello")
	require.NoError(t, err)
	assert.Empty(t, replies)
	for _, reserved := range []string{"connect", "connection", "new_namespace", "disconnect"} {
		assert.ErrorIs(t, ns.ServerSideEmit(reserved), namespace.ErrReservedEvent, reserved)
		_, err := ns.ServerSideEmitWithAck(context.Background(), reserved)
		assert.ErrorIs(t, err, namespace.ErrReservedEvent, reserved)
	}
	assert.Error(t, ns.ServerSideEmit("bad", func() {}), "arguments must be JSON")
}

func TestServerSideEmitDynamicNamespace(t *testing.T) {
	l := &linked{}
	cfg := &nsConfig{Adapter: l.factory, Logger: quietLog}
	parent := newNS("", cfg)
	child, _ := nsImpl.NewChild(parent, "/dyn-1")
	got := make(chan string, 1)
	parent.OnServerSideEmit("hello", func(e *namespace.Event) {
		var s string
		_ = e.Args.Decode(0, &s)
		got <- s
	})
	other := newNS("/dyn-1", cfg)
	require.NoError(t, other.ServerSideEmit("hello", "to the instance"))
	select {
	case s := <-got:
		assert.Equal(t, "to the instance", s)
	default:
		t.Fatal("the parent's handler did not serve its instance")
	}
	_ = child
}
