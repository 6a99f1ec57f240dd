package hub_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/websocket"
)

// A socket sees its connection (socket.io's socket.conn): the transport,
// polling then WebSocket after an upgrade, the upgrade itself and the
// Engine.IO packets; hooks that panic are logged and change nothing.
func TestSocketConnUpgrade(t *testing.T) {
	logs := logtest.New()
	h := newHub(t, &hub.Options{Logger: logs.Logger()})
	upgrades := make(chan string, 10)
	var mu sync.Mutex
	var received []string
	seen := func(want string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Contains(received, want)
		}
	}
	h.OnConnection(func(s *namespace.Socket) {
		conn := s.Conn()
		conn.OnUpgrade(func(string) { panic("upgrade hook") })
		conn.OnPacket(func(engineio.Packet) { panic("packet hook") })
		conn.OnUpgrade(func(name string) { upgrades <- name + " " + s.Conn().Transport() })
		conn.OnPacket(func(p engineio.Packet) {
			mu.Lock()
			received = append(received, p.Type+":"+string(p.Data))
			mu.Unlock()
		})
		s.On("where", func(e *namespace.Event) { _ = e.Ack(s.Conn().Transport(), s.Conn().RemoteAddr() != "") })
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer srv.CloseClientConnections()

	w := dialWire(t, srv.URL, "polling").(*pollWire)
	w.send(t, `40`)
	require.True(t, strings.HasPrefix(string(w.recv(t).Data), `40{"sid":"`))
	w.send(t, `421["where"]`)
	assert.Equal(t, `431["polling",true]`, string(w.recv(t).Data))

	sid := w.url[strings.LastIndex(w.url, "sid=")+len("sid="):]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket&sid="+sid, nil)
	require.NoError(t, err)
	defer c.Close()
	ws := &wsWire{c: c}
	ws.send(t, "2probe")
	assert.Equal(t, "3probe", string(ws.recv(t).Data))
	ws.send(t, "5")
	select {
	case got := <-upgrades:
		assert.Equal(t, "websocket websocket", got)
	case <-time.After(5 * time.Second):
		t.Fatal("no upgrade hook call")
	}

	ws.send(t, `422["where"]`)
	assert.Equal(t, `432["websocket",true]`, string(ws.recv(t).Data))
	// Hooks run before the packet is handled: both are seen by now.
	assert.Condition(t, seen(`message:21["where"]`))
	assert.Condition(t, seen(`message:22["where"]`))
	assert.Empty(t, upgrades)
	for _, hook := range []string{"OnUpgrade", "OnPacket"} {
		_, ok := logs.Wait(5*time.Second, func(r logtest.Record) bool {
			return strings.Contains(r.Message, "hook panicked") && r.Attrs["hook"] == hook
		})
		assert.True(t, ok, "panic of %s not logged", hook)
	}
}

// Sockets of the in-memory transport see it as their connection.
func TestSocketConnMemory(t *testing.T) {
	h := newHub(t, nil)
	connected := make(chan *namespace.Socket, 1)
	h.OnConnection(func(s *namespace.Socket) { connected <- s })
	connect(t, h, "/", nil)
	s := <-connected
	assert.Equal(t, "memory", s.Conn().Transport())
	assert.NotEmpty(t, s.Conn().RemoteAddr())
}
