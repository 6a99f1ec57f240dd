package redis_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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

// recoveryLog records the recovery events of a node.
type recoveryLog struct {
	mu     sync.Mutex
	events []redis.RecoveryEvent
}

func (l *recoveryLog) add(ev redis.RecoveryEvent) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
}

func (l *recoveryLog) outcomes() []redis.RecoveryOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []redis.RecoveryOutcome
	for _, ev := range l.events {
		out = append(out, ev.Outcome)
	}
	return out
}

// streamsNode is a Go hub on the Redis Streams adapter with connection
// state recovery; its clients join the rooms their auth names (when not
// recovered) and are told "ready" with whether they were recovered.
type streamsNode struct {
	h   *hub.Server
	log *recoveryLog
}

func newStreamsNode(t *testing.T, srv *redisServer, opts *redis.StreamsOptions, more ...func(*hub.Options)) *streamsNode {
	t.Helper()
	l := &recoveryLog{}
	h := newStreamsHub(srv.Client(t), opts, l.add, more...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, h.Shutdown(ctx))
	})
	require.NoError(t, streamsAdapterOf(h.Of("/")).Ready(testCtx(t)))
	return &streamsNode{h: h, log: l}
}

// newStreamsHub returns the hub of a streamsNode; more, when given,
// adjusts its options.
func newStreamsHub(rdb goredis.UniversalClient, opts *redis.StreamsOptions, onRecovery func(redis.RecoveryEvent), more ...func(*hub.Options)) *hub.Server {
	var o redis.StreamsOptions
	if opts != nil {
		o = *opts
	}
	o.Logger = quiet
	o.OnRecovery = onRecovery
	ho := &hub.Options{
		Adapter:                 redis.NewStreams(rdb, &o),
		ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: time.Minute},
		Logger:                  quiet,
	}
	for _, fn := range more {
		fn(ho)
	}
	h := hub.New(ho)
	h.OnConnection(func(s *namespace.Socket) {
		if !s.Recovered() {
			var auth testAuth
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			s.Join(auth.Rooms...)
			if auth.Data != nil {
				s.SetData(auth.Data)
			}
		}
		_ = s.Emit("ready", s.Recovered())
	})
	return h
}

// TestStreamsNodeProcess is not a test: it is a streams node run in a
// process of its own (see startStreamsProcess), which a test can kill.
func TestStreamsNodeProcess(t *testing.T) {
	addr := os.Getenv("REALTIME_STREAMS_NODE")
	if addr == "" {
		t.Skip("a helper process for TestStreamsRecoveryAfterKill")
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	h := newStreamsHub(rdb, &redis.StreamsOptions{SessionSaveInterval: 20 * time.Millisecond}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	fmt.Printf("listening on http://%s\n", ln.Addr())
	_ = http.Serve(ln, h) // until killed
}

// startStreamsProcess runs a streams node in a child process (this test
// binary, running TestStreamsNodeProcess) and returns its URL and the
// process, killed when the test ends if still running.
func startStreamsProcess(t *testing.T, redisAddr string) (string, *os.Process) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStreamsNodeProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "REALTIME_STREAMS_NODE="+redisAddr)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	urls := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case u := <-urls:
		return u, cmd.Process
	case <-exited:
		t.Fatalf("streams node process exited at start:\n%s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("streams node process did not start:\n%s", stderr.String())
	}
	return "", nil
}

func streamsAdapterOf(ns *namespace.Namespace) *redis.StreamsAdapter {
	return ns.Adapter().(*redis.StreamsAdapter)
}

// streamsClient connects to h, joining rooms, and waits for "ready".
func streamsClient(t *testing.T, h *hub.Server, rooms ...string) (*hubtest.Conn, *hubtest.Socket) {
	t.Helper()
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Connect(ctx, "/", testAuth{Rooms: rooms, Data: map[string]any{"user": "ann"}})
	require.NoError(t, err)
	_, err = s.Expect(ctx, "ready")
	require.NoError(t, err)
	return c, s
}

// expectItems reads the next events of s and checks they are "item" with
// the given first arguments, in order ("tick"s are skipped).
func expectItems(t *testing.T, s *hubtest.Socket, want ...int) {
	t.Helper()
	ctx := testCtx(t)
	for _, w := range want {
		ev, err := s.Next(ctx)
		for err == nil && ev.Name == "tick" {
			ev, err = s.Next(ctx)
		}
		require.NoError(t, err)
		require.Equal(t, "item", ev.Name)
		require.Equal(t, fmt.Sprint(w), string(ev.Args.Raw(0)))
	}
}

