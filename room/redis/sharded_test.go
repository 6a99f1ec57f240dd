package redis_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room/redis"
)

// The sharded adapter (NewSharded) on a real Redis Cluster of three
// masters: its channels land on different masters, so a node holds a
// subscription connection per master.

var shardModes = []redis.SubscriptionMode{redis.Static, redis.Dynamic, redis.DynamicPrivate}

func newShardedNode(t testing.TB, rdb goredis.UniversalClient, opts *redis.ShardedOptions) *hub.Server {
	t.Helper()
	var o redis.ShardedOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	return newTestHub(t, redis.NewSharded(rdb, &o), hub.JSONParser)
}

// waitShardSubs waits until channel has n subscribers (PUBSUB
// SHARDNUMSUB on its master): the dynamic modes subscribe a room's
// channel after the room is created, without making the join wait.
func waitShardSubs(t testing.TB, rdb goredis.UniversalClient, channel string, n int) {
	t.Helper()
	ctx := testCtx(t)
	for {
		var c goredis.UniversalClient = rdb
		if cc, ok := rdb.(*goredis.ClusterClient); ok {
			m, err := cc.MasterForKey(ctx, channel)
			require.NoError(t, err)
			c = m
		}
		got, err := c.PubSubShardNumSub(ctx, channel).Result()
		if err == nil && int(got[channel]) == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %d subscribers, want %d (%v)", channel, got[channel], n, err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// expectSet reads events until s got each of want ("name firstArg"), in
// any order (messages on different channels, hence masters, may arrive
// in either order), and fails on any other.
func expectSet(t testing.TB, s *hubtest.Socket, want ...string) []*hubtest.Event {
	t.Helper()
	left := slices.Clone(want)
	var got []*hubtest.Event
	for len(left) > 0 {
		ev, err := s.Next(testCtx(t))
		require.NoError(t, err, "waiting for %v", left)
		key := ev.Name + " " + string(ev.Args.Raw(0))
		i := slices.Index(left, key)
		require.GreaterOrEqual(t, i, 0, "unexpected %q; waiting for %v", key, left)
		left = slices.Delete(left, i, i+1)
		got = append(got, ev)
	}
	return got
}

func TestShardedAcrossNodes(t *testing.T) {
	cluster := startRedisCluster(t)
	for _, mode := range shardModes {
		t.Run(string(mode), func(t *testing.T) {
			rdb := cluster.Client(t)
			key := "sh-" + string(mode)
			opts := &redis.ShardedOptions{Options: redis.Options{Key: key}, SubscriptionMode: mode}
			h0, h1, h2 := newShardedNode(t, rdb, opts), newShardedNode(t, rdb, opts), newShardedNode(t, rdb, opts)
			got := make(chan string, 10)
			for i, h := range []*hub.Server{h0, h1, h2} {
				h.Of("/").OnServerSideEmit("hello", func(e *namespace.Event) {
					var who string
					_ = e.Args.Decode(0, &who)
					got <- fmt.Sprintf("%d:%s", i, who)
					if e.Ack != nil {
						_ = e.Ack(i, "node")
					}
				})
			}
			a := connect(t, h0, &testAuth{Rooms: []string{"r", "q"}})
			b := connect(t, h1, &testAuth{Rooms: []string{"r"}})
			c := connect(t, h2, nil)
			all := []*hubtest.Socket{a, b, c}
			ctx := testCtx(t)
			main := key + "#/#"
			dynamic := mode != redis.Static
			if dynamic {
				waitShardSubs(t, rdb, main+"r#", 2)
				waitShardSubs(t, rdb, main+"q#", 1)
			}
			if mode == redis.DynamicPrivate {
				waitShardSubs(t, rdb, main+c.ID()+"#", 1)
			} else {
				waitShardSubs(t, rdb, main+"r#", map[bool]int{true: 2, false: 0}[dynamic])
			}
			marker := func(from *hub.Server, n int, extra map[*hubtest.Socket][]string) {
				t.Helper()
				require.NoError(t, from.Emit("marker", n))
				for _, s := range all {
					expectSet(t, s, append(extra[s], fmt.Sprintf("marker %d", n))...)
				}
			}

			n, err := adapterOf(h0.Of("/")).ServerCount(ctx)
			require.NoError(t, err)
			assert.Equal(t, 3, n)

			// One room (its own channel in the dynamic modes), with binary.
			require.NoError(t, h2.To("r").Emit("news", "hi", []byte{0, 1, 255}, map[string]any{"b": []byte("x")}))
			require.NoError(t, h2.Emit("marker", 1))
			for _, s := range []*hubtest.Socket{a, b} {
				evs := expectSet(t, s, `news "hi"`, "marker 1")
				for _, ev := range evs {
					if ev.Name == "news" {
						var text string
						var bin []byte
						var nested struct{ B []byte }
						require.NoError(t, ev.Args.Scan(&text, &bin, &nested))
						assert.Equal(t, []byte{0, 1, 255}, bin)
						assert.Equal(t, []byte("x"), nested.B)
					}
				}
			}
			expectSet(t, c, "marker 1")

			// Several rooms, exceptions, one socket by id, the sender left out.
			require.NoError(t, h2.Of("/").To("r", "q").Except("q").Emit("news", "rq-q"))
			marker(h2, 2, map[*hubtest.Socket][]string{b: {`news "rq-q"`}})
			require.NoError(t, h1.Of("/").Except("r").Emit("news", "not-r"))
			marker(h1, 3, map[*hubtest.Socket][]string{c: {`news "not-r"`}})
			require.NoError(t, h0.To(c.ID()).Emit("news", "just-c"))
			marker(h0, 4, map[*hubtest.Socket][]string{c: {`news "just-c"`}})
			require.NoError(t, b.Emit("relay", "from-b"))
			marker(h1, 5, map[*hubtest.Socket][]string{a: {`relayed "from-b"`}, c: {`relayed "from-b"`}})
			require.NoError(t, h0.Of("/").All().Local().Emit("news", "local"))
			// Read before the volatile broadcast, which is dropped for a
			// client with frames still waiting.
			expectSet(t, a, `news "local"`)
			require.NoError(t, h0.Of("/").All().Volatile().Emit("news", "volatile"))
			marker(h0, 6, map[*hubtest.Socket][]string{a: {`news "volatile"`},
				b: {`news "volatile"`}, c: {`news "volatile"`}})

			// Room operations on another node's sockets.
			require.NoError(t, h0.Of("/").In(c.ID()).SocketsJoin("z"))
			marker(h0, 70, nil) // after the join, on the same channel
			if dynamic {
				waitShardSubs(t, rdb, main+"z#", 1)
			}
			assert.ElementsMatch(t, []string{c.ID(), "z"}, h2.Of("/").Socket(c.ID()).Rooms())
			require.NoError(t, h1.To("z").Emit("news", "in-z"))
			marker(h1, 7, map[*hubtest.Socket][]string{c: {`news "in-z"`}})
			require.NoError(t, h0.Of("/").In("z").SocketsLeave("z"))
			marker(h0, 71, nil)
			if dynamic {
				waitShardSubs(t, rdb, main+"z#", 0)
			}
			assert.ElementsMatch(t, []string{c.ID()}, h2.Of("/").Socket(c.ID()).Rooms())

			socks, err := h1.Of("/").FetchSockets(ctx)
			require.NoError(t, err)
			var ids []string
			for _, s := range socks {
				ids = append(ids, s.ID)
				if s.ID == a.ID() {
					assert.ElementsMatch(t, []string{a.ID(), "r", "q"}, s.Rooms)
				}
			}
			assert.ElementsMatch(t, []string{a.ID(), b.ID(), c.ID()}, ids)
			socks, err = h2.Of("/").In("q").FetchSockets(ctx)
			require.NoError(t, err)
			require.Len(t, socks, 1)
			assert.Equal(t, a.ID(), socks[0].ID)

			// Broadcasts with ack: every socket's answer, binary included.
			var wg sync.WaitGroup
			for i, s := range all {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ev, err := s.Expect(ctx, "question")
					if assert.NoError(t, err) {
						assert.NoError(t, ev.Ack(fmt.Sprintf("answer-%d", i), []byte{byte(i)}))
					}
				}()
			}
			replies, err := h2.Of("/").EmitWithAck(ctx, "question", 7)
			require.NoError(t, err)
			wg.Wait()
			var answers []string
			for _, r := range replies {
				var text string
				var bin []byte
				require.NoError(t, r.Scan(&text, &bin))
				assert.Equal(t, []byte{text[len(text)-1] - '0'}, bin)
				answers = append(answers, text)
			}
			assert.ElementsMatch(t, []string{"answer-0", "answer-1", "answer-2"}, answers)

			// Server-side events.
			require.NoError(t, h0.Of("/").ServerSideEmit("hello", "h0"))
			var recv []string
			for range 2 {
				select {
				case s := <-got:
					recv = append(recv, s)
				case <-ctx.Done():
					t.Fatal("server-side event not received")
				}
			}
			assert.ElementsMatch(t, []string{"1:h0", "2:h0"}, recv)
			sse, err := h1.Of("/").ServerSideEmitWithAck(ctx, "hello", "h1")
			require.NoError(t, err)
			var nodes []int
			for _, r := range sse {
				var i int
				var word string
				require.NoError(t, r.Scan(&i, &word))
				assert.Equal(t, "node", word)
				nodes = append(nodes, i)
			}
			slices.Sort(nodes)
			assert.Equal(t, []int{0, 2}, nodes)
			for range 2 {
				<-got
			}

			// Not in the protocol: refused, not answered with a short list.
			_, err = adapterOf(h0.Of("/")).AllRooms(ctx)
			require.ErrorIs(t, err, redis.ErrUnsupported)
			require.ErrorIs(t, err, errors.ErrUnsupported)

			// Disconnecting another node's socket.
			require.NoError(t, h0.Of("/").In(b.ID()).DisconnectSockets(true))
			_, err = b.Next(ctx)
			require.Error(t, err, "b's connection is closed")
			socks, err = h2.Of("/").FetchSockets(ctx)
			require.NoError(t, err)
			assert.Len(t, socks, 2)
			if dynamic {
				waitShardSubs(t, rdb, main+"r#", 1) // b's node has no member of r left
			}
		})
	}
}

// sameMaster returns a room name starting with base whose channel is on
// the same master as the namespace's channel: messages on both then keep
// their order, as the mixed-cluster test expects.
func sameMaster(t testing.TB, rdb *goredis.ClusterClient, prefix, base string) string {
	t.Helper()
	ctx := testCtx(t)
	main, err := rdb.MasterForKey(ctx, prefix+"#/#")
	require.NoError(t, err)
	for i := range 1000 {
		name := fmt.Sprintf("%s%d", base, i)
		m, err := rdb.MasterForKey(ctx, prefix+"#/#"+name+"#")
		require.NoError(t, err)
		if m.Options().Addr == main.Options().Addr {
			return name
		}
	}
	t.Fatal("no room name on the namespace's master")
	return ""
}

// A Node.js socket.io server with createShardedAdapter and a Go hub with
// NewSharded on one Redis Cluster, each subscription mode: the
// mixed-cluster test of the pub/sub adapter (runMixed), Go↔Node both
// ways.
func TestShardedMixedCluster(t *testing.T) {
	cluster := startRedisCluster(t)
	for _, mode := range shardModes {
		t.Run(string(mode), func(t *testing.T) {
			rdb := cluster.Client(t)
			key := "mx-" + string(mode)
			h := newShardedNode(t, rdb, &redis.ShardedOptions{Options: redis.Options{Key: key}, SubscriptionMode: mode})
			web := httptest.NewServer(h)
			t.Cleanup(web.Close)
			d := startNodeDriver(t, cluster.Nodes[0].Addr, web.URL, "ADAPTER=sharded",
				"SUBSCRIPTION_MODE="+string(mode), "CHANNEL_PREFIX="+key,
				"REDIS_CLUSTER="+strings.Join(cluster.Addrs(), ","))
			mx := mixedEnv{room: func(base string) string { return sameMaster(t, rdb, key, base) }}
			if mode != redis.Static {
				mx.waitRoom = func(room string, n int) { waitShardSubs(t, rdb, key+"#/#"+room+"#", n) }
			}
			ids := runMixed(t, h, d, mx)
			// To one socket by id (its own channel in dynamic-private
			// mode), both ways.
			if mode == redis.DynamicPrivate {
				mx.waitRoom(ids["gA"], 1)
				mx.waitRoom(ids["nA"], 1)
			}
			d.call(nil, "emit", map[string]any{"rooms": []string{ids["gA"]}, "event": "to-id", "args": []any{1}})
			d.expect("gA", "to-id", "1")
			require.NoError(t, h.To(ids["nA"]).Emit("to-id", 2))
			d.expect("nA", "to-id", "2")
		})
	}
}

// A master of the cluster restarts: while it is down, broadcasts fail
// with ErrUnavailable (local sockets get them); once it is back, each node
// has its subscriptions again (Ready) and the cluster works as before.
func TestShardedMasterRestart(t *testing.T) {
	cluster := startRedisCluster(t)
	rdb := cluster.Client(t)
	var logs [2]watchLog
	var hs [2]*hub.Server
	for i := range hs {
		logs[i] = watchLog{msgs: make(chan string, 256)}
		hs[i] = newShardedNode(t, rdb, &redis.ShardedOptions{Options: redis.Options{
			RequestTimeout: time.Second, Logger: slog.New(logs[i])}})
	}
	a := connect(t, hs[0], &testAuth{Rooms: []string{"r"}})
	b := connect(t, hs[1], &testAuth{Rooms: []string{"r"}})
	waitShardSubs(t, rdb, "socket.io#/#r#", 2)
	ctx := testCtx(t)

	require.NoError(t, hs[0].Emit("news", "before"))
	expectSet(t, a, `news "before"`)
	expectSet(t, b, `news "before"`)

	// The master of the namespace's channel.
	m, err := rdb.MasterForKey(ctx, "socket.io#/#")
	require.NoError(t, err)
	var srv *redisServer
	for _, s := range cluster.Nodes {
		if s.Addr == m.Options().Addr {
			srv = s
		}
	}
	require.NotNil(t, srv)
	srv.Kill()
	waitLog(t, logs[0], "Redis unreachable")
	waitLog(t, logs[1], "Redis unreachable")
	err = hs[0].Emit("news", "during")
	require.ErrorIs(t, err, redis.ErrUnavailable)
	expectSet(t, a, `news "during"`) // local clients still get it
	_, err = hs[0].Of("/").FetchSockets(ctx)
	require.Error(t, err)

	srv.Restart(t)
	for _, h := range hs {
		require.NoError(t, adapterOf(h.Of("/")).Ready(ctx), "resubscribed after the restart")
	}
	require.NoError(t, hs[0].Emit("news", "after"))
	expectSet(t, a, `news "after"`)
	expectSet(t, b, `news "after"`)
	require.NoError(t, hs[1].To("r").Emit("news", "after-r"))
	expectSet(t, a, `news "after-r"`)
	expectSet(t, b, `news "after-r"`)
	socks, err := hs[0].Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, socks, 2)
}
