package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/leaktest"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newHub(t *testing.T, opts *hub.Options) *hub.Server {
	h := hub.New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, h.Shutdown(ctx))
	})
	return h
}

func connect(t *testing.T, h *hub.Server, nsp string, auth any) (*hubtest.Conn, *hubtest.Socket) {
	t.Helper()
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Connect(ctx, nsp, auth)
	require.NoError(t, err)
	return c, s
}

func TestConnectAndGreet(t *testing.T) {
	h := newHub(t, nil)
	connected := make(chan *namespace.Socket, 1)
	h.OnConnection(func(s *namespace.Socket) {
		connected <- s
		require.NoError(t, s.Emit("new message", map[string]string{"mess": "welcome"}))
	})
	c, s := connect(t, h, "/", map[string]any{"token": "abc"})
	srv := <-connected
	assert.Equal(t, srv.ID(), s.ID())
	assert.NotEqual(t, c.SID(), s.ID(), "the Socket.IO id is not the Engine.IO sid")
	assert.JSONEq(t, `{"token":"abc"}`, string(srv.Handshake().Auth))
	assert.Equal(t, "127.0.0.1", srv.Handshake().Address)
	ev, err := s.Expect(testCtx(t), "new message")
	require.NoError(t, err)
	var msg map[string]string
	require.NoError(t, ev.Args.Decode(0, &msg))
	assert.Equal(t, "welcome", msg["mess"])
}

func TestConnectRefusals(t *testing.T) {
	h := newHub(t, nil)
	h.Of("/private").Use(func(s *namespace.Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return &namespace.ConnectError{Message: "not authorized", Data: map[string]string{"hint": "token"}}
		}
		return nil
	})
	h.Of("/plain").Use(func(*namespace.Socket) error { return errors.New("plain refusal") })
	tests := []struct {
		nsp, message, data string
		auth               any
	}{
		{"/nope", "Invalid namespace", "", nil},
		{"/private", "not authorized", `{"hint":"token"}`, map[string]string{"token": "wrong"}},
		{"/plain", "plain refusal", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.nsp, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := hubtest.Dial(ctx, h, nil)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Connect(ctx, tt.nsp, tt.auth)
			var ce *namespace.ConnectError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.message, ce.Message)
			if tt.data != "" {
				assert.JSONEq(t, tt.data, string(ce.Data.(json.RawMessage)))
			}
			// The connection stays usable.
			_, err = c.Connect(ctx, "/", nil)
			assert.NoError(t, err)
		})
	}
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Connect(ctx, "/private", map[string]string{"token": "secret"})
	assert.NoError(t, err)
}

type point struct {
	X, Y int
}

func TestTypedHandlersAndAcks(t *testing.T) {
	h := newHub(t, nil)
	got := make(chan string, 10)
	h.OnConnection(func(s *namespace.Socket) {
		s.On("move", func(e *namespace.Event) {
			var p point
			var label string
			require.NoError(t, e.Args.Scan(&p, &label))
			got <- fmt.Sprintf("%s %d,%d", label, p.X, p.Y)
			require.NoError(t, e.Ack("moved", p.X+p.Y))
			assert.ErrorIs(t, e.Ack("again"), namespace.ErrAckSent)
		})
		namespace.Handle(s, "sum", func(ctx context.Context, nums []float64) error {
			total := 0.0
			for _, n := range nums {
				total += n
			}
			assert.NoError(t, ctx.Err())
			got <- fmt.Sprint(total)
			return nil
		})
		s.On("echo", func(e *namespace.Event) { require.NoError(t, e.Ack(e.Args.Values()...)) })
		namespace.Handle(s, "bad", func(_ context.Context, n int) error { got <- "bad called"; return nil })
	})
	_, s := connect(t, h, "/", nil)
	ctx := testCtx(t)

	reply, err := s.EmitWithAck(ctx, "move", point{2, 3}, "here")
	require.NoError(t, err)
	assert.Equal(t, "here 2,3", <-got)
	var word string
	var sum int
	require.NoError(t, reply.Scan(&word, &sum))
	assert.Equal(t, "moved", word)
	assert.Equal(t, 5, sum)

	require.NoError(t, s.Emit("bad", "not a number"))
	require.NoError(t, s.Emit("sum", []float64{1, 2, 3.5}))
	assert.Equal(t, "6.5", <-got, "a handler whose arguments don't decode is skipped")

	// Echo keeps the client's JSON exactly, key order included.
	reply, err = s.EmitWithAck(ctx, "echo", json.RawMessage(`{"z":1,"a":[true,null]}`), 1, "2")
	require.NoError(t, err)
	require.Equal(t, 3, reply.Len())
	assert.Equal(t, `{"z":1,"a":[true,null]}`, string(reply.Raw(0)))
}

