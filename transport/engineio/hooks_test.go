package engineio_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
)

// awaitString receives from ch until want arrives, failing after a bound.
func awaitString(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 5s", want)
		}
	}
}

func packetString(p engineio.Packet) string {
	if p.Binary {
		return p.Type + " (binary):" + string(p.Data)
	}
	return p.Type + ":" + string(p.Data)
}

// The session's hooks follow a client that polls, upgrades to WebSocket
// and answers pings there; hooks that panic do not stop the others.
func TestSessionHooks(t *testing.T) {
	logs := logtest.New()
	ts := newTestServer(t, &engineio.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 5 * time.Second, Logger: logs.Logger()})
	sid := ts.pollHandshake(t)
	q := "EIO=4&transport=polling&sid=" + sid
	sess := ts.eio.Session(sid)
	require.NotNil(t, sess)
	assert.Equal(t, transport.NamePolling, sess.Transport())

	// Registered first: each panics, and the hooks after it still run.
	sess.OnUpgrade(func(string) { panic("upgrade hook") })
	sess.OnPacket(func(engineio.Packet) { panic("packet hook") })
	sess.OnPacketCreate(func(engineio.Packet) { panic("packetCreate hook") })

	upgrades := make(chan string, 10)
	received := make(chan string, 4096)
	sent := make(chan string, 4096)
	sess.OnUpgrade(func(name string) { upgrades <- name + " " + sess.Transport() })
	sess.OnPacket(func(p engineio.Packet) { received <- packetString(p) })
	sess.OnPacketCreate(func(p engineio.Packet) { sent <- packetString(p) })

	// Over polling: the client's message, and its echo.
	res := ts.do(t, http.MethodPost, q, payload("4hello", "bYmlu"), nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	awaitString(t, received, "message:hello")
	awaitString(t, received, "message (binary):bin")
	awaitString(t, sent, "message:hello")
	awaitString(t, sent, "message (binary):bin")

	// The upgrade: its packets are not reported as received packets, the
	// move is, once, with the session already on WebSocket.
	c := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	c.send(t, transport.TextFrame("2probe"))
	assert.Equal(t, "3probe", c.readText(t))
	c.send(t, transport.TextFrame("5"))
	select {
	case got := <-upgrades:
		assert.Equal(t, "websocket websocket", got)
	case <-time.After(5 * time.Second):
		t.Fatal("no upgrade hook call")
	}

	// On WebSocket: a ping, its pong, a message.
	for {
		f := c.read(t)
		if !f.Binary && string(f.Data) == "2" {
			break
		}
	}
	awaitString(t, sent, "ping:")
	c.send(t, transport.TextFrame("3"))
	awaitString(t, received, "pong:")
	c.send(t, transport.TextFrame("4after"))
	awaitString(t, received, "message:after")
	awaitString(t, sent, "message:after") // the echo
	for {
		select {
		case got := <-received:
			assert.NotContains(t, got, "probe")
			assert.NotEqual(t, "upgrade:", got)
			continue
		default:
		}
		break
	}
	assert.Empty(t, upgrades, "OnUpgrade called more than once")

	for _, hook := range []string{"OnUpgrade", "OnPacket", "OnPacketCreate"} {
		_, ok := logs.Wait(5*time.Second, func(r logtest.Record) bool {
			return r.Message == "engineio: session hook panicked" && r.Attrs["hook"] == hook
		})
		assert.True(t, ok, "panic of %s not logged", hook)
	}
}

// A session sends no packet to hooks registered after it was sent.
func TestSessionHooksLate(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	sess := ts.next(t, "open").sess
	require.NoError(t, sess.Send(engineio.Text([]byte("before"))))
	assert.Equal(t, "4before", c.readText(t))
	sent := make(chan string, 10)
	sess.OnPacketCreate(func(p engineio.Packet) { sent <- packetString(p) })
	require.NoError(t, sess.Send(engineio.Text([]byte("after"))))
	assert.Equal(t, "message:after", <-sent)
	assert.Empty(t, sent)
	assert.Equal(t, transport.NameWebSocket, sess.Transport())
}

// Sending costs no allocation for the hooks, registered or not.
func TestSessionHooksAllocs(t *testing.T) {
	srv := engineio.NewServer(engineio.HandlerFunc(func(*engineio.Session) engineio.SessionHandler { return nil }), nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})
	sess := srv.ServeConn(engineio.NopConn{}, nil)
	require.NotNil(t, sess)
	frames := []transport.Frame{engineio.Text([]byte("hello"))} // a variadic call's slice escapes
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = sess.Send(frames...) }), "without hooks")
	n := 0
	sess.OnPacketCreate(func(p engineio.Packet) { n += len(p.Data) })
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = sess.Send(frames...) }), "with a hook")
	assert.Equal(t, 101*len("hello"), n)
}
