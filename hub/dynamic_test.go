package hub_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/internal/racedetect"
	"github.com/go-realtime/realtime/namespace"
)

// leaveAndSettle disconnects s from its namespace and returns once the
// server has handled it: a client's packets are handled in order, so the
// answer to a later CONNECT (to "/") means the DISCONNECT was done.
func leaveAndSettle(ctx context.Context, t *testing.T, c *hubtest.Conn, s *hubtest.Socket) {
	t.Helper()
	require.NoError(t, s.Disconnect())
	main, err := c.Connect(ctx, "/", nil)
	require.NoError(t, err)
	require.NoError(t, main.Disconnect())
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Client-chosen names do not pile up: an instance of a dynamic namespace
// is removed when its last socket leaves, and the heap returns to where it
// was.
func TestDynamicNamespacesReclaimed(t *testing.T) {
	n := 3000
	if racedetect.Enabled {
		n = 1000
	}
	h := newHub(t, &hub.Options{Logger: slog.New(slog.DiscardHandler)})
	dyn := h.OfRegexp(regexp.MustCompile(`^/client-\d+$`))
	var created atomic.Int64
	h.OnNewNamespace(func(*namespace.Namespace) { created.Add(1) })
	dyn.OnConnection(func(s *namespace.Socket) { s.Join("room") })

	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	round := func(from, to int) {
		for i := from; i < to; i++ {
			s, err := c.Connect(ctx, fmt.Sprintf("/client-%d", i), nil)
			require.NoError(t, err)
			leaveAndSettle(ctx, t, c, s)
		}
	}
	round(0, 100) // warm up: pools, maps at their working size
	require.Empty(t, dyn.Children())
	before := heapAlloc()
	round(100, 100+n)
	after := heapAlloc()

	assert.Empty(t, dyn.Children(), "every empty instance is removed")
	assert.EqualValues(t, 100+n, created.Load(), "OnNewNamespace ran for each instance")
	assert.Equal(t, map[string]int64{"/": 0}, h.Stats().Sockets)
	growth := int64(after) - int64(before)
	t.Logf("heap growth after %d namespaces: %d B (%.1f B each)", n, growth, float64(growth)/float64(n))
	assert.Less(t, growth, int64(n)*100, "the heap keeps no trace of the removed namespaces (about 1.1 KB each when kept)")
}

// The next client asking for a removed name gets a fresh instance, with
// the dynamic namespace's middlewares and handlers, and empty rooms.
func TestDynamicNamespaceFreshInstance(t *testing.T) {
	h := newHub(t, nil)
	dyn := h.OfRegexp(regexp.MustCompile(`^/team-\w+$`))
	var middlewares atomic.Int64
	dyn.Use(func(*namespace.Socket) error { middlewares.Add(1); return nil })
	rooms := make(chan int, 4)
	dyn.OnConnection(func(s *namespace.Socket) {
		rooms <- len(s.Namespace().To("red").Sockets())
		s.Join("red")
	})
	var instances []*namespace.Namespace
	var mu sync.Mutex
	h.OnNewNamespace(func(ns *namespace.Namespace) {
		mu.Lock()
		instances = append(instances, ns)
		mu.Unlock()
	})

	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	first, err := c.Connect(ctx, "/team-a", nil)
	require.NoError(t, err)
	assert.Zero(t, <-rooms)
	assert.Same(t, h.Of("/team-a"), dyn.Children()[0], "Of finds the live instance")
	leaveAndSettle(ctx, t, c, first)
	assert.Empty(t, dyn.Children())

	second, err := c.Connect(ctx, "/team-a", nil)
	require.NoError(t, err)
	assert.Zero(t, <-rooms, "the fresh instance does not remember the old one's rooms")
	assert.EqualValues(t, 2, middlewares.Load())
	mu.Lock()
	require.Len(t, instances, 2)
	assert.NotSame(t, instances[0], instances[1])
	mu.Unlock()
	require.Len(t, dyn.Children(), 1)
	assert.Same(t, instances[1], dyn.Children()[0])
	leaveAndSettle(ctx, t, c, second)
}

// With KeepEmptyChildNamespaces, instances stay as before.
func TestKeepEmptyChildNamespaces(t *testing.T) {
	h := newHub(t, &hub.Options{KeepEmptyChildNamespaces: true})
	dyn := h.OfRegexp(regexp.MustCompile(`^/keep-\d+$`))
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	for i := range 3 {
		s, err := c.Connect(ctx, fmt.Sprintf("/keep-%d", i), nil)
		require.NoError(t, err)
		leaveAndSettle(ctx, t, c, s)
	}
	assert.Len(t, dyn.Children(), 3)
}

// An instance's own middleware (added from OnNewNamespace) runs for that
// instance only; the parent's run for all.
func TestDynamicNamespaceOwnMiddleware(t *testing.T) {
	h := newHub(t, nil)
	dyn := h.OfRegexp(regexp.MustCompile(`^/(open|closed)$`))
	dyn.Use(func(*namespace.Socket) error { return nil })
	h.OnNewNamespace(func(ns *namespace.Namespace) {
		if ns.Name() == "/closed" {
			ns.Use(func(*namespace.Socket) error { return errors.New("closed for now") })
		}
	})
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Connect(ctx, "/closed", nil)
	require.Error(t, err)
	_, err = c.Connect(ctx, "/open", nil)
	require.NoError(t, err, "a sibling's middleware does not apply")
}

// Clients joining and leaving the same name concurrently never end up in
// a removed instance: every connected socket is reachable by a broadcast
// of the dynamic namespace.
func TestDynamicNamespaceChurn(t *testing.T) {
	h := newHub(t, &hub.Options{Logger: slog.New(slog.DiscardHandler)})
	dyn := h.OfRegexp(regexp.MustCompile(`^/hot$`))
	dyn.OnConnection(func(s *namespace.Socket) {
		s.On("ping", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack("pong")
			}
		})
	})
	const workers, rounds = 8, 40
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := hubtest.Dial(ctx, h, nil)
			if !assert.NoError(t, err) {
				return
			}
			defer c.Close()
			for range rounds {
				s, err := c.Connect(ctx, "/hot", nil)
				if !assert.NoError(t, err) {
					return
				}
				_, err = s.EmitWithAck(ctx, "ping")
				assert.NoError(t, err)
				// The server's view: the socket is in the live instance.
				live := h.Of("/hot")
				assert.NotNil(t, live.Socket(s.ID()), "socket registered in a removed instance")
				if !assert.NoError(t, s.Disconnect()) {
					return
				}
			}
			// Settle: the last DISCONNECT is handled before this answer.
			_, err = c.Connect(ctx, "/", nil)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Empty(t, dyn.Children())
}

// Of, given a name an OfRegexp namespace matches, returns that namespace's
// instance (making it), not a plain namespace that would shadow it.
func TestOfMakesRegexpInstance(t *testing.T) {
	h := newHub(t, nil)
	dyn := h.OfRegexp(regexp.MustCompile(`^/board-\d+$`))
	joined := make(chan string, 1)
	dyn.OnConnection(func(s *namespace.Socket) { joined <- s.Namespace().Name() })
	ns := h.Of("/board-7")
	require.Len(t, dyn.Children(), 1)
	assert.Same(t, dyn.Children()[0], ns)
	_, err := ns.FetchSockets(testCtx(t))
	require.NoError(t, err)
	connect(t, h, "/board-7", nil)
	assert.Equal(t, "/board-7", <-joined, "the parent's handlers serve a name first seen through Of")
}