// TestStreamsRecoveryAcrossNodes: a client that leaves node A and comes
// back to node B gets its id, rooms and data, and every broadcast it
// missed that reached it, in order — in both directions.
func TestStreamsRecoveryAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	a := newStreamsNode(t, srv, nil)
	b := newStreamsNode(t, srv, nil)
	for _, dir := range []struct {
		name     string
		from, to *streamsNode
	}{{"A to B", a, b}, {"B to A", b, a}} {
		t.Run(dir.name, func(t *testing.T) {
			ctx := testCtx(t)
			// A watcher on the destination sees when what follows has
			// been read there (broadcasts from two nodes are in the order
			// the stream got them: the test waits for each).
			_, watcher := streamsClient(t, dir.to.h, "r")
			conn, s1 := streamsClient(t, dir.from.h, "r")
			require.NoError(t, dir.to.h.To("r").Emit("item", 1))
			expectItems(t, s1, 1)
			expectItems(t, watcher, 1)
			require.NoError(t, conn.Close())
			require.Eventually(t, func() bool { return dir.from.h.Of("/").Len() == 0 },
				10*time.Second, 5*time.Millisecond)
			require.NoError(t, dir.to.h.To("r").Emit("item", 2))
			expectItems(t, watcher, 2)
			require.NoError(t, dir.from.h.To("other").Emit("item", 0)) // not for s1
			require.NoError(t, dir.from.h.Emit("item", 3))
			expectItems(t, watcher, 3)

			conn2, err := hubtest.Dial(ctx, dir.to.h, nil)
			require.NoError(t, err)
			defer conn2.Close()
			s2, err := conn2.Recover(ctx, s1, nil)
			require.NoError(t, err)
			require.True(t, s2.Recovered())
			assert.Equal(t, s1.ID(), s2.ID())
			expectItems(t, s2, 2, 3)
			ev, err := s2.Expect(ctx, "ready")
			require.NoError(t, err)
			assert.Equal(t, "true", string(ev.Args.Raw(0)))

			// Its rooms and data came along.
			require.NoError(t, dir.from.h.To("r").Emit("item", 4))
			expectItems(t, s2, 4)
			expectItems(t, watcher, 4)
			socks, err := dir.to.h.Of("/").FetchSockets(ctx)
			require.NoError(t, err)
			found := false
			for _, info := range socks {
				if info.ID == s1.ID() {
					found = true
					assert.Contains(t, info.Rooms, "r")
					assert.JSONEq(t, `{"user":"ann"}`, string(info.Data))
				}
			}
			assert.True(t, found, "the recovered socket is in FetchSockets")
		})
	}
	assert.Equal(t, []redis.RecoveryOutcome{redis.Recovered}, b.log.outcomes())
	assert.Equal(t, []redis.RecoveryOutcome{redis.Recovered}, a.log.outcomes())
	assert.Equal(t, uint64(1), streamsAdapterOf(b.h.Of("/")).Stats().Recovered)
}

// A Node.js socket.io server with @socket.io/redis-streams-adapter 0.3 and
// a Go hub on NewStreams share one stream: every cluster operation works
// both ways, as with the pub/sub adapters.
func TestStreamsMixedCluster(t *testing.T) {
	srv := startRedis(t)
	h := newHubWith(t, &hub.Options{Adapter: redis.NewStreams(srv.Client(t), &redis.StreamsOptions{Options: redis.Options{Logger: quiet}}), Logger: quiet})
	require.NoError(t, streamsAdapterOf(h.Of("/")).Ready(testCtx(t)))
	testMixedCluster(t, srv, h, "ADAPTER=streams")
}

