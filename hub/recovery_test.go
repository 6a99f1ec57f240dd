package hub_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
)

func TestConnectionStateRecovery(t *testing.T) {
	h := newHub(t, &hub.Options{ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: time.Minute}})
	servers := make(chan *namespace.Socket, 4)
	gone := make(chan string, 4)
	h.OnConnection(func(s *namespace.Socket) {
		if !s.Recovered() {
			s.Join("news")
			s.SetData("alice")
		}
		servers <- s
		s.OnDisconnect(func(reason string) { gone <- reason })
		_ = s.Emit("welcome", s.Recovered())
	})
	ctx := testCtx(t)
	conn, s1 := connect(t, h, "/", nil)
	<-servers
	_, err := s1.Expect(ctx, "welcome")
	require.NoError(t, err)
	require.NoError(t, h.To("news").Emit("item", 1))
	ev, err := s1.Expect(ctx, "item")
	require.NoError(t, err)
	assert.Equal(t, 2, ev.Args.Len(), "broadcasts carry their offset last")

	// The connection is cut; broadcasts go on meanwhile.
	require.NoError(t, conn.Close())
	assert.Equal(t, "transport close", <-gone)
	require.NoError(t, h.To("news").Emit("item", 2))
	require.NoError(t, h.To("elsewhere").Emit("item", 99))
	require.NoError(t, h.Emit("item", 3))
	require.NoError(t, h.Of("/").Except("news").Emit("item", 98))
	require.NoError(t, h.To("news").Except(s1.ID()).Emit("item", 97))
	require.NoError(t, h.To("elsewhere", s1.ID()).Emit("item", 4)) // its own id room

	conn2, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer conn2.Close()
	s2, err := conn2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	assert.True(t, s2.Recovered())
	assert.Equal(t, s1.ID(), s2.ID())
	srv := <-servers
	assert.True(t, srv.Recovered())
	assert.Contains(t, srv.Rooms(), "news")
	assert.Equal(t, "alice", srv.Data())
	for _, want := range []string{"2", "3", "4"} {
		ev, err := s2.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, "item", ev.Name)
		assert.Equal(t, want, string(ev.Args.Raw(0)), "missed broadcasts in order, only those meant for it")
	}
	ev, err = s2.Expect(ctx, "welcome")
	require.NoError(t, err)
	assert.Equal(t, "true", string(ev.Args.Raw(0)))
}

func TestRecoveryWindowExpires(t *testing.T) {
	h := newHub(t, &hub.Options{ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: 20 * time.Millisecond}})
	gone := make(chan struct{}, 2)
	h.OnConnection(func(s *namespace.Socket) { s.OnDisconnect(func(string) { gone <- struct{}{} }) })
	ctx := testCtx(t)
	conn, s1 := connect(t, h, "/", nil)
	require.NoError(t, h.Emit("item", 1))
	_, err := s1.Expect(ctx, "item")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	<-gone
	time.Sleep(40 * time.Millisecond) // let the recovery window pass: the window is what is under test
	conn2, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer conn2.Close()
	s2, err := conn2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	assert.False(t, s2.Recovered(), "after the window the client starts fresh and is told so")
	assert.NotEqual(t, s1.ID(), s2.ID())
}

func TestRecoveryNotForDeliberateDisconnects(t *testing.T) {
	h := newHub(t, &hub.Options{ConnectionStateRecovery: &namespace.Recovery{}})
	ctx := testCtx(t)
	conn, s1 := connect(t, h, "/", nil)
	require.NoError(t, h.Emit("item", 1))
	_, err := s1.Expect(ctx, "item")
	require.NoError(t, err)
	require.NoError(t, s1.Disconnect())
	s2, err := conn.Recover(ctx, s1, nil)
	require.NoError(t, err)
	assert.False(t, s2.Recovered())
}
