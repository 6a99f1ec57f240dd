package hub_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

// dialMsgpack connects a client using the msgpack parser to h.
func dialMsgpack(t *testing.T, h *hub.Server) *hubtest.Conn {
	t.Helper()
	c, err := hubtest.Dial(testCtx(t), h, &hubtest.DialOptions{Parser: hub.MsgpackParser})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestMsgpackParser: with Options.Parser set to MsgpackParser, events,
// acks both ways, binary arguments, broadcasts, refusals and disconnections
// work as with the default parser.
func TestMsgpackParser(t *testing.T) {
	h := newHub(t, &hub.Options{Parser: hub.MsgpackParser})
	servers := make(chan *namespace.Socket, 4)
	h.Use(func(s *namespace.Socket) error {
		if string(s.Handshake().Auth) == `{"token":"bad"}` {
			return &namespace.ConnectError{Message: "refused", Data: map[string]int{"code": 7}}
		}
		return nil
	})
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("room")
		namespace.HandleAck(s, "sum", func(ctx context.Context, xy [2]int) (int, error) { return xy[0] + xy[1], nil })
		s.On("echo", func(e *namespace.Event) { _ = e.Ack(e.Args.Values()...) })
		servers <- s
		_ = s.Emit("hello", []byte{1, 2, 3}, map[string]any{"n": 1.5, "bin": []byte{4}})
	})
	ctx := testCtx(t)

	c1 := dialMsgpack(t, h)
	s1, err := c1.Connect(ctx, "/", map[string]string{"token": "good"})
	require.NoError(t, err)
	srv1 := <-servers
	assert.JSONEq(t, `{"token":"good"}`, string(srv1.Handshake().Auth))

	ev, err := s1.Expect(ctx, "hello")
	require.NoError(t, err)
	b, ok := ev.Args.Binary(0)
	require.True(t, ok, "a []byte argument arrives as binary")
	assert.Equal(t, []byte{1, 2, 3}, b)
	var obj struct {
		N   float64 `json:"n"`
		Bin []byte  `json:"bin"`
	}
	require.NoError(t, ev.Args.Decode(1, &obj))
	assert.Equal(t, 1.5, obj.N)
	assert.Equal(t, []byte{4}, obj.Bin)

	// Acks, from the client to the server and back.
	got, err := s1.EmitWithAck(ctx, "sum", []int{2, 3})
	require.NoError(t, err)
	assert.Equal(t, "5", string(got.Raw(0)))
	got, err = s1.EmitWithAck(ctx, "echo", "x", []byte{0xff, 0}, nil)
	require.NoError(t, err)
	require.Equal(t, 3, got.Len())
	b, ok = got.Binary(1)
	require.True(t, ok)
	assert.Equal(t, []byte{0xff, 0}, b)
	assert.Equal(t, "null", string(got.Raw(2)))

	// From the server to the client and back.
	go func() {
		ev, err := s1.Expect(ctx, "ask")
		if err == nil {
			_ = ev.Ack("answer", []byte{9})
		}
	}()
	ans, err := srv1.EmitWithAck(ctx, "ask", 1)
	require.NoError(t, err)
	assert.Equal(t, `"answer"`, string(ans.Raw(0)))
	b, ok = ans.Binary(1)
	require.True(t, ok)
	assert.Equal(t, []byte{9}, b)

	// Broadcasts, encoded once for both clients.
	c2 := dialMsgpack(t, h)
	s2, err := c2.Connect(ctx, "/", nil)
	require.NoError(t, err)
	<-servers
	require.NoError(t, h.To("room").Emit("news", []byte("bin"), "text"))
	for _, s := range []*hubtest.Socket{s1, s2} {
		ev, err := s.Expect(ctx, "news")
		require.NoError(t, err)
		b, ok := ev.Args.Binary(0)
		require.True(t, ok)
		assert.Equal(t, "bin", string(b))
		assert.Equal(t, `"text"`, string(ev.Args.Raw(1)))
	}

	// Refusals: an unknown namespace, a middleware.
	_, err = c2.Connect(ctx, "/nope", nil)
	var ce *namespace.ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "Invalid namespace", ce.Message)
	c3 := dialMsgpack(t, h)
	_, err = c3.Connect(ctx, "/", map[string]string{"token": "bad"})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "refused", ce.Message)
	assert.JSONEq(t, `{"code":7}`, string(mustJSON(t, ce.Data)))

	// A server-side disconnection reaches the client.
	srv1.Disconnect(false)
	select {
	case <-s1.Disconnected():
		assert.Equal(t, "io server disconnect", s1.Reason())
	case <-ctx.Done():
		t.Fatal("no DISCONNECT")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestMsgpackParserRefusesBadPackets: a client of a msgpack hub that sends
// something socket.io-msgpack-parser would not decode (a JSON parser's text
// packet included) is disconnected, "forced close" as socket.io does.
func TestMsgpackParserRefusesBadPackets(t *testing.T) {
	for _, tt := range []struct {
		name  string
		frame transport.Frame
	}{
		{"text packet", transport.TextFrame(`42["x"]`)},
		{"not msgpack", transport.Frame{Binary: true, Data: []byte{0xc1}}},
		{"not a packet", transport.Frame{Binary: true, Data: []byte{0x92, 0x01, 0x02}}},
		// {type: 2, nsp: "/", data: {}}
		{"EVENT data not an array", transport.Frame{Binary: true, Data: []byte("\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x80")}},
		// {type: 2, nsp: "/", data: ["disconnect"]}
		{"reserved event name", transport.Frame{Binary: true, Data: []byte("\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xaadisconnect")}},
		// {type: 5, nsp: "/", data: ["x"]}
		{"BINARY_EVENT type", transport.Frame{Binary: true, Data: []byte("\x83\xa4type\x05\xa3nsp\xa1/\xa4data\x91\xa1x")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, &hub.Options{Parser: hub.MsgpackParser})
			reasons := make(chan string, 1)
			h.OnConnection(func(s *namespace.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
			ctx := testCtx(t)
			c := dialMsgpack(t, h)
			_, err := c.Connect(ctx, "/", nil)
			require.NoError(t, err)
			require.NoError(t, c.Send(tt.frame))
			select {
			case r := <-reasons:
				assert.Equal(t, namespace.ReasonForcedClose, r)
			case <-ctx.Done():
				t.Fatal("no disconnect")
			}
			<-c.Done()
		})
	}
}

// TestMsgpackRecovery: a recovered socket gets the broadcasts it missed,
// kept in the msgpack encoding.
func TestMsgpackRecovery(t *testing.T) {
	h := newHub(t, &hub.Options{Parser: hub.MsgpackParser, ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: time.Minute}})
	gone := make(chan string, 2)
	h.OnConnection(func(s *namespace.Socket) {
		if !s.Recovered() {
			s.Join("news")
		}
		s.OnDisconnect(func(reason string) { gone <- reason })
	})
	ctx := testCtx(t)
	conn := dialMsgpack(t, h)
	s1, err := conn.Connect(ctx, "/", nil)
	require.NoError(t, err)
	require.NoError(t, h.To("news").Emit("item", 1))
	_, err = s1.Expect(ctx, "item")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	assert.Equal(t, "transport close", <-gone)
	require.NoError(t, h.To("news").Emit("item", 2, []byte{2}))
	require.NoError(t, h.Emit("item", 3))

	conn2 := dialMsgpack(t, h)
	s2, err := conn2.Recover(ctx, s1, nil)
	require.NoError(t, err)
	require.True(t, s2.Recovered())
	for _, want := range []string{"2", "3"} {
		ev, err := s2.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, "item", ev.Name)
		assert.Equal(t, want, string(ev.Args.Raw(0)))
		if want == "2" {
			b, ok := ev.Args.Binary(1)
			require.True(t, ok)
			assert.Equal(t, []byte{2}, b)
		}
	}
}