func TestServerEmitWithAck(t *testing.T) {
	h := newHub(t, nil)
	srv := make(chan *namespace.Socket, 1)
	h.OnConnection(func(s *namespace.Socket) { srv <- s })
	_, s := connect(t, h, "/", nil)
	sock := <-srv
	ctx := testCtx(t)
	result := make(chan error, 1)
	var answer string
	go func() {
		reply, err := sock.EmitWithAck(ctx, "question", "ping?")
		if err == nil {
			err = reply.Decode(0, &answer)
		}
		result <- err
	}()
	ev, err := s.Expect(ctx, "question")
	require.NoError(t, err)
	require.NotNil(t, ev.Ack)
	require.NoError(t, ev.Ack("pong!"))
	require.NoError(t, <-result)
	assert.Equal(t, "pong!", answer)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = sock.EmitWithAck(short, "question", "unanswered")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestBinary(t *testing.T) {
	h := newHub(t, nil)
	h.OnConnection(func(s *namespace.Socket) {
		s.On("upload", func(e *namespace.Event) {
			var name string
			var data []byte
			_ = e.Args.Scan(&name, &data)
			_ = e.Ack(name, len(data), data, map[string]any{"nested": []byte{9}})
		})
	})
	_, s := connect(t, h, "/", nil)
	reply, err := s.EmitWithAck(testCtx(t), "upload", "file.bin", []byte{1, 2, 3})
	require.NoError(t, err)
	var name string
	var n int
	var data []byte
	var nested struct{ Nested []byte }
	require.NoError(t, reply.Scan(&name, &n, &data, &nested))
	assert.Equal(t, "file.bin", name)
	assert.Equal(t, 3, n)
	assert.Equal(t, []byte{1, 2, 3}, data)
	assert.Equal(t, []byte{9}, nested.Nested)
}

func TestRooms(t *testing.T) {
	h := newHub(t, nil)
	h.OnConnection(func(s *namespace.Socket) {
		namespace.HandleAck(s, "join", func(_ context.Context, room string) (string, error) { s.Join(room); return "ok", nil })
		namespace.HandleAck(s, "leave", func(_ context.Context, room string) (string, error) { s.Leave(room); return "ok", nil })
		s.On("to room", func(e *namespace.Event) {
			var room, msg string
			_ = e.Args.Scan(&room, &msg)
			_ = s.To(room).Emit("room message", msg)
		})
		s.On("to room all", func(e *namespace.Event) {
			var room, msg string
			_ = e.Args.Scan(&room, &msg)
			_ = h.To(room).Emit("room message", msg)
		})
	})
	ctx := testCtx(t)
	_, a := connect(t, h, "/", nil)
	_, b := connect(t, h, "/", nil)
	_, c := connect(t, h, "/", nil)
	for _, s := range []*hubtest.Socket{a, b} {
		_, err := s.EmitWithAck(ctx, "join", "room one")
		require.NoError(t, err)
	}
	require.NoError(t, a.Emit("to room", "room one", "from a"))
	ev, err := b.Expect(ctx, "room message")
	require.NoError(t, err)
	assert.Equal(t, `"from a"`, string(ev.Args.Raw(0)))

	require.NoError(t, a.Emit("to room all", "room one", "to all"))
	for _, s := range []*hubtest.Socket{a, b} {
		ev, err := s.Expect(ctx, "room message")
		require.NoError(t, err)
		assert.Equal(t, `"to all"`, string(ev.Args.Raw(0)), "a got only the message for everyone")
	}
	_, err = b.EmitWithAck(ctx, "leave", "room one")
	require.NoError(t, err)
	require.NoError(t, a.Emit("to room all", "room one", "after leave"))
	ev, err = a.Expect(ctx, "room message")
	require.NoError(t, err)
	assert.Equal(t, `"after leave"`, string(ev.Args.Raw(0)))

	// Nobody else heard anything: a marker sent to everyone arrives first.
	require.NoError(t, h.Emit("marker"))
	for _, s := range []*hubtest.Socket{b, c} {
		ev, err := s.Next(ctx)
		require.NoError(t, err)
		assert.Equal(t, "marker", ev.Name)
	}
}

func TestBroadcastOperators(t *testing.T) {
	h := newHub(t, nil)
	ns := h.Of("/")
	_, a := connect(t, h, "/", nil)
	_, b := connect(t, h, "/", nil)
	_, c := connect(t, h, "/", nil)
	ctx := testCtx(t)
	require.NoError(t, ns.To(a.ID(), b.ID()).SocketsJoin("ab"))
	assert.ElementsMatch(t, []string{b.ID(), "ab"}, ns.Socket(b.ID()).Rooms())

	base := ns.To("ab")
	withoutA := base.Except(a.ID())
	require.NoError(t, withoutA.Emit("only b"))
	require.NoError(t, base.Emit("a and b"))
	for _, s := range []*hubtest.Socket{a, b} {
		ev, err := s.Next(ctx)
		require.NoError(t, err)
		if s == b {
			assert.Equal(t, "only b", ev.Name)
			ev, err = s.Next(ctx)
			require.NoError(t, err)
		}
		assert.Equal(t, "a and b", ev.Name, "the base broadcast was not changed by Except")
	}

	remote, err := ns.To("ab").FetchSockets(ctx)
	require.NoError(t, err)
	ids := []string{}
	for _, r := range remote {
		ids = append(ids, r.ID)
		assert.Contains(t, r.Rooms, "ab")
	}
	assert.ElementsMatch(t, []string{a.ID(), b.ID()}, ids)

	go func() {
		for _, s := range []*hubtest.Socket{a, b, c} {
			ev, err := s.Expect(ctx, "vote")
			if assert.NoError(t, err) {
				_ = ev.Ack(s == c)
			}
		}
	}()
	replies, err := ns.EmitWithAck(ctx, "vote")
	require.NoError(t, err)
	assert.Len(t, replies, 3)

	require.NoError(t, ns.To("ab").SocketsLeave("ab"))
	assert.Empty(t, ns.To("ab").Sockets())
	require.NoError(t, ns.Except(c.ID()).DisconnectSockets(false))
	for _, s := range []*hubtest.Socket{a, b} {
		select {
		case <-s.Disconnected():
			assert.Equal(t, "io server disconnect", s.Reason())
		case <-ctx.Done():
			t.Fatal("not disconnected")
		}
	}
	assert.Equal(t, 1, ns.Len())
}

func TestDisconnects(t *testing.T) {
	h := newHub(t, nil)
	reasons := make(chan string, 4)
	srv := make(chan *namespace.Socket, 4)
	h.OnConnection(func(s *namespace.Socket) {
		srv <- s
		s.OnDisconnect(func(reason string) { reasons <- reason })
	})
	ctx := testCtx(t)

	conn, s := connect(t, h, "/", nil)
	<-srv
	require.NoError(t, s.Disconnect())
	assert.Equal(t, namespace.ReasonClientDisconnect, <-reasons)
	// The connection survives the namespace disconnect.
	_, err := conn.Connect(ctx, "/", nil)
	require.NoError(t, err)
	sock := <-srv
	sock.Disconnect(false)
	assert.Equal(t, namespace.ReasonServerDisconnect, <-reasons)

	conn2, s2 := connect(t, h, "/", nil)
	sock2 := <-srv
	sock2.Disconnect(true)
	assert.Equal(t, namespace.ReasonServerDisconnect, <-reasons)
	<-s2.Disconnected()
	<-conn2.Done()

	conn3, _ := connect(t, h, "/", nil)
	<-srv
	require.NoError(t, conn3.Close())
	assert.Equal(t, namespace.ReasonTransportClose, <-reasons)
}

func TestProtocolViolationsCloseTheConnection(t *testing.T) {
	tests := []struct {
		name   string
		frames []string
	}{
		{"malformed packet", []string{"42abc"}},
		{"event for a namespace not joined", []string{`42/other,["x"]`}},
		{"connect twice", []string{"40"}},
		{"connect error from client", []string{`44{"message":"x"}`}},
		{"unknown type", []string{"49"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, nil)
			conn, _ := connect(t, h, "/", nil)
			for _, f := range tt.frames {
				require.NoError(t, conn.Send(transport.TextFrame(f)))
			}
			select {
			case <-conn.Done():
			case <-testCtx(t).Done():
				t.Fatal("connection not closed")
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	h := newHub(t, &hub.Options{ConnectTimeout: 30 * time.Millisecond})
	ctx := testCtx(t)
	conn, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("connection without namespace not closed")
	}
}

func TestManyNamespacesOnOneConnection(t *testing.T) {
	h := newHub(t, nil)
	for _, name := range []string{"/post", "/get"} {
		h.Of(name).OnConnection(func(s *namespace.Socket) {
			_ = s.Emit("new message", map[string]string{"mess": "hello from " + s.Namespace().Name()})
		})
	}
	ctx := testCtx(t)
	conn, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer conn.Close()
	post, err := conn.Connect(ctx, "/post", nil)
	require.NoError(t, err)
	get, err := conn.Connect(ctx, "/get", nil)
	require.NoError(t, err)
	for nsp, s := range map[string]*hubtest.Socket{"/post": post, "/get": get} {
		ev, err := s.Expect(ctx, "new message")
		require.NoError(t, err)
		assert.JSONEq(t, `{"mess":"hello from `+nsp+`"}`, string(ev.Args.Raw(0)))
	}
	require.NoError(t, h.Of("/post").Emit("only post"))
	require.NoError(t, h.Of("/get").Emit("only get"))
	ev, err := post.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "only post", ev.Name)
	ev, err = get.Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, "only get", ev.Name)
}

func TestDynamicNamespaces(t *testing.T) {
	h := newHub(t, nil)
	dyn := h.OfRegexp(regexp.MustCompile(`^/dynamic-\d+$`))
	dyn.OnConnection(func(s *namespace.Socket) { _ = s.Emit("hi", s.Namespace().Name()) })
	ctx := testCtx(t)
	_, s1 := connect(t, h, "/dynamic-1", nil)
	_, s2 := connect(t, h, "/dynamic-22", nil)
	for _, s := range []*hubtest.Socket{s1, s2} {
		ev, err := s.Expect(ctx, "hi")
		require.NoError(t, err)
		assert.Equal(t, `"`+s.Namespace()+`"`, string(ev.Args.Raw(0)))
	}
	require.NoError(t, dyn.Emit("to all children"))
	for _, s := range []*hubtest.Socket{s1, s2} {
		_, err := s.Expect(ctx, "to all children")
		require.NoError(t, err)
	}
	conn, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Connect(ctx, "/dynamic-x", nil)
	assert.Error(t, err)
}

func TestManyEventsInOrder(t *testing.T) {
	h := newHub(t, nil)
	h.OnConnection(func(s *namespace.Socket) {
		namespace.Handle(s, "burst", func(_ context.Context, n int) error {
			for i := 0; i < n; i++ {
				_ = s.Emit("item", i)
			}
			return nil
		})
	})
	_, s := connect(t, h, "/", nil)
	ctx := testCtx(t)
	require.NoError(t, s.Emit("burst", 1000))
	for i := 0; i < 1000; i++ {
		ev, err := s.Expect(ctx, "item")
		require.NoError(t, err)
		var n int
		require.NoError(t, ev.Args.Decode(0, &n))
		require.Equal(t, i, n)
	}
}

func TestHandlerPanicDisconnectsOnlyThatSocket(t *testing.T) {
	h := newHub(t, nil)
	h.OnConnection(func(s *namespace.Socket) {
		s.On("boom", func(*namespace.Event) { panic("handler bug") })
		s.On("ping", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack("pong")
			}
		})
	})
	_, bad := connect(t, h, "/", nil)
	_, good := connect(t, h, "/", nil)
	ctx := testCtx(t)
	require.NoError(t, bad.Emit("boom"))
	<-bad.Disconnected()
	_, err := good.EmitWithAck(ctx, "ping")
	require.NoError(t, err)
}

func TestReservedEvents(t *testing.T) {
	h := newHub(t, nil)
	assert.ErrorIs(t, h.Emit("disconnect"), namespace.ErrReservedEvent)
}

func TestServeHTTPPath(t *testing.T) {
	h := newHub(t, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/other/?EIO=4&transport=polling")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, err = http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

var _ = slices.Contains[[]string]

const (
	testTimeout = 5 * time.Second
	pollEvery   = 5 * time.Millisecond
)
