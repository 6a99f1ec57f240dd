package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/leaktest"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/room/redis"
)

// discard silences go-redis' own logger (connection errors are expected
// in the Redis-restart tests).
type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	goredis.SetLogger(discard{})
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testAuth is what test clients send on connect: rooms to join and the
// socket's data.
type testAuth struct {
	Rooms []string       `json:"rooms,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// newNode starts a hub on srv with the standard test handlers: a socket
// joins its auth's rooms and stores its data; "relay" goes to everyone
// else (socket.Broadcast).
func newNode(t testing.TB, srv *redisServer, opts *redis.Options) *hub.Server {
	t.Helper()
	return newNodeOn(t, srv.Client(t), opts)
}

// newNodeOn is newNode with a client of the test's own.
func newNodeOn(t testing.TB, rdb goredis.UniversalClient, opts *redis.Options) *hub.Server {
	t.Helper()
	return newParserNode(t, rdb, opts, hub.JSONParser)
}

// newParserNode is newNodeOn with the hub's parser.
func newParserNode(t testing.TB, rdb goredis.UniversalClient, opts *redis.Options, parser hub.Parser) *hub.Server {
	t.Helper()
	var o redis.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	return newTestHub(t, redis.New(rdb, &o), parser)
}

// newTestHub starts a hub on the adapter factory, with parser, and the
// standard test handlers (see newNode).
func newTestHub(t testing.TB, adapter func(room.Local) room.Adapter, parser hub.Parser) *hub.Server {
	t.Helper()
	return newHubWith(t, &hub.Options{Adapter: adapter, Logger: quiet, Parser: parser})
}

// newHubWith starts a hub with opts and the standard test handlers.
func newHubWith(t testing.TB, opts *hub.Options) *hub.Server {
	t.Helper()
	h := hub.New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, h.Shutdown(ctx))
	})
	h.OnConnection(func(s *namespace.Socket) {
		var auth testAuth
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		s.Join(auth.Rooms...)
		if auth.Data != nil {
			s.SetData(auth.Data)
		}
		s.On("relay", func(e *namespace.Event) { _ = s.Broadcast().Emit("relayed", e.Args.Values()...) })
		_ = s.Emit("ready") // the rooms are joined
	})
	return h
}

func adapterOf(ns *namespace.Namespace) *redis.Adapter { return ns.Adapter().(*redis.Adapter) }

func connect(t testing.TB, h *hub.Server, auth *testAuth) *hubtest.Socket {
	t.Helper()
	return connectParser(t, h, auth, hub.JSONParser)
}

// connectParser is connect for a client using parser (the hub's).
func connectParser(t testing.TB, h *hub.Server, auth *testAuth, parser hub.Parser) *hubtest.Socket {
	t.Helper()
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, &hubtest.DialOptions{Parser: parser})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var a any
	if auth != nil {
		a = auth
	}
	s, err := c.Connect(ctx, "/", a)
	require.NoError(t, err)
	_, err = s.Expect(ctx, "ready")
	require.NoError(t, err)
	return s
}

// next returns the name and first argument (as JSON) of the next event.
func next(t testing.TB, s *hubtest.Socket) (string, string) {
	t.Helper()
	ev, err := s.Next(testCtx(t))
	require.NoError(t, err)
	return ev.Name, string(ev.Args.Raw(0))
}

// expectOnly checks that the next event s receives is name (first
// argument arg): events published before it reached s first, so anything
// s should not have received would show up here.
func expectOnly(t testing.TB, s *hubtest.Socket, name, arg string) {
	t.Helper()
	gotName, gotArg := next(t, s)
	assert.Equal(t, name, gotName, "event")
	assert.JSONEq(t, arg, gotArg, "first argument of %q", gotName)
}

func TestBroadcastAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	h0, h1, h2 := newNode(t, srv, nil), newNode(t, srv, nil), newNode(t, srv, nil)
	a := connect(t, h0, &testAuth{Rooms: []string{"r", "q"}})
	b := connect(t, h1, &testAuth{Rooms: []string{"r"}})
	c := connect(t, h2, nil)
	all := []*hubtest.Socket{a, b, c}
	marker := func(from *hub.Server, n int) {
		require.NoError(t, from.Emit("marker", n))
	}

	t.Run("to a room, with binary", func(t *testing.T) {
		require.NoError(t, h0.To("r").Emit("news", "hi", []byte{0, 1, 2, 255}, map[string]any{"nested": []byte("bin")}))
		marker(h0, 1)
		for _, s := range []*hubtest.Socket{a, b} {
			ev, err := s.Next(testCtx(t))
			require.NoError(t, err)
			require.Equal(t, "news", ev.Name)
			var text string
			var bin []byte
			var nested struct{ Nested []byte }
			require.NoError(t, ev.Args.Scan(&text, &bin, &nested))
			assert.Equal(t, "hi", text)
			assert.Equal(t, []byte{0, 1, 2, 255}, bin)
			assert.Equal(t, []byte("bin"), nested.Nested)
		}
		for _, s := range all {
			expectOnly(t, s, "marker", "1")
		}
	})

	t.Run("to several rooms, except a room", func(t *testing.T) {
		require.NoError(t, h2.Of("/").To("r", "q").Except("q").Emit("news", "rq-q"))
		marker(h2, 2)
		expectOnly(t, b, "news", `"rq-q"`)
		for _, s := range all {
			expectOnly(t, s, "marker", "2")
		}
	})

	t.Run("to everyone except a room", func(t *testing.T) {
		require.NoError(t, h1.Of("/").Except("r").Emit("news", "not-r"))
		marker(h1, 3)
		expectOnly(t, c, "news", `"not-r"`)
		for _, s := range all {
			expectOnly(t, s, "marker", "3")
		}
	})

	t.Run("to one socket by id on another node", func(t *testing.T) {
		require.NoError(t, h0.To(c.ID()).Emit("news", "just-c"))
		marker(h0, 4)
		expectOnly(t, c, "news", `"just-c"`)
		for _, s := range all {
			expectOnly(t, s, "marker", "4")
		}
	})

	t.Run("socket broadcast leaves the sender out", func(t *testing.T) {
		require.NoError(t, b.Emit("relay", "from-b"))
		expectOnly(t, a, "relayed", `"from-b"`)
		expectOnly(t, c, "relayed", `"from-b"`)
		marker(h1, 5)
		for _, s := range all {
			expectOnly(t, s, "marker", "5")
		}
	})

	t.Run("local broadcast stays on its node", func(t *testing.T) {
		require.NoError(t, h0.Of("/").All().Local().Emit("news", "local"))
		// Received before the volatile broadcast, which is dropped for a
		// client with frames still waiting.
		expectOnly(t, a, "news", `"local"`)
		require.NoError(t, h0.Of("/").All().Volatile().Emit("news", "volatile"))
		marker(h0, 6)
		for _, s := range all {
			expectOnly(t, s, "news", `"volatile"`)
			expectOnly(t, s, "marker", "6")
		}
	})
}

func TestRoomOperationsAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	h0, h1, h2 := newNode(t, srv, nil), newNode(t, srv, nil), newNode(t, srv, nil)
	gone := make(chan string, 4)
	h1.OnConnection(func(s *namespace.Socket) { s.OnDisconnect(func(string) { gone <- s.ID() }) })
	a := connect(t, h0, &testAuth{Rooms: []string{"r"}})
	b := connect(t, h1, &testAuth{Rooms: []string{"r"}})
	c := connect(t, h2, nil)
	ctx := testCtx(t)

	roomsOf := func(id string) []string {
		socks, err := h2.Of("/").FetchSockets(ctx)
		require.NoError(t, err)
		for _, s := range socks {
			if s.ID == id {
				return s.Rooms
			}
		}
		t.Fatalf("socket %s not found", id)
		return nil
	}

	// h0 makes the sockets in r (a here, b on h1) join x and y.
	require.NoError(t, h0.Of("/").In("r").SocketsJoin("x", "y"))
	// h2's broadcast is published after the join request, so every node
	// has applied the join when it arrives.
	require.NoError(t, h2.To("x").Emit("news", "x"))
	expectOnly(t, a, "news", `"x"`)
	expectOnly(t, b, "news", `"x"`)
	assert.ElementsMatch(t, []string{b.ID(), "r", "x", "y"}, roomsOf(b.ID()))
	assert.Equal(t, []string{"r", "x", "y"}, h1.Of("/").Adapter().RoomNames())

	// One socket by id, from a node that is not its own.
	require.NoError(t, h2.Of("/").In(a.ID()).SocketsLeave("y"))
	require.NoError(t, h1.Of("/").In(c.ID()).SocketsJoin("y"))
	// (From h1, after its join request: local deliveries on the publishing
	// node are not ordered with requests from other nodes.)
	require.NoError(t, h1.To("y").Emit("news", "y"))
	expectOnly(t, b, "news", `"y"`)
	expectOnly(t, c, "news", `"y"`)
	assert.ElementsMatch(t, []string{a.ID(), "r", "x"}, roomsOf(a.ID()))

	// Disconnect everyone in x except a: b goes, on h1.
	require.NoError(t, h2.Of("/").In("x").Except(a.ID()).DisconnectSockets(false))
	select {
	case <-b.Disconnected():
		assert.Equal(t, "io server disconnect", b.Reason())
	case <-ctx.Done():
		t.Fatal("b was not disconnected")
	}
	assert.Equal(t, b.ID(), <-gone, "b is gone on its node")
	socks, err := h0.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	ids := make([]string, 0, len(socks))
	for _, s := range socks {
		ids = append(ids, s.ID)
	}
	assert.ElementsMatch(t, []string{a.ID(), c.ID()}, ids)

	// RemoteSocket methods act across nodes too.
	for _, s := range socks {
		if s.ID == c.ID() {
			require.NoError(t, s.Emit("direct", "to-c"))
			require.NoError(t, s.Disconnect(true))
		}
	}
	expectOnly(t, c, "direct", `"to-c"`)
	select {
	case <-c.Disconnected():
	case <-ctx.Done():
		t.Fatal("c was not disconnected")
	}
}

func TestFetchSocketsAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	h0, h1 := newNode(t, srv, nil), newNode(t, srv, nil)
	a := connect(t, h0, &testAuth{Rooms: []string{"r"}, Data: map[string]any{"name": "ann"}})
	b := connect(t, h1, &testAuth{Rooms: []string{"r", "s"}, Data: map[string]any{"name": "bob"}})
	c := connect(t, h1, nil)
	ctx := testCtx(t)

	socks, err := h0.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	byID := map[string]namespace.RemoteSocket{}
	for _, s := range socks {
		byID[s.ID] = s
	}
	require.Len(t, byID, 3)
	rb := byID[b.ID()]
	assert.Equal(t, "/", rb.Namespace)
	assert.Equal(t, []string{b.ID(), "r", "s"}, rb.Rooms)
	assert.JSONEq(t, `{"name":"bob"}`, string(rb.Data))
	var hs struct {
		Address string          `json:"address"`
		Auth    json.RawMessage `json:"auth"`
	}
	require.NoError(t, json.Unmarshal(rb.Handshake, &hs))
	assert.Equal(t, "127.0.0.1", hs.Address)
	assert.JSONEq(t, `{"rooms":["r","s"],"data":{"name":"bob"}}`, string(hs.Auth))
	assert.JSONEq(t, `{"name":"ann"}`, string(byID[a.ID()].Data))
	assert.Equal(t, "null", string(byID[c.ID()].Data))

	// With rooms and exceptions.
	socks, err = h1.Of("/").In("r").Except("s").FetchSockets(ctx)
	require.NoError(t, err)
	require.Len(t, socks, 1)
	assert.Equal(t, a.ID(), socks[0].ID)

	// Local: this node's only.
	socks, err = h1.Of("/").All().Local().FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, socks, 2)

	n, err := adapterOf(h0.Of("/")).ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	rooms, err := adapterOf(h0.Of("/")).AllRooms(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a.ID(), b.ID(), c.ID(), "r", "s"}, rooms)
}

// A node that never answers: a subscriber of the request channel (so it
// counts as a node) that does nothing.
func silentNode(t testing.TB, srv *redisServer, nsp string) {
	t.Helper()
	rdb := srv.Client(t)
	ps := rdb.Subscribe(testCtx(t), "socket.io-request#"+nsp+"#")
	t.Cleanup(func() { _ = ps.Close() })
	_, err := ps.Receive(testCtx(t)) // the subscription confirmation
	require.NoError(t, err)
}

func TestRequestsTimeOutWhenANodeIsSilent(t *testing.T) {
	srv := startRedis(t)
	opts := &redis.Options{RequestTimeout: time.Second}
	h0, h1 := newNode(t, srv, opts), newNode(t, srv, opts)
	connect(t, h0, nil)
	b := connect(t, h1, nil)
	silentNode(t, srv, "/")
	ctx := testCtx(t)

	start := time.Now()
	_, err := h0.Of("/").FetchSockets(ctx)
	require.ErrorIs(t, err, redis.ErrTimeout)
	assert.Contains(t, err.Error(), "1 of 2 nodes answered")
	assert.Less(t, time.Since(start), 5*time.Second)
	infos, err := adapterOf(h0.Of("/")).FetchSockets(ctx, room.Options{})
	require.ErrorIs(t, err, redis.ErrTimeout)
	assert.Len(t, infos, 2, "the answers received come with the error")

	_, err = h0.Of("/").ServerSideEmitWithAck(ctx, "anyone")
	require.ErrorIs(t, err, redis.ErrTimeout)

	go func() {
		ev, err := b.Expect(ctx, "question")
		if err == nil {
			_ = ev.Ack("answer")
		}
	}()
	_, err = h0.Of("/").EmitWithAck(ctx, "question")
	require.ErrorIs(t, err, redis.ErrTimeout)

	// ctx ending first is reported as ctx's error.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = h0.Of("/").FetchSockets(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestEmitWithAckAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	h0, h1, h2 := newNode(t, srv, nil), newNode(t, srv, nil), newNode(t, srv, nil)
	socks := []*hubtest.Socket{
		connect(t, h0, &testAuth{Rooms: []string{"r"}}),
		connect(t, h1, &testAuth{Rooms: []string{"r"}}),
		connect(t, h1, &testAuth{Rooms: []string{"r"}}),
		connect(t, h2, nil),
	}
	ctx := testCtx(t)

	var wg sync.WaitGroup
	answer := func(s *hubtest.Socket, i int, silent bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev, err := s.Expect(ctx, "question")
			if !assert.NoError(t, err) || silent {
				return
			}
			var n int
			assert.NoError(t, ev.Args.Decode(0, &n))
			assert.NoError(t, ev.Ack(fmt.Sprintf("answer-%d", i), n*10, []byte{byte(i)}))
		}()
	}
	for i, s := range socks[:3] {
		answer(s, i, false)
	}
	replies, err := h2.To("r").EmitWithAck(ctx, "question", 7)
	require.NoError(t, err)
	wg.Wait()
	got := make([]string, 0, len(replies))
	for _, r := range replies {
		var text string
		var n int
		var bin []byte
		require.NoError(t, r.Scan(&text, &n, &bin))
		assert.Equal(t, 70, n)
		assert.Equal(t, []byte{text[len(text)-1] - '0'}, bin, "binary answer of %s", text)
		got = append(got, text)
	}
	assert.ElementsMatch(t, []string{"answer-0", "answer-1", "answer-2"}, got)

	// One socket does not answer: the others' replies come with ctx's error.
	for i, s := range socks {
		answer(s, i, i == 3)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	replies, err = h0.Of("/").EmitWithAck(short, "question", 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Len(t, replies, 3)
	wg.Wait()
}

func TestServerSideEmit(t *testing.T) {
	srv := startRedis(t)
	h0, h1, h2 := newNode(t, srv, nil), newNode(t, srv, nil), newNode(t, srv, nil)
	got := make(chan string, 10)
	for i, h := range []*hub.Server{h0, h1, h2} {
		h.Of("/").OnServerSideEmit("hello", func(e *namespace.Event) {
			var who string
			var n int
			_ = e.Args.Scan(&who, &n)
			got <- fmt.Sprintf("%d:%s:%d", i, who, n)
		})
		h.Of("/").OnServerSideEmit("load", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(i, "node")
			}
		})
	}
	ctx := testCtx(t)

	require.NoError(t, h0.Of("/").ServerSideEmit("hello", "h0", 42))
	var received []string
	for range 2 {
		select {
		case s := <-got:
			received = append(received, s)
		case <-ctx.Done():
			t.Fatal("server-side event not received")
		}
	}
	assert.ElementsMatch(t, []string{"1:h0:42", "2:h0:42"}, received, "every other node, not the sender")

	replies, err := h1.Of("/").ServerSideEmitWithAck(ctx, "load")
	require.NoError(t, err)
	var nodes []int
	for _, r := range replies {
		var n int
		var word string
		require.NoError(t, r.Scan(&n, &word))
		assert.Equal(t, "node", word)
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	assert.Equal(t, []int{0, 2}, nodes)

	err = h0.Of("/").ServerSideEmit("connection")
	require.ErrorIs(t, err, namespace.ErrReservedEvent)

	// Namespaces are separate.
	h1.Of("/other").OnServerSideEmit("hello", func(*namespace.Event) { got <- "other" })
	h0.Of("/other")
	require.NoError(t, h0.Of("/other").ServerSideEmit("hello", "x", 1))
	require.NoError(t, h0.Of("/").ServerSideEmit("hello", "h0", 2))
	received = received[:0]
	for range 3 {
		received = append(received, <-got)
	}
	assert.ElementsMatch(t, []string{"other", "1:h0:2", "2:h0:2"}, received)
}

func TestNamespacesAndDynamicNamespaces(t *testing.T) {
	srv := startRedis(t)
	h0, h1 := newNode(t, srv, nil), newNode(t, srv, nil)
	for _, h := range []*hub.Server{h0, h1} {
		h.OfFunc(func(name string, _ json.RawMessage) bool { return len(name) > 5 && name[:5] == "/dyn-" })
	}
	ctx := testCtx(t)
	dial := func(h *hub.Server, nsp string) *hubtest.Socket {
		c, err := hubtest.Dial(ctx, h, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		s, err := c.Connect(ctx, nsp, nil)
		require.NoError(t, err)
		return s
	}
	root1 := connect(t, h1, nil)
	h0.Of("/chat")
	h1.Of("/chat")
	chat1 := dial(h1, "/chat")
	dyn1 := dial(h1, "/dyn-1")
	dyn0 := dial(h0, "/dyn-1") // creates the instance on h0 too

	require.NoError(t, h0.Of("/chat").Emit("news", "chat"))
	require.NoError(t, h0.Of("/dyn-1").Emit("news", "dyn"))
	require.NoError(t, h0.Emit("news", "root"))
	expectOnly(t, chat1, "news", `"chat"`)
	expectOnly(t, dyn1, "news", `"dyn"`)
	expectOnly(t, dyn0, "news", `"dyn"`)
	expectOnly(t, root1, "news", `"root"`)
}

// An instance of a dynamic namespace left by its last socket is removed
// (its adapter unsubscribes); a new instance of the same name on the same
// node subscribes again and gets the other nodes' broadcasts.
func TestDynamicInstanceReclaimedAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	h0, h1 := newNode(t, srv, nil), newNode(t, srv, nil)
	var dyn1 *namespace.Namespace
	for i, h := range []*hub.Server{h0, h1} {
		d := h.OfRegexp(regexp.MustCompile(`^/game-\d+$`))
		if i == 1 {
			dyn1 = d
		}
	}
	h1.Of("/settle")
	ctx := testCtx(t)
	c1, err := hubtest.Dial(ctx, h1, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c1.Close() })
	for round := range 3 {
		s, err := c1.Connect(ctx, "/game-1", nil)
		require.NoError(t, err)
		require.NoError(t, h1.Of("/game-1").Adapter().(*redis.Adapter).Ready(ctx))
		require.NoError(t, h0.Of("/game-1").Emit("news", round))
		expectOnly(t, s, "news", strconv.Itoa(round))
		require.NoError(t, s.Disconnect())
		settle, err := c1.Connect(ctx, "/settle", nil) // handled after the DISCONNECT
		require.NoError(t, err)
		require.NoError(t, settle.Disconnect())
		require.Empty(t, dyn1.Children(), "round %d: the empty instance is removed", round)
	}
}

func TestAdapterClose(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client(t)
	factory := redis.New(rdb, &redis.Options{Logger: quiet})
	ns := hub.New(&hub.Options{Adapter: factory, Logger: quiet}).Of("/")
	a := adapterOf(ns)
	ctx := testCtx(t)
	require.NoError(t, a.Ready(ctx))
	n, err := a.ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, a.Close())
	require.NoError(t, a.Close(), "closing twice is fine")
	assert.ErrorIs(t, a.Broadcast(ctx, &room.Packet{Namespace: "/", Data: json.RawMessage(`["x"]`)}, room.Options{}), room.ErrClosed)
	_, err = a.FetchSockets(ctx, room.Options{})
	assert.ErrorIs(t, err, room.ErrClosed)
	assert.ErrorIs(t, a.ServerSideEmit(ctx, json.RawMessage(`["x"]`)), room.ErrClosed)

	// A factory is for one hub; given to a second, it makes a second node.
	ns2 := hub.New(&hub.Options{Adapter: factory, Logger: quiet}).Of("/")
	ns3 := hub.New(&hub.Options{Adapter: factory, Logger: quiet}).Of("/")
	t.Cleanup(func() { _ = ns2.Adapter().Close(); _ = ns3.Adapter().Close() })
	assert.NotEqual(t, adapterOf(ns2).UID(), adapterOf(ns3).UID())
	n, err = adapterOf(ns2).ServerCount(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	// No client: the namespace stays local.
	ns4 := hub.New(&hub.Options{Adapter: redis.New(nil, &redis.Options{Logger: quiet}), Logger: quiet}).Of("/")
	_, isRedis := ns4.Adapter().(*redis.Adapter)
	assert.False(t, isRedis)
}

func TestRedisRestart(t *testing.T) {
	srv := startRedis(t)
	logs := watchLog{msgs: make(chan string, 64)}
	h0 := newNode(t, srv, &redis.Options{RequestTimeout: 500 * time.Millisecond, Logger: slog.New(logs)})
	logs1 := watchLog{msgs: make(chan string, 64)}
	h1 := newNode(t, srv, &redis.Options{RequestTimeout: 500 * time.Millisecond, Logger: slog.New(logs1)})
	a := connect(t, h0, nil)
	b := connect(t, h1, nil)
	ctx := testCtx(t)

	require.NoError(t, h0.Emit("news", "before"))
	expectOnly(t, a, "news", `"before"`)
	expectOnly(t, b, "news", `"before"`)

	srv.Kill()
	waitLog(t, logs, "Redis unreachable")
	waitLog(t, logs1, "Redis unreachable") // else h1 could look ready before it saw the outage
	err := h0.Emit("news", "during")
	require.ErrorIs(t, err, redis.ErrUnavailable, "publishing without Redis fails")
	expectOnly(t, a, "news", `"during"`) // local clients still get it
	_, err = h0.Of("/").FetchSockets(ctx)
	require.Error(t, err)

	srv.Restart(t)
	for _, h := range []*hub.Server{h0, h1} {
		require.NoError(t, adapterOf(h.Of("/")).Ready(ctx), "resubscribed after the restart")
	}
	require.NoError(t, h0.Emit("news", "after"))
	expectOnly(t, a, "news", `"after"`)
	expectOnly(t, b, "news", `"after"`)
	require.NoError(t, h1.Emit("news", "after-1"))
	expectOnly(t, a, "news", `"after-1"`)
	expectOnly(t, b, "news", `"after-1"`)
	socks, err := h0.Of("/").FetchSockets(ctx)
	require.NoError(t, err)
	assert.Len(t, socks, 2)
}

// The adapter's goroutines end when the hub shuts down (goleak checks at
// the end), also when it never reached Redis.
func TestNoRedisAtAll(t *testing.T) {
	requireRedis(t)
	port, err := freePort()
	require.NoError(t, err)
	rdb := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	start := time.Now()
	logs := watchLog{msgs: make(chan string, 64)}
	h := hub.New(&hub.Options{Adapter: redis.New(rdb, &redis.Options{RequestTimeout: 200 * time.Millisecond, Logger: slog.New(logs)}), Logger: quiet})
	assert.Less(t, time.Since(start), 3*time.Second, "hub.New waits RequestTimeout at most")
	h.OnConnection(func(s *namespace.Socket) { _ = s.Emit("ready") })
	a := connect(t, h, nil)
	// Once the node knows Redis is unreachable, Emit fails at once (before,
	// a message is queued and its failure only counted).
	waitLog(t, logs, "Redis unreachable")
	err = h.Emit("news", "x")
	require.Error(t, err)
	expectOnly(t, a, "news", `"x"`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))
}

// watchLog is a slog handler that reports the messages it sees.
type watchLog struct{ msgs chan string }

func (w watchLog) Enabled(context.Context, slog.Level) bool { return true }
func (w watchLog) Handle(_ context.Context, r slog.Record) error {
	select {
	case w.msgs <- r.Message:
	default:
	}
	return nil
}
func (w watchLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w watchLog) WithGroup(string) slog.Handler      { return w }

// waitLog waits for a record whose message contains s.
func waitLog(t testing.TB, logs watchLog, s string) {
	t.Helper()
	ctx := testCtx(t)
	for {
		select {
		case m := <-logs.msgs:
			if strings.Contains(m, s) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no %q record", s)
		}
	}
}

// A subscription connection that stops answering (Redis paused) is
// replaced after two silent health-check intervals, and the cluster works
// afterwards.
func TestUnresponsiveConnectionIsReplaced(t *testing.T) {
	srv := startRedis(t)
	logs := watchLog{msgs: make(chan string, 64)}
	h0 := newNode(t, srv, &redis.Options{HealthCheckInterval: 100 * time.Millisecond, Logger: slog.New(logs)})
	h1 := newNode(t, srv, nil)
	a := connect(t, h0, nil)
	ctx := testCtx(t)
	require.NoError(t, srv.Client(t).Do(ctx, "CLIENT", "PAUSE", "700", "ALL").Err())
	for replaced := false; !replaced; {
		select {
		case m := <-logs.msgs:
			replaced = strings.Contains(m, "replacing it")
		case <-ctx.Done():
			t.Fatal("the unresponsive connection was not replaced")
		}
	}
	require.NoError(t, adapterOf(h0.Of("/")).Ready(ctx))
	require.NoError(t, h1.Emit("news", "after"))
	expectOnly(t, a, "news", `"after"`)
}

// Room events report this node's rooms, as with the in-memory adapter;
// a room joined on another node (by a remote AddSockets) is this node's
// change there, not here.
func TestRoomEventsLocal(t *testing.T) {
	srv := startRedis(t)
	h0, h1 := newNode(t, srv, nil), newNode(t, srv, nil)
	events := make(chan room.Event, 16)
	require.NoError(t, h0.Of("/").OnRoomEvent(func(e room.Event) {
		if e.Room != "" && e.Room[0] == 'r' { // the test's rooms, not the sockets' own
			events <- e
		}
	}))
	a := connect(t, h0, &testAuth{Rooms: []string{"r1"}})
	assert.Equal(t, room.Event{Kind: room.CreateRoom, Room: "r1"}, <-events)
	assert.Equal(t, room.Event{Kind: room.JoinRoom, Room: "r1", ID: a.ID()}, <-events)
	connect(t, h1, &testAuth{Rooms: []string{"r1"}})
	require.NoError(t, h1.Of("/").In("r1").SocketsJoin("r2")) // a, on h0, joins too
	assert.Equal(t, room.Event{Kind: room.CreateRoom, Room: "r2"}, <-events)
	assert.Equal(t, room.Event{Kind: room.JoinRoom, Room: "r2", ID: a.ID()}, <-events)
	select {
	case e := <-events:
		t.Fatalf("unexpected %+v: the other node's socket is not in this node's rooms", e)
	default:
	}
}
