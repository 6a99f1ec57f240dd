package redis_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room/redis/emitter"
)

// The emitter reaches the sockets of Go hubs: rooms, exceptions, binary,
// room operations, disconnection and server-side events.
func TestEmitterReachesGoHubs(t *testing.T) {
	srv := startRedis(t)
	h0, h1 := newNode(t, srv, nil), newNode(t, srv, nil)
	side := make(chan string, 4)
	h1.Of("/").OnServerSideEmit("reload", func(e *namespace.Event) {
		var what string
		var n int
		_ = e.Args.Scan(&what, &n)
		side <- what + ":" + string(rune('0'+n))
	})
	a := connect(t, h0, &testAuth{Rooms: []string{"r", "q"}})
	b := connect(t, h1, &testAuth{Rooms: []string{"r"}})
	c := connect(t, h1, nil)
	ctx := testCtx(t)
	require.NoError(t, adapterOf(h0.Of("/")).Ready(ctx))
	require.NoError(t, adapterOf(h1.Of("/")).Ready(ctx))
	em := emitter.New(srv.Client(t), nil)

	// Everyone; later messages on the same Redis connection arrive after.
	require.NoError(t, em.Emit(ctx, "all", 1))
	expectOnly(t, a, "all", `1`)
	expectOnly(t, b, "all", `1`)
	expectOnly(t, c, "all", `1`)

	// One room (its own channel), with binary.
	require.NoError(t, em.To("r").Emit(ctx, "room", "r", []byte{1, 2, 255}))
	require.NoError(t, em.Emit(ctx, "marker", 1))
	ev, err := a.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "room", ev.Name)
	var got []byte
	require.NoError(t, ev.Args.Decode(1, &got))
	assert.Equal(t, []byte{1, 2, 255}, got, "binary argument")
	expectOnly(t, a, "marker", `1`)
	expectOnly(t, b, "room", `"r"`)
	expectOnly(t, b, "marker", `1`)
	expectOnly(t, c, "marker", `1`) // c is in no room

	// Several rooms, minus an exception; Volatile and Compress pass.
	require.NoError(t, em.To("r").To("q").Except("q").Volatile().Compress(false).Emit(ctx, "except", "x"))
	require.NoError(t, em.Emit(ctx, "marker", 2))
	expectOnly(t, a, "marker", `2`)
	expectOnly(t, b, "except", `"x"`)
	expectOnly(t, b, "marker", `2`)
	expectOnly(t, c, "marker", `2`)

	// SocketsJoin: c (not in r) and b join y; a later y broadcast reaches
	// them. SocketsLeave: c leaves it.
	require.NoError(t, em.In(c.ID()).SocketsJoin(ctx, "y"))
	require.NoError(t, em.In("r").Except("q").SocketsJoin(ctx, "y"))
	roomY := func(n int, members ...*hubtest.Socket) {
		require.NoError(t, em.To("y").Emit(ctx, "y", n))
		require.NoError(t, em.Emit(ctx, "marker", 10+n))
		for _, s := range []*hubtest.Socket{a, b, c} {
			if slices.Contains(members, s) {
				expectOnly(t, s, "y", fmt.Sprint(n))
			}
			expectOnly(t, s, "marker", fmt.Sprint(10+n))
		}
	}
	roomY(1, b, c)
	require.NoError(t, em.In(c.ID()).SocketsLeave(ctx, "y"))
	roomY(2, b)

	// Server-side events reach the hubs' handlers.
	require.NoError(t, em.ServerSideEmit(ctx, "reload", "cfg", 7))
	select {
	case s := <-side:
		assert.Equal(t, "cfg:7", s)
	case <-ctx.Done():
		t.Fatal("server-side event not received")
	}

	// Reserved names are refused.
	require.ErrorIs(t, em.Emit(ctx, "disconnect"), emitter.ErrReservedEvent)
	require.ErrorIs(t, em.ServerSideEmit(ctx, "connection"), emitter.ErrReservedEvent)

	// DisconnectSockets: everyone in r except a.
	require.NoError(t, em.In("r").Except(a.ID()).DisconnectSockets(ctx, false))
	select {
	case <-b.Disconnected():
		assert.Equal(t, "io server disconnect", b.Reason())
	case <-ctx.Done():
		t.Fatal("b was not disconnected")
	}
	require.NoError(t, em.Emit(ctx, "marker", 5))
	expectOnly(t, a, "marker", `5`)
	expectOnly(t, c, "marker", `5`)

	// Another namespace only.
	require.NoError(t, em.Of("other").Emit(ctx, "elsewhere"))
	require.NoError(t, em.Emit(ctx, "marker", 6))
	expectOnly(t, a, "marker", `6`)
}

// The emitter reaches the sockets of a Node.js socket.io server with
// @socket.io/redis-adapter (and of a Go hub beside it).
func TestEmitterReachesNodeServers(t *testing.T) {
	srv := startRedis(t)
	h := newNode(t, srv, nil)
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, web.URL)
	ctx := testCtx(t)
	require.NoError(t, adapterOf(h.Of("/")).Ready(ctx))
	em := emitter.New(srv.Client(t), nil)

	ids := map[string]string{}
	for _, c := range []struct {
		name, target string
		rooms        []string
	}{{"nA", "node", []string{"r"}}, {"nB", "node", nil}, {"gA", "go", []string{"r"}}} {
		var id string
		d.call(&id, "connect", map[string]any{"name": c.name, "target": c.target, "auth": map[string]any{"rooms": c.rooms}})
		ids[c.name] = id
		d.expect(c.name, "ready", "")
	}
	clients := []string{"nA", "nB", "gA"}
	// emit sends event to em's sockets, then a marker to everyone: those
	// in want get event first, and nobody else gets it.
	emit := func(em *emitter.Emitter, n int, want ...string) {
		t.Helper()
		require.NoError(t, em.Emit(ctx, "ev", n, []byte{byte(n), 255}))
		require.NoError(t, em.Of("/").Emit(ctx, "marker", n))
		for _, c := range clients {
			if slices.Contains(want, c) {
				l := d.expect(c, "ev", fmt.Sprint(n))
				require.Len(t, l.Args, 2)
				assert.JSONEq(t, bin([]byte{byte(n), 255}), string(l.Args[1]), "binary argument")
			}
			d.expect(c, "marker", fmt.Sprint(n))
		}
	}

	emit(em, 1, clients...)
	emit(em.To("r"), 2, "nA", "gA")
	emit(em.To("r").Except(ids["nA"]), 3, "gA")
	emit(em.To("r", ids["nB"]).Volatile().Compress(false), 4, clients...)

	require.NoError(t, em.In(ids["nB"]).SocketsJoin(ctx, "y"))
	emit(em.To("y"), 5, "nB")
	require.NoError(t, em.In("y").SocketsLeave(ctx, "y"))
	emit(em.To("y"), 6)

	require.NoError(t, em.ServerSideEmit(ctx, "go-hello", "from emitter"))
	select {
	case l := <-d.side:
		assert.JSONEq(t, `["from emitter"]`, string(mustJSON(t, l.Args)))
	case <-ctx.Done():
		t.Fatal("the Node server did not get the server-side event")
	}

	require.NoError(t, em.In("r").Except(ids["gA"]).DisconnectSockets(ctx, true))
	d.expect("nA", "$disconnect", `"io server disconnect"`)
	clients = []string{"nB", "gA"}
	emit(em, 7, clients...)
}
