package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func client(ctx context.Context, t *testing.T, h *hub.Server) (*hubtest.Conn, *hubtest.Socket) {
	t.Helper()
	conn, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	s, err := conn.Connect(ctx, "/", nil)
	require.NoError(t, err)
	_, err = s.Expect(ctx, "new message") // the greeting
	require.NoError(t, err)
	return conn, s
}

func call(ctx context.Context, t *testing.T, s *hubtest.Socket, event string, arg any) result {
	t.Helper()
	a, err := s.EmitWithAck(ctx, event, arg)
	require.NoError(t, err, event)
	var r result
	require.NoError(t, a.Decode(0, &r))
	return r
}

func pending(s *hubtest.Socket) []string {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var names []string
	for {
		ev, err := s.Next(done)
		if err != nil {
			return names
		}
		names = append(names, ev.Name)
	}
}

// TestRooms checks the seed's room semantics: to the room = everyone in it
// but the sender; from the server = everyone in it.
func TestRooms(t *testing.T) {
	h := hub.New(nil)
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	register(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, a := client(ctx, t, h)
	bConn, b := client(ctx, t, h)
	_, c := client(ctx, t, h) // never joins

	assert.Equal(t, result{OK: true, Room: "room one", Members: 1}, call(ctx, t, a, "join", "room one"))
	assert.Equal(t, result{OK: true, Room: "room one", Members: 2}, call(ctx, t, b, "join", "room one"))
	ev, err := a.Expect(ctx, "room event")
	require.NoError(t, err)
	var re roomEvent
	require.NoError(t, ev.Args.Decode(0, &re))
	assert.Equal(t, roomEvent{Event: "joined", ID: b.ID(), Room: "room one", Members: 2}, re)
	assert.False(t, call(ctx, t, c, "join", a.ID()).OK, "joined another socket's own room")

	assert.True(t, call(ctx, t, a, "new messages", roomMessage{Room: "room one", Message: "hi"}).OK)
	ev, err = b.Expect(ctx, "new messages")
	require.NoError(t, err)
	var m roomMessage
	require.NoError(t, ev.Args.Decode(0, &m))
	assert.Equal(t, roomMessage{Room: "room one", Message: "hi", From: a.ID()}, m)

	assert.Equal(t, result{OK: true, Room: "room one", Members: 2}, call(ctx, t, c, "greet room", "room one"))
	for _, s := range []*hubtest.Socket{a, b} {
		ev, err := s.Expect(ctx, "receive message")
		require.NoError(t, err)
		assert.Equal(t, `"hello, users in room one"`, string(ev.Args.Raw(0)))
	}
	assert.Empty(t, pending(a), "the sender got its own room message")
	assert.Empty(t, pending(b))
	assert.Empty(t, pending(c), "a socket outside the room heard it")

	assert.Equal(t, result{OK: true, Room: "room one", Members: 1}, call(ctx, t, b, "leave", "room one"))
	_, err = a.Expect(ctx, "room event")
	require.NoError(t, err)
	assert.True(t, call(ctx, t, a, "new messages", roomMessage{Room: "room one", Message: "gone?"}).OK)
	call(ctx, t, b, "greet room", "room two") // a round trip for b
	assert.Empty(t, pending(b), "b heard the room after leaving")

	// Leaving by disconnecting tells the room.
	call(ctx, t, b, "join", "room one")
	_, err = a.Expect(ctx, "room event")
	require.NoError(t, err)
	require.NoError(t, bConn.Close())
	ev, err = a.Expect(ctx, "room event")
	require.NoError(t, err)
	require.NoError(t, ev.Args.Decode(0, &re))
	assert.Equal(t, roomEvent{Event: "left", ID: b.ID(), Room: "room one", Members: 1, Reason: "transport close"}, re)
}