// waitSession waits until Redis holds the session of socket sid (a Node
// or Go node saves it in the background when its socket disconnects).
func waitSession(t *testing.T, rdb *goredis.Client, sid string) {
	t.Helper()
	ctx := testCtx(t)
	require.Eventually(t, func() bool {
		keys, err := rdb.Keys(ctx, "sio:session:*").Result()
		require.NoError(t, err)
		for _, k := range keys {
			v, err := rdb.Get(ctx, k).Result()
			if err != nil {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(v)
			require.NoError(t, err)
			if bytes.Contains(raw, []byte(sid)) {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond, "session of %s saved", sid)
}

// expectNodeItems checks that client's next events are "item" with the
// given first arguments, each with an offset as last argument; it
// returns the last offset.
func expectNodeItems(t *testing.T, d *nodeDriver, client string, want ...int) string {
	t.Helper()
	var offset string
	for _, w := range want {
		l := d.expect(client, "item", fmt.Sprint(w))
		require.Len(t, l.Args, 2, "item %d carries an offset", w)
		require.NoError(t, json.Unmarshal(l.Args[1], &offset))
		require.Regexp(t, `^\d+-\d+$`, offset)
	}
	return offset
}

// TestStreamsRecoveryGoNode: with a Go node and a Node.js node
// (@socket.io/redis-streams-adapter) on one stream, the official client
// that loses its connection to one and reconnects to the other is
// recovered, with every broadcast it missed, from both nodes, in order.
func TestStreamsRecoveryGoNode(t *testing.T) {
	srv := startRedis(t)
	g := newStreamsNode(t, srv, nil)
	web := httptest.NewServer(g.h)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, web.URL, "ADAPTER=streams", "RECOVERY=1")
	rdb := srv.Client(t)

	connect := func(name, target string, rooms ...string) string {
		var id string
		d.call(&id, "connect", map[string]any{"name": name, "target": target,
			"auth": map[string]any{"rooms": rooms, "data": map[string]string{"name": name}}})
		d.expect(name, "ready", "false")
		return id
	}
	// Watchers in room r on each side see each broadcast once it is read
	// there.
	connect("wGo", "go", "r")
	connect("wNode", "node", "r")
	watched := func(n int) {
		expectNodeItems(t, d, "wGo", n)
		expectNodeItems(t, d, "wNode", n)
	}
	emitNode := func(rooms []string, n int) {
		d.call(nil, "emit", map[string]any{"rooms": rooms, "event": "item", "args": []any{n}})
	}

	for _, c := range []struct{ name, from, to string }{{"goToNode", "go", "node"}, {"nodeToGo", "node", "go"}} {
		t.Run(c.name, func(t *testing.T) {
			id := connect(c.name, c.from, "r")
			require.NoError(t, g.h.To("r").Emit("item", 1))
			expectNodeItems(t, d, c.name, 1)
			watched(1)

			d.call(nil, "drop", map[string]any{"name": c.name, "target": c.to})
			d.expect(c.name, "$disconnect", "") // the server sees the transport close
			waitSession(t, rdb, id)

			// Missed: from both nodes, one not for it.
			require.NoError(t, g.h.To("r").Emit("item", 2))
			watched(2)
			emitNode([]string{"r"}, 3)
			watched(3)
			emitNode([]string{"other"}, 0)
			require.NoError(t, g.h.Emit("item", 4))
			watched(4)

			var got struct {
				ID         string `json:"id"`
				Recovered  bool   `json:"recovered"`
				ServerSaid bool   `json:"serverSaid"`
			}
			d.call(&got, "rejoin", map[string]any{"name": c.name})
			assert.True(t, got.Recovered, "the client says it was recovered")
			assert.True(t, got.ServerSaid, "the server says it was recovered")
			assert.Equal(t, id, got.ID)
			expectNodeItems(t, d, c.name, 2, 3, 4)
			d.expect(c.name, "ready", "true")

			// Still in r, on its new node.
			require.NoError(t, g.h.To("r").Emit("item", 5))
			expectNodeItems(t, d, c.name, 5)
			watched(5)
			socks, err := g.h.Of("/").In("r").FetchSockets(testCtx(t))
			require.NoError(t, err)
			var ids []string
			for _, s := range socks {
				ids = append(ids, s.ID)
				if s.ID == id {
					assert.JSONEq(t, `{"name":"`+c.name+`"}`, string(s.Data))
				}
			}
			assert.Contains(t, ids, id)
		})
	}
	assert.Equal(t, []redis.RecoveryOutcome{redis.Recovered}, g.log.outcomes(), "the Go node restored one session")
}

// TestStreamsRecoveryAfterKill: a node is killed (SIGKILL: no goodbye, no
// session saved at disconnection); its client reconnects to another node
// and is recovered from the session the dead node saved while it was
// connected, with every broadcast it missed.
func TestStreamsRecoveryAfterKill(t *testing.T) {
	srv := startRedis(t)
	deadURL, proc := startStreamsProcess(t, srv.Addr)
	b := newStreamsNode(t, srv, nil)
	web := httptest.NewServer(b.h)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, deadURL, "ADAPTER=streams", "RECOVERY=1", "GO2_URL="+web.URL)
	rdb := srv.Client(t)

	_, watcher := streamsClient(t, b.h, "r")
	var id string
	d.call(&id, "connect", map[string]any{"name": "c", "target": "go",
		"auth": map[string]any{"rooms": []string{"r"}, "data": map[string]string{"name": "c"}}})
	d.expect("c", "ready", "false")
	require.NoError(t, b.h.To("r").Emit("item", 1))
	expectNodeItems(t, d, "c", 1)
	expectItems(t, watcher, 1)
	waitSession(t, rdb, id) // saved while connected

	require.NoError(t, proc.Kill())
	d.expect("c", "$disconnect", "")
	d.call(nil, "drop", map[string]any{"name": "c", "target": "go2"})
	require.NoError(t, b.h.To("r").Emit("item", 2))
	require.NoError(t, b.h.To("other").Emit("item", 0))
	require.NoError(t, b.h.Emit("item", 3))
	expectItems(t, watcher, 2, 3)

	var got struct {
		ID        string `json:"id"`
		Recovered bool   `json:"recovered"`
	}
	d.call(&got, "rejoin", map[string]any{"name": "c"})
	assert.True(t, got.Recovered)
	assert.Equal(t, id, got.ID)
	expectNodeItems(t, d, "c", 2, 3)
	d.expect("c", "ready", "true")
	require.NoError(t, b.h.To("r").Emit("item", 4))
	expectNodeItems(t, d, "c", 4)
	assert.Equal(t, []redis.RecoveryOutcome{redis.Recovered}, b.log.outcomes())
}

// TestStreamsRedisRestart: Redis restarts (without persistence) while a
// client is away: no node crashes, the client is told it was not
// recovered (its session and offset are gone: counted as expired), and
// recovery works again for what happens afterwards.
func TestStreamsRedisRestart(t *testing.T) {
	srv := startRedis(t)
	a := newStreamsNode(t, srv, nil)
	b := newStreamsNode(t, srv, nil)
	ctx := testCtx(t)
	rdb := srv.Client(t)

	_, watcher := streamsClient(t, b.h, "r")
	conn, s1 := streamsClient(t, a.h, "r")
	require.NoError(t, b.h.To("r").Emit("item", 1))
	expectItems(t, s1, 1)
	expectItems(t, watcher, 1)
	require.NoError(t, conn.Close())
	waitSession(t, rdb, s1.ID())

	srv.Kill()
	srv.Restart(t)
	// Delivery across nodes resumes: a's ticks reach b's watcher.
	got := make(chan struct{})
	go func() {
		defer close(got)
		_, err := watcher.Expect(ctx, "tick")
		assert.NoError(t, err)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for resumed := false; !resumed; {
		_ = a.h.Emit("tick") // refused while Redis is away
		select {
		case <-got:
			resumed = true
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("no delivery across nodes after the restart")
		}
	}

	// What Redis lost is lost: s1 gets a new session.
	c2, err := hubtest.Dial(ctx, b.h, nil)
	require.NoError(t, err)
	defer c2.Close()
	s1b, err := c2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	assert.False(t, s1b.Recovered())
	assert.NotEqual(t, s1.ID(), s1b.ID())
	assert.Equal(t, []redis.RecoveryOutcome{redis.RecoveryExpired}, b.log.outcomes())
	assert.Equal(t, uint64(1), streamsAdapterOf(b.h.Of("/")).Stats().RecoveryExpired)

	// Recovery works again.
	conn3, s3 := streamsClient(t, a.h, "r")
	require.NoError(t, b.h.To("r").Emit("item", 5))
	expectItems(t, s3, 5)
	require.NoError(t, conn3.Close())
	waitSession(t, rdb, s3.ID())
	require.NoError(t, b.h.To("r").Emit("item", 6))
	expectItems(t, watcher, 5, 6)
	c4, err := hubtest.Dial(ctx, b.h, nil)
	require.NoError(t, err)
	defer c4.Close()
	s3b, err := c4.Recover(ctx, s3, nil)
	require.NoError(t, err)
	require.True(t, s3b.Recovered())
	assert.Equal(t, s3.ID(), s3b.ID())
	expectItems(t, s3b, 6)
}

// TestStreamsRecoveryThousands: a client that missed thousands of
// broadcasts gets them all, in order, as it reads them, and then the
// ones made during its replay, in order after them.
func TestStreamsRecoveryThousands(t *testing.T) {
	missed := 3000
	if raceEnabled {
		missed = 1500
	}
	srv := startRedis(t)
	a := newStreamsNode(t, srv, nil)
	b := newStreamsNode(t, srv, nil)
	ctx := testCtx(t)

	_, watcher := streamsClient(t, b.h, "r")
	conn, s1 := streamsClient(t, a.h, "r")
	require.NoError(t, b.h.To("r").Emit("item", 0))
	expectItems(t, s1, 0)
	expectItems(t, watcher, 0)
	require.NoError(t, conn.Close())
	waitSession(t, srv.Client(t), s1.ID())
	for i := 1; i <= missed; i++ {
		require.NoError(t, b.h.To("r").Emit("item", i, strings.Repeat("x", 200)))
	}
	for i := 1; i <= missed; i++ {
		expectItems(t, watcher, i)
	}

	c2, err := hubtest.Dial(ctx, a.h, nil)
	require.NoError(t, err)
	defer c2.Close()
	// More broadcasts while the replay runs.
	during := make(chan error, 1)
	go func() {
		for i := missed + 1; i <= missed+100; i++ {
			if err := b.h.To("r").Emit("item", i); err != nil {
				during <- err
				return
			}
		}
		during <- nil
	}()
	s2, err := c2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	require.True(t, s2.Recovered())
	require.NoError(t, <-during)
	for i := 1; i <= missed+100; i++ {
		ev, err := s2.Next(ctx)
		require.NoError(t, err)
		if ev.Name == "ready" {
			ev, err = s2.Next(ctx)
			require.NoError(t, err)
		}
		require.Equal(t, "item", ev.Name)
		require.Equal(t, fmt.Sprint(i), string(ev.Args.Raw(0)), "broadcast %d", i)
	}
}

// TestStreamsTrimmedOffset: a client whose offset was trimmed out of the
// stream (MaxLen) is not recovered: it gets a new session, counted as
// expired, rather than a replay with a gap.
func TestStreamsTrimmedOffset(t *testing.T) {
	srv := startRedis(t)
	opts := &redis.StreamsOptions{MaxLen: 10}
	a := newStreamsNode(t, srv, opts)
	b := newStreamsNode(t, srv, opts)
	ctx := testCtx(t)

	_, watcher := streamsClient(t, b.h, "r")
	conn, s1 := streamsClient(t, a.h, "r")
	require.NoError(t, b.h.To("r").Emit("item", 0))
	expectItems(t, s1, 0)
	expectItems(t, watcher, 0)
	require.NoError(t, conn.Close())
	waitSession(t, srv.Client(t), s1.ID())
	// MAXLEN ~ trims whole stream nodes (100 entries each by default).
	// One at a time: the nodes read every entry before it is trimmed.
	const n = 400
	for i := 1; i <= n; i++ {
		require.NoError(t, b.h.To("r").Emit("item", i))
		expectItems(t, watcher, i)
	}
	length, err := srv.Client(t).XLen(ctx, "socket.io").Result()
	require.NoError(t, err)
	require.Less(t, length, int64(n), "the stream was trimmed")

	c2, err := hubtest.Dial(ctx, b.h, nil)
	require.NoError(t, err)
	defer c2.Close()
	s2, err := c2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	assert.False(t, s2.Recovered())
	assert.Equal(t, []redis.RecoveryOutcome{redis.RecoveryExpired}, b.log.outcomes())
}

// TestStreamsEntriesTrimmedUnread: entries trimmed from the stream before
// a node read them (MaxLen too small for a burst) are not lost silently:
// the node closes its clients' connections (so that they learn their
// state is gone) and counts it.
func TestStreamsEntriesTrimmedUnread(t *testing.T) {
	srv := startRedis(t)
	a := newStreamsNode(t, srv, &redis.StreamsOptions{MaxLen: 10})
	ctx := testCtx(t)
	conn, s1 := streamsClient(t, a.h, "r")
	require.NoError(t, a.h.To("r").Emit("item", 0))
	expectItems(t, s1, 0)

	// A burst, in one transaction: the node cannot read in between.
	rdb := srv.Client(t)
	_, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for i := 1; i <= 500; i++ {
			p.XAdd(ctx, &goredis.XAddArgs{Stream: "socket.io", MaxLen: 10, Approx: true, Values: []string{
				"uid", "burst", "nsp", "/", "type", "3",
				"data", fmt.Sprintf(`{"packet":{"type":2,"data":["item",%d],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`, i)}})
		}
		return nil
	})
	require.NoError(t, err)
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("the connection of a client that missed broadcasts was not closed")
	}
	assert.Equal(t, uint64(1), streamsAdapterOf(a.h.Of("/")).Stats().EntriesMissed)
}

