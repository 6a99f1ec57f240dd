package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client connects a new in-memory client to the main namespace.
func client(ctx context.Context, t *testing.T, h *hub.Server) (*hubtest.Conn, *hubtest.Socket) {
	t.Helper()
	conn, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	s, err := conn.Connect(ctx, "/", nil)
	require.NoError(t, err)
	return conn, s
}

// expect waits for event on s and decodes its first argument into a map.
func expect(ctx context.Context, t *testing.T, s *hubtest.Socket, event string) map[string]any {
	t.Helper()
	ev, err := s.Expect(ctx, event)
	require.NoError(t, err, event)
	var v map[string]any
	require.NoError(t, ev.Args.Decode(0, &v), event)
	return v
}

// pending returns the names of the events s has received and nobody took.
func pending(s *hubtest.Socket) []string {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	var names []string
	for {
		ev, err := s.Next(done)
		if err != nil {
			return names
		}
		names = append(names, ev.Name+" "+string(ev.Args.Raw(0)))
	}
}

func ackOf(ctx context.Context, t *testing.T, s *hubtest.Socket, event string, args ...any) map[string]any {
	t.Helper()
	a, err := s.EmitWithAck(ctx, event, args...)
	require.NoError(t, err, event)
	var v map[string]any
	require.NoError(t, a.Decode(0, &v))
	return v
}

// TestChat checks the seed's events and the classic chat demo's rules.
func TestChat(t *testing.T) {
	h := hub.New(nil)
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	h.OnConnection((&chat{}).connect)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, alice := client(ctx, t, h)
	g := expect(ctx, t, alice, "new message")
	assert.Equal(t, "initial message: welcome to the chat", g["mess"])
	assert.Equal(t, "server", g["username"])
	assert.Equal(t, g["mess"], g["message"])
	// A round trip: alice's connection handler (which runs before her
	// events) has finished, so bob will not hear of alice's arrival.
	assert.Equal(t, false, ackOf(ctx, t, alice, "new message", "")["ok"])

	bobConn, bob := client(ctx, t, h)
	expect(ctx, t, bob, "new message")
	p := expect(ctx, t, alice, "presence")
	assert.Equal(t, map[string]any{"event": "connected", "id": bob.ID(), "online": 2.0}, p)

	// add user → login to the sender, user joined to the others.
	require.NoError(t, alice.Emit("add user", "alice"))
	assert.Equal(t, map[string]any{"numUsers": 1.0}, expect(ctx, t, alice, "login"))
	assert.Equal(t, map[string]any{"username": "alice", "numUsers": 1.0}, expect(ctx, t, bob, "user joined"))
	require.NoError(t, bob.Emit("add user", "bob"))
	assert.Equal(t, map[string]any{"numUsers": 2.0}, expect(ctx, t, bob, "login"))
	assert.Equal(t, map[string]any{"username": "bob", "numUsers": 2.0}, expect(ctx, t, alice, "user joined"))
	require.NoError(t, bob.Emit("add user", "bob again")) // ignored: one name per socket

	// The seed's page: {message, time}, under either spelling; classic
	// clients: a string. The others get {username, message[, time]}.
	assert.Equal(t, map[string]any{"ok": true, "username": "alice"},
		ackOf(ctx, t, alice, "receive message", map[string]string{"message": " hi bob ", "time": "2024-01-02T03:04:05Z"}))
	assert.Equal(t, map[string]any{"username": "alice", "message": "hi bob", "time": "2024-01-02T03:04:05Z"}, expect(ctx, t, bob, "new message"))
	require.NoError(t, alice.Emit("recive message", map[string]string{"message": "seed spelling"}))
	assert.Equal(t, map[string]any{"username": "alice", "message": "seed spelling"}, expect(ctx, t, bob, "new message"))
	require.NoError(t, bob.Emit("new message", "hi alice"))
	assert.Equal(t, map[string]any{"username": "bob", "message": "hi alice"}, expect(ctx, t, alice, "new message"))

	for _, bad := range []any{42, "   ", strings.Repeat("x", maxMessage+1), map[string]any{"message": 1}} {
		assert.Equal(t, false, ackOf(ctx, t, alice, "new message", bad)["ok"], "%v", bad)
	}

	// typing / stop typing reach the others.
	require.NoError(t, bob.Emit("typing"))
	assert.Equal(t, map[string]any{"username": "bob"}, expect(ctx, t, alice, "typing"))
	require.NoError(t, bob.Emit("stop typing"))
	assert.Equal(t, map[string]any{"username": "bob"}, expect(ctx, t, alice, "stop typing"))

	// Nobody got their own messages back, and "bob again" got no login.
	_ = ackOf(ctx, t, bob, "new message", "sync")
	expect(ctx, t, alice, "new message")
	assert.Empty(t, pending(bob))
	assert.Empty(t, pending(alice))

	// A named user leaving: user left, then presence.
	require.NoError(t, bobConn.Close())
	assert.Equal(t, map[string]any{"username": "bob", "numUsers": 1.0}, expect(ctx, t, alice, "user left"))
	p = expect(ctx, t, alice, "presence")
	assert.Equal(t, "disconnected", p["event"])
	assert.Equal(t, bob.ID(), p["id"])
	assert.Equal(t, 1.0, p["online"])
}
