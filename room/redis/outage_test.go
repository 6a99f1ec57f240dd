package redis_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/room/redis"
)

// gatedClient is a client of srv whose new connections wait while the
// gate is shut: a node that is slow to come back after an outage.
type gatedClient struct {
	*goredis.Client
	shut atomic.Pointer[chan struct{}]
}

func newGatedClient(t testing.TB, srv *redisServer) *gatedClient {
	g := &gatedClient{}
	g.Client = goredis.NewClient(&goredis.Options{Addr: srv.Addr, DialTimeout: time.Second,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if ch := g.shut.Load(); ch != nil {
				select {
				case <-*ch:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func (g *gatedClient) close() { ch := make(chan struct{}); g.shut.Store(&ch) }
func (g *gatedClient) open() {
	if ch := g.shut.Swap(nil); ch != nil {
		close(*ch)
	}
}

// Issue 17 point 2: while Redis is stalled or down, Emit returns at once,
// local sockets get every broadcast (with ack too) and the caller sees
// the remote part's error; cross-node delivery resumes within 0.5s of
// Redis' return. Point 3: right after the outage, a request never returns
// a silently short result.
func TestOutage(t *testing.T) {
	srv := startRedis(t)
	logs := watchLog{msgs: make(chan string, 256)}
	// Longer than the write stall below: a stall is not an outage.
	opts := redis.Options{RequestTimeout: 2 * time.Second, Logger: slog.New(logs)}
	h0 := newNode(t, srv, &opts)
	slow := newGatedClient(t, srv)
	h1 := newNodeOn(t, slow, &redis.Options{RequestTimeout: 500 * time.Millisecond})
	a := connect(t, h0, nil)
	b := connect(t, h1, nil)
	ctx := testCtx(t)
	ctrl := srv.Client(t)

	socks, err := h0.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, socks, 2)

	t.Run("Emit does not wait for stalled writes", func(t *testing.T) {
		require.NoError(t, ctrl.Do(ctx, "CLIENT", "PAUSE", "500", "WRITE").Err())
		start := time.Now()
		require.NoError(t, h0.Emit("news", "stalled"))
		assert.Less(t, time.Since(start), 50*time.Millisecond, "Emit returns while Redis holds writes")
		expectOnly(t, a, "news", `"stalled"`)
		expectOnly(t, b, "news", `"stalled"`) // after the pause
	})

	srv.Kill()
	waitLog(t, logs, "Redis unreachable")

	t.Run("Emit during the outage: local delivery, error, no wait", func(t *testing.T) {
		var slowest time.Duration
		for range 20 {
			start := time.Now()
			err := h0.Emit("news", "down")
			slowest = max(slowest, time.Since(start))
			require.ErrorIs(t, err, redis.ErrUnavailable)
			expectOnly(t, a, "news", `"down"`)
		}
		assert.Less(t, slowest, 50*time.Millisecond, "Emit never waits for Redis")
	})

	t.Run("EmitWithAck during the outage: local sockets get it and answer", func(t *testing.T) {
		answered := make(chan struct{})
		go func() {
			defer close(answered)
			ev, err := a.Expect(ctx, "question")
			if assert.NoError(t, err) {
				assert.NoError(t, ev.Ack("here"))
			}
		}()
		_, err := h0.Of("/").EmitWithAck(ctx, "question", 1)
		require.ErrorIs(t, err, redis.ErrUnavailable)
		<-answered
	})

	t.Run("FetchSockets during the outage fails", func(t *testing.T) {
		_, err := h0.Of("/").FetchSockets(ctx)
		require.ErrorIs(t, err, redis.ErrUnavailable)
	})

	// h1 stays away after the restart, until the gate opens.
	slow.close()
	srv.Restart(t)
	restarted := time.Now()
	require.NoError(t, adapterOf(h0.Of("/")).Ready(ctx))

	t.Run("after the restart, no short result while a node is still away", func(t *testing.T) {
		socks, err := h0.Of("/").FetchSockets(ctx)
		require.ErrorIs(t, err, redis.ErrTimeout, "got %d sockets", len(socks))
	})

	slow.open()
	resumes := func(t *testing.T, since time.Time) {
		got := make(chan time.Time, 1)
		go func() {
			_, err := b.Expect(ctx, "tick")
			if assert.NoError(t, err) {
				got <- time.Now()
			}
		}()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			_ = h0.Emit("tick", 1) // refused until Redis is back
			select {
			case at := <-got:
				t.Logf("delivery across nodes resumed %v after Redis returned", at.Sub(since))
				assert.Less(t, at.Sub(since), 500*time.Millisecond)
				return
			case <-tick.C:
			case <-ctx.Done():
				t.Fatal("no delivery across nodes after the restart")
			}
		}
	}
	t.Run("delivery resumes within 0.5s of the slow node's return", func(t *testing.T) { resumes(t, time.Now()) })
	t.Logf("(%v after the restart)", time.Since(restarted))

	t.Run("delivery resumes within 0.5s of a restart", func(t *testing.T) {
		require.NoError(t, adapterOf(h1.Of("/")).Ready(ctx))
		srv.Kill()
		waitLog(t, logs, "Redis unreachable")
		srv.Restart(t)
		resumes(t, time.Now())
	})

	require.NoError(t, adapterOf(h1.Of("/")).Ready(ctx))
	socks, err = h0.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, socks, 2)
}

// Issue 17 point 1: when Redis does not take messages as fast as they come
// (writes stalled), the publish queue stays within Options.MaxQueueBytes:
// the broadcast that would exceed it still reaches the local sockets, and
// its caller gets ErrQueueFull (counted) instead of the message being
// dropped silently; what was queued reaches the other node, in order, once
// Redis takes writes again.
func TestPublishQueueBound(t *testing.T) {
	srv := startRedis(t)
	const bound = 16 << 10
	h0 := newNode(t, srv, &redis.Options{MaxQueueBytes: bound, RequestTimeout: 5 * time.Second})
	h1 := newNode(t, srv, nil)
	a := connect(t, h0, nil)
	b := connect(t, h1, nil)
	ctx := testCtx(t)
	ctrl := srv.Client(t)

	payload := strings.Repeat("x", 4<<10)
	require.NoError(t, ctrl.Do(ctx, "CLIENT", "PAUSE", "1000", "WRITE").Err())
	queued := 0
	var err error
	for i := 0; i < 100; i++ {
		err = h0.Emit("news", i, payload)
		gotName, gotArg := next(t, a)
		require.Equal(t, "news", gotName)
		require.Equal(t, strconv.Itoa(i), gotArg, "local sockets get every broadcast, the refused one too")
		if err != nil {
			break
		}
		queued++
	}
	require.ErrorIs(t, err, redis.ErrQueueFull)
	assert.Less(t, queued, 100)
	st := adapterOf(h0.Of("/")).Stats()
	assert.LessOrEqual(t, st.QueuedBytes, int64(bound))
	assert.GreaterOrEqual(t, st.Refused, uint64(1))

	// After the stall: the queued broadcasts, in order, then a marker; not
	// the refused one.
	require.NoError(t, adapterOf(h0.Of("/")).Ready(ctx))
	for i := range queued {
		gotName, gotArg := next(t, b)
		require.Equal(t, "news", gotName)
		require.Equal(t, strconv.Itoa(i), gotArg)
	}
	require.NoError(t, h0.Emit("marker"))
	gotName, _ := next(t, a)
	assert.Equal(t, "marker", gotName)
	gotName, _ = next(t, b)
	assert.Equal(t, "marker", gotName, "the refused broadcast never reaches the other node")
}
