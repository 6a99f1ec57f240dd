package hubtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/internal/leaktest"
	"github.com/go-realtime/realtime/namespace"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newHub returns a hub as the Hub interface: what Dial accepts.
func newHub(t *testing.T) (hub.Hub, *hub.Server) {
	h := hub.New(nil)
	t.Cleanup(func() { assert.NoError(t, h.Shutdown(context.Background())) })
	return h, h
}

// What the connection handlers do is done when Connect returns, and what
// an event's handler does is done when Sync returns: a broadcast right
// after reaches the room's new members, every time.
func TestConnectAndSyncWaitForHandlers(t *testing.T) {
	h, srv := newHub(t)
	release := make(chan struct{})
	srv.OnConnection(func(s *namespace.Socket) {
		<-release // a slow connection handler: Connect must wait for it
		s.Join("from-connect")
		namespace.Handle(s, "join", func(_ context.Context, room string) error { s.Join(room); return nil })
	})
	ctx := testCtx(t)
	for i := range 20 {
		c, err := hubtest.Dial(ctx, h, nil)
		require.NoError(t, err)
		connected := make(chan *hubtest.Socket)
		go func() {
			s, err := c.Connect(ctx, "/", nil)
			assert.NoError(t, err)
			connected <- s
		}()
		select {
		case <-connected:
			t.Fatal("Connect returned before the connection handler did")
		case release <- struct{}{}:
		}
		s := <-connected
		require.NoError(t, srv.To("from-connect").Emit("news", i))
		ev, err := s.Expect(ctx, "news")
		require.NoError(t, err)
		var n int
		require.NoError(t, ev.Args.Decode(0, &n))
		assert.Equal(t, i, n)

		require.NoError(t, s.Emit("join", "from-event"))
		require.NoError(t, c.Sync(ctx))
		require.NoError(t, srv.To("from-event").Emit("more", i))
		_, err = s.Expect(ctx, "more")
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}
}

func TestExpectMatchAndNone(t *testing.T) {
	h, srv := newHub(t)
	srv.OnConnection(func(s *namespace.Socket) {
		s.On("go", func(*namespace.Event) {
			_ = s.Emit("new message", map[string]string{"message": "first"})
			_ = s.Emit("new message", map[string]string{"message": "second"})
			_ = s.Emit("other", 1)
		})
	})
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	s, err := c.Connect(ctx, "/", nil)
	require.NoError(t, err)

	require.NoError(t, s.ExpectNone("", 20*time.Millisecond), "nothing sent yet")
	require.NoError(t, s.Emit("go"))
	require.NoError(t, c.Sync(ctx))
	message := func(want string) func(*hubtest.Event) bool {
		return func(e *hubtest.Event) bool {
			var m struct{ Message string }
			return e.Args.Decode(0, &m) == nil && m.Message == want
		}
	}
	ev, err := s.ExpectMatch(ctx, "new message", message("second"))
	require.NoError(t, err)
	assert.Equal(t, "new message", ev.Name)
	err = s.ExpectNone("other", 20*time.Millisecond)
	require.Error(t, err, "an event of that name is waiting")
	assert.Contains(t, err.Error(), `"other"`)
	ev, err = s.Next(ctx)
	require.NoError(t, err)
	assert.True(t, message("first")(ev), "events not matched stay queued, in order")
	_, err = s.Expect(ctx, "other")
	require.NoError(t, err)
	assert.NoError(t, s.ExpectNone("", 20*time.Millisecond))
}
