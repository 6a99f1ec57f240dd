package namespace_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
)

// eventsHub is a quiet hub whose main namespace runs setup for every
// socket; it is shut down with the test.
func eventsHub(t *testing.T, setup func(s *namespace.Socket)) *hub.Server {
	t.Helper()
	h := hub.New(&hub.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	if setup != nil {
		h.OnConnection(setup)
	}
	return h
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dialSocket connects a hubtest client to h's main namespace.
func dialSocket(t *testing.T, h *hub.Server) (*hubtest.Conn, *hubtest.Socket) {
	t.Helper()
	ctx := testContext(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Connect(ctx, "/", nil)
	require.NoError(t, err)
	return c, s
}

// recorder collects strings from handlers running on the server.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func TestListenersOrderOnceOff(t *testing.T) {
	var rec recorder
	h := eventsHub(t, func(s *namespace.Socket) {
		s.On("x", func(*namespace.Event) { rec.add("a") })
		s.On("x", func(*namespace.Event) { rec.add("b") })
		s.Once("x", func(*namespace.Event) { rec.add("once") })
		s.On("y", func(*namespace.Event) { rec.add("y") })
		s.Once("y", func(*namespace.Event) { rec.add("y once") })
		s.On("off all", func(*namespace.Event) { s.Off("x") })
	})
	c, s := dialSocket(t, h)
	ctx := testContext(t)
	for _, ev := range []string{"x", "x", "y", "y", "off all", "x"} {
		require.NoError(t, s.Emit(ev))
	}
	require.NoError(t, c.Sync(ctx))
	assert.Equal(t, []string{"a", "b", "once", "a", "b", "y", "y once", "y"}, rec.take(),
		"every listener, in registration order; Once runs once; Off(event) removes them all")
}

// TestDisconnectListenersOff: disconnect and disconnecting listeners run in
// order, and Listener.Off removes one of them (socket.io:
// socket.off("disconnect", fn)).
func TestDisconnectListenersOff(t *testing.T) {
	var rec recorder
	done := make(chan struct{})
	h := eventsHub(t, func(s *namespace.Socket) {
		s.OnDisconnecting(func(string) { rec.add("disconnecting 1") })
		off := s.OnDisconnecting(func(string) { rec.add("disconnecting 2") })
		s.OnDisconnect(func(r string) { rec.add("disconnect 1: " + r) })
		gone := s.OnDisconnect(func(string) { rec.add("disconnect 2") })
		s.OnDisconnect(func(string) { close(done) })
		s.On("off", func(*namespace.Event) {
			rec.add(fmt.Sprint(off.Off(), gone.Off(), gone.Off()))
		})
	})
	c, s := dialSocket(t, h)
	ctx := testContext(t)
	require.NoError(t, s.Emit("off"))
	require.NoError(t, c.Sync(ctx))
	require.NoError(t, s.Disconnect())
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the disconnect listeners did not run")
	}
	assert.Equal(t, []string{"true true false", "disconnecting 1", "disconnect 1: client namespace disconnect"}, rec.take())
}

func TestNilHandlersRefusedAtRegistration(t *testing.T) {
	ns := newNS("/", &nsConfig{Logger: slog.New(slog.DiscardHandler)})
	var sock *namespace.Socket
	ns.OnConnection(func(s *namespace.Socket) { sock = s })
	_, _ = connectOne(t, &recordConn{}, namespace.Handshake{}, "", func(s *namespace.Socket) { sock = s })
	require.NotNil(t, sock)
	for _, tc := range []struct {
		name string
		reg  func()
	}{
		{"On", func() { sock.On("e", nil) }},
		{"Once", func() { sock.Once("e", nil) }},
		{"OnAny", func() { sock.OnAny(nil) }},
		{"PrependAny", func() { sock.PrependAny(nil) }},
		{"OnAnyOutgoing", func() { sock.OnAnyOutgoing(nil) }},
		{"Use", func() { sock.Use(nil) }},
		{"OnError", func() { sock.OnError(nil) }},
		{"OnDisconnect", func() { sock.OnDisconnect(nil) }},
		{"OnDisconnecting", func() { sock.OnDisconnecting(nil) }},
		{"Handle", func() { namespace.Handle[int](sock, "e", nil) }},
		{"HandleAck", func() { namespace.HandleAck[int, int](sock, "e", nil) }},
		{"OnServerSideEmit", func() { ns.OnServerSideEmit("e", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, "namespace: "+tc.name+": nil handler", tc.reg)
		})
	}
	assert.Equal(t, 0, sock.Listeners("e"), "nothing was registered")
}

type point struct {
	X, Y int
}

type shape struct {
	Name   string
	Origin point
}

func TestTypedHandlers(t *testing.T) {
	var rec recorder
	h := eventsHub(t, func(s *namespace.Socket) {
		namespace.Handle(s, "move", func(ctx context.Context, p point) error {
			require.NoError(t, ctx.Err())
			rec.add("move")
			if p.X < 0 {
				return errors.New("off the board")
			}
			return nil
		})
		namespace.HandleAck(s, "area", func(_ context.Context, sh shape) (int, error) {
			return sh.Origin.X * sh.Origin.Y, nil
		})
		namespace.HandleAck(s, "binary", func(_ context.Context, b []byte) (int, error) { return len(b), nil })
		namespace.HandleAck(s, "unencodable", func(context.Context, int) (func(), error) { return func() {}, nil })
	})
	_, s := dialSocket(t, h)
	ctx := testContext(t)

	for _, tc := range []struct {
		name  string
		event string
		args  []any
		want  string // the ack's first argument, as JSON
	}{
		{"success, no result", "move", []any{point{1, 2}}, ``},
		{"handler error", "move", []any{point{-1, 2}}, `{"error":"off the board"}`},
		{"wrong field type", "move", []any{map[string]any{"X": "one"}}, `{"error":"namespace: argument 0 (point.X): want number, got string"}`},
		{"wrong nested field", "area", []any{map[string]any{"Origin": map[string]any{"Y": true}}}, `{"error":"namespace: argument 0 (shape.Origin.Y): want number, got boolean"}`},
		{"wrong argument", "area", []any{"a string"}, `{"error":"namespace: argument 0: want object, got string"}`},
		{"result", "area", []any{shape{Origin: point{3, 4}}}, `12`},
		{"missing argument: zero value", "area", nil, `0`},
		{"binary", "binary", []any{[]byte{1, 2, 3}}, `3`},
		{"result that cannot be encoded", "unencodable", []any{1}, `{"error":"namespace: ack: socketio: unsupported value: json: unsupported type: func()"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := s.EmitWithAck(ctx, tc.event, tc.args...)
			require.NoError(t, err, "the client's ack is answered, never left to time out")
			assert.Equal(t, tc.want, string(reply.Raw(0)))
		})
	}
	assert.Len(t, rec.take(), 2, "the handler does not run for data that does not fit")
}

func TestEmitWithAckTyped(t *testing.T) {
	srv := make(chan *namespace.Socket, 1)
	h := eventsHub(t, func(s *namespace.Socket) { srv <- s })
	_, s := dialSocket(t, h)
	sock := <-srv
	ctx := testContext(t)

	type answer struct {
		n   int
		err error
	}
	for _, tc := range []struct {
		name  string
		reply any
		want  int
		err   bool
	}{
		{"fits", 42, 42, false},
		{"does not fit", "forty-two", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan answer, 1)
			go func() {
				n, err := namespace.EmitWithAck[int](ctx, sock, "count")
				got <- answer{n, err}
			}()
			ev, err := s.Expect(ctx, "count")
			require.NoError(t, err)
			require.NoError(t, ev.Ack(tc.reply))
			a := <-got
			assert.Equal(t, tc.want, a.n)
			if tc.err {
				var ae *namespace.ArgError
				require.ErrorAs(t, a.err, &ae)
				assert.Equal(t, "number", ae.Want)
			} else {
				assert.NoError(t, a.err)
			}
		})
	}
}

func TestSocketUse(t *testing.T) {
	var rec recorder
	errs := make(chan error, 4)
	h := eventsHub(t, func(s *namespace.Socket) {
		s.OnAny(func(e *namespace.Event) { rec.add("any " + e.Name) })
		s.Use(func(e *namespace.Event) error {
			rec.add("use " + e.Name)
			switch e.Name {
			case "forbidden":
				return errors.New("unauthorized event")
			case "crash":
				panic("middleware bug")
			}
			return nil
		})
		s.OnError(func(err error) { errs <- err })
		for _, name := range []string{"allowed", "forbidden", "crash"} {
			s.On(name, func(e *namespace.Event) {
				rec.add("handler " + e.Name)
				if e.Ack != nil {
					_ = e.Ack("ok")
				}
			})
		}
	})
	c, s := dialSocket(t, h)
	ctx := testContext(t)

	require.NoError(t, s.Emit("forbidden"))
	require.NoError(t, s.Emit("crash"))
	reply, err := s.EmitWithAck(ctx, "allowed")
	require.NoError(t, err)
	assert.Equal(t, `"ok"`, string(reply.Raw(0)))
	require.NoError(t, c.Sync(ctx))

	assert.Equal(t, []string{
		"any forbidden", "use forbidden",
		"any crash", "use crash",
		"any allowed", "use allowed", "handler allowed",
	}, rec.take())
	assert.EqualError(t, <-errs, "unauthorized event")
	err = <-errs
	assert.ErrorIs(t, err, namespace.ErrPanicked, "a panicking middleware refuses the event (fail closed)")
	select {
	case <-s.Disconnected():
		t.Fatal("a refused event does not disconnect the socket")
	default:
	}
}

func TestAnyListeners(t *testing.T) {
	var rec recorder
	srv := make(chan *namespace.Socket, 1)
	h := eventsHub(t, func(s *namespace.Socket) {
		first := s.OnAny(func(e *namespace.Event) { rec.add("1 " + e.Name) })
		s.OnAny(func(e *namespace.Event) { rec.add("2 " + e.Name) })
		s.PrependAny(func(e *namespace.Event) { rec.add("0 " + e.Name) })
		assert.Len(t, s.ListenersAny(), 3)
		s.On("drop first", func(*namespace.Event) { first.Off() })
		s.On("drop all", func(*namespace.Event) { s.OffAny() })
		srv <- s
	})
	c, s := dialSocket(t, h)
	sock := <-srv
	ctx := testContext(t)
	for _, ev := range []string{"a", "drop first", "b", "drop all", "c"} {
		require.NoError(t, s.Emit(ev))
	}
	require.NoError(t, c.Sync(ctx))
	assert.Equal(t, []string{
		"0 a", "1 a", "2 a",
		"0 drop first", "1 drop first", "2 drop first",
		"0 b", "2 b",
		"0 drop all", "2 drop all",
	}, rec.take())
	assert.Empty(t, sock.ListenersAny())
}

func TestAnyOutgoing(t *testing.T) {
	var rec recorder
	srv := make(chan *namespace.Socket, 2)
	h := eventsHub(t, func(s *namespace.Socket) {
		s.Join("room")
		srv <- s
	})
	_, a := dialSocket(t, h)
	_, b := dialSocket(t, h)
	sa, sb := <-srv, <-srv
	if sa.ID() != a.ID() {
		sa, sb = sb, sa
	}
	ctx := testContext(t)

	sa.OnAnyOutgoing(func(e *namespace.Event) { rec.add("a " + e.Name + " " + string(e.Args.Raw(0))) })
	sa.PrependAnyOutgoing(func(e *namespace.Event) { rec.add("a first " + e.Name) })
	sb.OnAnyOutgoing(func(e *namespace.Event) {
		if e.Name == "boom" {
			panic("outgoing listener bug")
		}
	})
	assert.Len(t, sa.ListenersAnyOutgoing(), 2)

	require.NoError(t, sa.Emit("direct", 1))
	require.NoError(t, h.To("room").Emit("broadcast", 2))
	_, err := a.Expect(ctx, "direct")
	require.NoError(t, err)
	_, err = a.Expect(ctx, "broadcast")
	require.NoError(t, err)
	assert.Equal(t, []string{"a first direct", "a direct 1", "a first broadcast", "a broadcast 2"}, rec.take(),
		"socket emits and the broadcasts reaching the socket")

	// A panicking outgoing listener stops the packet (fail closed).
	assert.ErrorIs(t, sb.Emit("boom"), namespace.ErrPanicked)
	require.NoError(t, h.To("room").Emit("boom"))
	_, err = a.Expect(ctx, "boom")
	require.NoError(t, err)
	assert.NoError(t, b.ExpectNone("boom", 50*time.Millisecond))

	sa.OffAnyOutgoing()
	require.NoError(t, sa.Emit("quiet"))
	_, err = a.Expect(ctx, "quiet")
	require.NoError(t, err)
	assert.Equal(t, []string{"a first boom", "a boom "}, rec.take())
	assert.Empty(t, sa.ListenersAnyOutgoing())
}

func TestJoinInMiddleware(t *testing.T) {
	h := eventsHub(t, nil)
	refuse := errors.New("not today")
	h.Use(func(s *namespace.Socket) error {
		s.Join("early", "vip")
		s.Leave("vip")
		var auth struct{ Refuse bool }
		_ = decodeAuth(s, &auth)
		if auth.Refuse {
			return refuse
		}
		return nil
	})
	inRooms := make(chan []string, 1)
	h.OnConnection(func(s *namespace.Socket) { inRooms <- s.Rooms() })
	ctx := testContext(t)

	// Refused: what it joined is left.
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Connect(ctx, "/", map[string]any{"Refuse": true})
	require.Error(t, err)
	assert.NotContains(t, h.Of("/").Adapter().RoomNames(), "early")

	// Admitted: the room exists when the client is told it is connected.
	_, s := dialSocket(t, h)
	rooms := <-inRooms
	assert.Equal(t, []string{s.ID(), "early"}, rooms)
	require.NoError(t, h.To("early").Emit("hello"))
	_, err = s.Expect(ctx, "hello")
	require.NoError(t, err)
	assert.True(t, slices.Contains(h.Of("/").Adapter().RoomNames(), "early"))
}

// decodeAuth decodes the socket's CONNECT payload into v.
func decodeAuth(s *namespace.Socket, v any) error {
	a, err := nsImpl.NewArgs(append(append([]byte("["), s.Handshake().Auth...), ']'), nil)
	if err != nil {
		return err
	}
	return a.Decode(0, v)
}

func TestNamespaceRoomEvents(t *testing.T) {
	h := eventsHub(t, func(s *namespace.Socket) { s.Join("lobby") })
	events := make(chan room.Event, 16)
	require.NoError(t, h.Of("/").OnRoomEvent(func(e room.Event) { events <- e }))
	c, s := dialSocket(t, h)
	assert.Equal(t, room.Event{Kind: room.CreateRoom, Room: "lobby"}, <-events)
	assert.Equal(t, room.Event{Kind: room.JoinRoom, Room: "lobby", ID: s.ID()}, <-events)
	require.NoError(t, c.Close())
	assert.Equal(t, room.Event{Kind: room.LeaveRoom, Room: "lobby", ID: s.ID()}, <-events)
	assert.Equal(t, room.Event{Kind: room.DeleteRoom, Room: "lobby"}, <-events)

	plain := newNS("/", &nsConfig{Adapter: func(l room.Local) room.Adapter { return struct{ room.Adapter }{room.NewMemory(l)} }})
	assert.ErrorIs(t, plain.OnRoomEvent(func(room.Event) {}), namespace.ErrNoRoomEvents)
}
