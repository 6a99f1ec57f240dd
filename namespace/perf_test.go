package namespace_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

// lastConn is a Conn that keeps the last frame it was sent and counts them,
// so that a long benchmark does not grow a slice.
type lastConn struct {
	mu    sync.Mutex
	last  transport.Frame
	count int
}

func (c *lastConn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	c.last = frames[len(frames)-1]
	c.count += len(frames)
	c.mu.Unlock()
	return nil
}

func (c *lastConn) Close() error { return nil }

func (c *lastConn) lastText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.last.Data)
}

// benchNamespace is a namespace whose sockets register the handlers of the
// benchmark server (bench/internal/benchserver).
func benchNamespace() *namespace.Namespace {
	quiet := slog.New(slog.DiscardHandler)
	ns := newNS("/", &nsConfig{Logger: quiet})
	ns.OnConnection(func(s *namespace.Socket) {
		s.On("join", func(e *namespace.Event) {
			var room string
			if e.Args.Decode(0, &room) == nil {
				s.Join(room)
			}
		})
		s.On("bcast", func(e *namespace.Event) {})
		s.On("echo", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(e.Args.Values()...)
			}
		})
		s.On("stats", func(e *namespace.Event) {})
	})
	return ns
}

// benchClientOptions are shared by the clients of the tests, as a server
// shares its own.
var benchClientOptions = &wiring.ClientOptions{ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)}

func connectClient(tb testing.TB, ns *namespace.Namespace, conn wiring.Conn, hs namespace.Handshake) wiring.Client {
	resolve := func(string, json.RawMessage) *namespace.Namespace { return ns }
	c := nsImpl.NewClient(conn, hs, resolve, benchClientOptions)
	require.NoError(tb, c.Receive(false, []byte("0")))
	return c
}