// TestStreamsRecoveryAfterShutdown: a node shut down gracefully (a
// rolling deploy) saves its sockets' sessions before it stops: their
// clients recover on another node with their rooms as they were then.
func TestStreamsRecoveryAfterShutdown(t *testing.T) {
	srv := startRedis(t)
	a := newStreamsNode(t, srv, &redis.StreamsOptions{SessionSaveInterval: time.Hour}) // no periodic save
	b := newStreamsNode(t, srv, nil)
	ctx := testCtx(t)

	_, watcher := streamsClient(t, b.h, "r")
	conn, s1 := streamsClient(t, a.h, "r")
	a.h.Of("/").Socket(s1.ID()).Join("late") // after the connection: only the final save has it
	require.NoError(t, b.h.To("r").Emit("item", 1))
	expectItems(t, s1, 1)
	expectItems(t, watcher, 1)

	require.NoError(t, a.h.Shutdown(ctx))
	<-conn.Done()
	require.NoError(t, b.h.To("late").Emit("item", 2))
	require.NoError(t, b.h.To("r").Emit("item", 3))
	expectItems(t, watcher, 3)

	c2, err := hubtest.Dial(ctx, b.h, nil)
	require.NoError(t, err)
	defer c2.Close()
	s2, err := c2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	require.True(t, s2.Recovered(), "outcomes %v, a: %+v", b.log.events, streamsAdapterOf(a.h.Of("/")).Stats())
	expectItems(t, s2, 2, 3)
}

