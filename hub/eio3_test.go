package hub_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/websocket"
)

// dialEIO3 opens a revision 3 WebSocket to srv and returns it with the
// Engine.IO session id from the open packet.
func dialEIO3(t *testing.T, srv *httptest.Server) (*wsWire, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=3&transport=websocket", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	w := &wsWire{c: c}
	open := w.recv(t)
	require.True(t, strings.HasPrefix(string(open.Data), "0{"), "open packet %q", open.Data)
	var op struct{ SID string }
	require.NoError(t, json.Unmarshal(open.Data[1:], &op))
	return w, op.SID
}

// A socket.io-client 2.x connection, on the wire: "/" joined without a
// CONNECT, answers without payload, ids derived from the session id, the
// query of a namespace's CONNECT as its auth, CONNECT_ERROR payloads as
// socket.io 4.8 sends them to such clients, and binary events with the
// revision 3 type byte.
func TestEIO3SocketIO(t *testing.T) {
	h := hub.New(&hub.Options{AllowEIO3: true})
	ids := make(chan string, 8)
	auths := make(chan string, 8)
	greet := func(s *namespace.Socket) {
		ids <- s.ID()
		auths <- string(s.Handshake().Auth)
		s.On("echo", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(e.Args.Values()...)
			}
		})
	}
	h.OnConnection(greet)
	h.Of("/chat").OnConnection(greet)
	h.Of("/message").Use(func(*namespace.Socket) error { return &namespace.ConnectError{Message: "no"} })
	h.Of("/data").Use(func(*namespace.Socket) error {
		return &namespace.ConnectError{Message: "no", Data: map[string]int{"code": 7}}
	})
	h.Of("/falsy").Use(func(*namespace.Socket) error { return &namespace.ConnectError{Message: "no", Data: ""} })
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, h.Shutdown(ctx))
		srv.CloseClientConnections()
		srv.Close()
	})

	w, sid := dialEIO3(t, srv)
	// "/" at once, with no payload in the CONNECT answer.
	assert.Equal(t, "40", string(w.recv(t).Data))
	assert.Equal(t, sid, <-ids)
	assert.Equal(t, "{}", <-auths)

	w.send(t, "40/chat?token=abc&x=1&x=2,")
	assert.Equal(t, "40/chat,", string(w.recv(t).Data))
	assert.Equal(t, "/chat#"+sid, <-ids)
	assert.JSONEq(t, `{"token":"abc","x":["1","2"]}`, <-auths)

	// Events and acks, binary included: the attachment carries the type
	// byte 4 both ways.
	w.send(t, `451-/chat,7["echo",{"_placeholder":true,"num":0}]`)
	require.NoError(t, w.c.WriteFrame(transport.BinaryFrame([]byte{4, 0xca, 0xfe})))
	assert.Equal(t, `461-/chat,7[{"_placeholder":true,"num":0}]`, string(w.recv(t).Data))
	assert.Equal(t, transport.BinaryFrame([]byte{4, 0xca, 0xfe}), w.recv(t))

	// Refusals: the message as a string, or the error's data.
	w.send(t, "40/message,")
	assert.Equal(t, `44/message,"no"`, string(w.recv(t).Data))
	w.send(t, "40/data,")
	assert.Equal(t, `44/data,{"code":7}`, string(w.recv(t).Data))
	w.send(t, "40/falsy,")
	assert.Equal(t, `44/falsy,"no"`, string(w.recv(t).Data), "data JavaScript takes as false gives way to the message")
	w.send(t, "40/nowhere,")
	assert.Equal(t, `44/nowhere,{"message":"Invalid namespace"}`, string(w.recv(t).Data))

	// The client's pings are answered; it leaves "/chat".
	w.send(t, "2")
	assert.Equal(t, "3", string(w.recv(t).Data))
	w.send(t, "41/chat,")
	w.send(t, `42["echo"]`) // no ack id: nothing back; "/" still works
	w.send(t, `420["echo","still"]`)
	assert.Equal(t, `430["still"]`, string(w.recv(t).Data))
}

func TestEIO3RefusedByDefaultHub(t *testing.T) {
	h := hub.New(nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := wireHTTP.Get(srv.URL + "/socket.io/?EIO=3&transport=polling")
	require.NoError(t, err)
	defer res.Body.Close()
	var body struct{ Code int }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, 5, body.Code)
}