// BenchmarkEchoAck measures the server side of one emit-with-ack round
// trip: the client's EVENT is decoded, routed to the "echo" handler, which
// acks with the event's own arguments, and the ACK frame is encoded and
// handed to the connection.
func BenchmarkEchoAck(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   string
		want string
	}{
		{"string", `217["echo","payload"]`, `317["payload"]`},
		{"object", `217["echo",{"seq":1,"t":1700000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`, `317[{"seq":1,"t":1700000000000,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			conn := &lastConn{}
			c := connectClient(b, benchNamespace(), conn, namespace.Handshake{})
			defer c.Closed(namespace.ReasonTransportClose)
			in := []byte(bc.in)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Receive(false, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			assert.Equal(b, "4"+bc.want, conn.lastText())
		})
	}
}

func TestEchoAckWire(t *testing.T) {
	conn := &lastConn{}
	c := connectClient(t, benchNamespace(), conn, namespace.Handshake{})
	defer c.Closed(namespace.ReasonTransportClose)
	for _, tc := range []struct{ in, want string }{
		{`217["echo","payload"]`, `317["payload"]`},
		{`218["echo"]`, `318[]`},
		{`219["echo",1,"a\u00e9\"",[true,null],{"b":2}]`, `319[1,"a\u00e9\"",[true,null],{"b":2}]`},
		{`2["echo","no ack wanted"]`, `319[1,"a\u00e9\"",[true,null],{"b":2}]`},
		{`220[ "echo" , "spaced" ]`, `320["spaced"]`},
		{`221["\u0065cho","escaped name"]`, `321["escaped name"]`},
	} {
		require.NoError(t, c.Receive(false, []byte(tc.in)), tc.in)
		assert.Equal(t, "4"+tc.want, conn.lastText(), tc.in)
	}
}

// nullConn is a Conn that drops what it is sent, as a connection does once
// it has written it.
type nullConn struct{}

func (nullConn) Send(...transport.Frame) error { return nil }
func (nullConn) Close() error                  { return nil }

// TestIdleSocketMemory reports the heap held by each connected socket of
// the benchmark server's namespace (client, socket, handlers, its entries
// in the namespace and in the room adapter).
func TestIdleSocketMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few MB")
	}
	const n = 2000
	ns := benchNamespace()
	hs := namespace.Handshake{Address: "127.0.0.1", URL: "/socket.io/?EIO=4&transport=websocket", Time: time.Now()}
	clients := make([]wiring.Client, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range clients {
		clients[i] = connectClient(t, ns, nullConn{}, hs)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perSocket := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("heap per connected socket: %.0f B", perSocket)
	// ≈ 680 B measured (client, socket, the four handlers, room entry); the
	// bound catches a regression toward the 1.3 KB of before.
	assert.Less(t, perSocket, 1000.0, "heap per connected socket")
	assert.Equal(t, n, ns.Len())
	for _, c := range clients {
		c.Closed(namespace.ReasonTransportClose)
	}
	assert.Equal(t, 0, ns.Len())
	runtime.KeepAlive(clients)
}

// TestEchoAckAllocs keeps the echo round trip's allocations in check: the
// event with its ack (2), the handler's Args.Values (2: the slice and the
// boxed json.RawMessage), the ACK frame (2: its text and the frame slice).
func TestEchoAckAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	conn := &lastConn{}
	c := connectClient(t, benchNamespace(), conn, namespace.Handshake{})
	defer c.Closed(namespace.ReasonTransportClose)
	in := []byte(`217["echo",{"a":"payload"}]`)
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.Receive(false, in); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 6.0)
	assert.Equal(t, `4317[{"a":"payload"}]`, conn.lastText())
}

// TestSocketEmitAllocs keeps Socket.Emit at two allocations (the frame's
// text and the frame slice): the arguments stay on the caller's stack,
// which the msgpack parser's encoder must not change (it once made every
// emit's arguments escape, with the JSON parser too).
func TestSocketEmitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	conn := &lastConn{}
	var sock *namespace.Socket
	ns := benchNamespace()
	ns.OnConnection(func(s *namespace.Socket) { sock = s })
	c := connectClient(t, ns, conn, namespace.Handshake{})
	defer c.Closed(namespace.ReasonTransportClose)
	allocs := testing.AllocsPerRun(200, func() {
		if err := sock.Emit("message", "hello", 42); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 2.0)
	assert.Equal(t, `42["message","hello",42]`, conn.lastText())
}

// BenchmarkSocketEmit measures Socket.Emit of a small event.
func BenchmarkSocketEmit(b *testing.B) {
	conn := &lastConn{}
	var sock *namespace.Socket
	ns := benchNamespace()
	ns.OnConnection(func(s *namespace.Socket) { sock = s })
	c := connectClient(b, ns, conn, namespace.Handshake{})
	defer c.Closed(namespace.ReasonTransportClose)
	msg := map[string]any{"user": "ann", "text": "hello"}
	b.ReportAllocs()
	for b.Loop() {
		if err := sock.Emit("message", msg, 42); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	assert.Equal(b, `42["message",{"text":"hello","user":"ann"},42]`, conn.lastText())
}

// BenchmarkDispatch measures one client event with an ack, from the
// Socket.IO message to the ACK frame, through each handler form: the
// untyped func(*Event), a typed HandleAck (JSON decoded into a struct and
// the result encoded), and a func(*Event) doing the same decoding by hand,
// to show what the typed form itself costs.
func BenchmarkDispatch(b *testing.B) {
	type move struct {
		X, Y int
	}
	in := []byte(`217["move",{"X":1,"Y":2}]`)
	for _, bc := range []struct {
		name     string
		register func(s *namespace.Socket)
	}{
		{"untyped", func(s *namespace.Socket) {
			s.On("move", func(e *namespace.Event) { _ = e.Ack(e.Args.Values()...) })
		}},
		{"untyped-decode", func(s *namespace.Socket) {
			s.On("move", func(e *namespace.Event) {
				var m move
				if e.Args.Decode(0, &m) == nil {
					_ = e.Ack(m.X + m.Y)
				}
			})
		}},
		{"typed", func(s *namespace.Socket) {
			namespace.HandleAck(s, "move", func(_ context.Context, m move) (int, error) { return m.X + m.Y, nil })
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ns := newNS("/", &nsConfig{Logger: slog.New(slog.DiscardHandler)})
			ns.OnConnection(bc.register)
			conn := &lastConn{}
			c := connectClient(b, ns, conn, namespace.Handshake{})
			defer c.Closed(namespace.ReasonTransportClose)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Receive(false, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