// TestStreamsRecoveryThousandsWebSocket: the official client, over
// WebSocket, recovers thousands of missed broadcasts (600 KB) on another
// Go node whose send queues hold 32 KiB: the replay waits for the client
// to read, and nothing is lost or reordered.
func TestStreamsRecoveryThousandsWebSocket(t *testing.T) {
	const missed = 3000
	srv := startRedis(t)
	small := func(o *hub.Options) { o.MaxQueueBytes = 32 << 10 }
	a := newStreamsNode(t, srv, nil, small)
	b := newStreamsNode(t, srv, nil, small)
	webA := httptest.NewServer(a.h)
	t.Cleanup(webA.Close)
	webB := httptest.NewServer(b.h)
	t.Cleanup(webB.Close)
	d := startNodeDriver(t, srv.Addr, webA.URL, "ADAPTER=streams", "RECOVERY=1", "GO2_URL="+webB.URL)

	_, watcher := streamsClient(t, b.h, "r")
	var id string
	d.call(&id, "connect", map[string]any{"name": "c", "target": "go", "auth": map[string]any{"rooms": []string{"r"}}})
	d.expect("c", "ready", "false")
	require.NoError(t, b.h.To("r").Emit("item", 0))
	expectNodeItems(t, d, "c", 0)
	expectItems(t, watcher, 0)
	d.call(nil, "drop", map[string]any{"name": "c", "target": "go2"})
	d.expect("c", "$disconnect", "")
	waitSession(t, srv.Client(t), id)

	text := strings.Repeat("x", 200)
	for i := 1; i <= missed; i++ {
		require.NoError(t, a.h.To("r").Emit("item", i, text))
	}
	for i := 1; i <= missed; i++ {
		expectItems(t, watcher, i)
	}
	var got struct {
		Recovered bool `json:"recovered"`
	}
	d.call(&got, "rejoin", map[string]any{"name": "c"})
	require.True(t, got.Recovered)
	for i := 1; i <= missed; i++ {
		l := d.expect("c", "item", fmt.Sprint(i))
		require.Len(t, l.Args, 3)
	}
	d.expect("c", "ready", "true")
}
