package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room/redis"
)

// TestRecoveryAcrossNodes: with connection state recovery and the Redis
// adapter, a client that loses its connection to node A and comes back to
// A gets the broadcasts made meanwhile on node B.
func TestRecoveryAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	newRecoveringNode := func() *hub.Server {
		h := hub.New(&hub.Options{
			Adapter:                 redis.New(srv.Client(t), &redis.Options{Logger: quiet}),
			ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: time.Minute},
			Logger:                  quiet,
		})
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, h.Shutdown(ctx))
		})
		h.OnConnection(func(s *namespace.Socket) {
			if !s.Recovered() {
				s.Join("r")
			}
			_ = s.Emit("ready", s.Recovered())
		})
		return h
	}
	a, b := newRecoveringNode(), newRecoveringNode()
	ctx := testCtx(t)
	require.NoError(t, adapterOf(a.Of("/")).Ready(ctx))
	require.NoError(t, adapterOf(b.Of("/")).Ready(ctx))

	conn, err := hubtest.Dial(ctx, a, nil)
	require.NoError(t, err)
	s1, err := conn.Connect(ctx, "/", nil)
	require.NoError(t, err)
	_, err = s1.Expect(ctx, "ready")
	require.NoError(t, err)
	require.NoError(t, b.To("r").Emit("item", 1))
	ev, err := s1.Expect(ctx, "item")
	require.NoError(t, err)
	assert.Equal(t, "1", string(ev.Args.Raw(0)))

	// A watcher on A sees what A receives from B.
	wconn, err := hubtest.Dial(ctx, a, nil)
	require.NoError(t, err)
	defer wconn.Close()
	watcher, err := wconn.Connect(ctx, "/", nil)
	require.NoError(t, err)
	_, err = watcher.Expect(ctx, "ready")
	require.NoError(t, err)

	require.NoError(t, conn.Close())
	require.Eventually(t, func() bool { return a.Of("/").Len() == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, b.To("r").Emit("item", 2))
	require.NoError(t, b.Emit("item", 3))
	for _, want := range []string{"2", "3"} {
		ev, err := watcher.Expect(ctx, "item")
		require.NoError(t, err)
		require.Equal(t, want, string(ev.Args.Raw(0)))
	}

	conn2, err := hubtest.Dial(ctx, a, nil)
	require.NoError(t, err)
	defer conn2.Close()
	s2, err := conn2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	require.True(t, s2.Recovered())
	ev, err = s2.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "2", string(ev.Args.Raw(0)))
	ev, err = s2.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "3", string(ev.Args.Raw(0)))
	assert.Equal(t, s1.ID(), s2.ID())
}
