package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/leaktest"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

// sinkConn is a transport.Conn that counts what the server sends and
// keeps nothing, so that a benchmark sees the cost of the layers above the
// transport alone. Frames reach it through the public transport contract.
type sinkConn struct {
	h      transport.Handler
	frames atomic.Int64
	bytes  atomic.Int64
	last   atomic.Pointer[[]byte] // last frame, when keepLast
	keep   bool

	once   sync.Once
	closed chan struct{}
}

func newSink() *sinkConn { return &sinkConn{closed: make(chan struct{})} }

func (c *sinkConn) Name() string              { return "sink" }
func (c *sinkConn) Start(h transport.Handler) { c.h = h }

func (c *sinkConn) Send(frames ...transport.Frame) error {
	select {
	case <-c.closed:
		return transport.ErrClosed
	default:
	}
	c.frames.Add(int64(len(frames)))
	for _, f := range frames {
		c.bytes.Add(int64(len(f.Data)))
		if c.keep {
			d := f.Data
			c.last.Store(&d)
		}
	}
	return nil
}

func (c *sinkConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		// HandleClose outside the caller's stack, as a real transport
		// reports the end of a connection from its own goroutine.
		go c.h.HandleClose(nil)
	})
	return nil
}

// receive hands the server a frame from the client.
func (c *sinkConn) receive(b *testing.B, s string) {
	if err := c.h.HandleFrame(transport.TextFrame(s)); err != nil {
		b.Fatalf("HandleFrame(%q): %v", s, err)
	}
}

// sinkHub is a hub with n sink clients connected to "/" and in room "r".
type sinkHub struct {
	h     *hub.Server
	conns []*sinkConn
}

func newSinkHub(b *testing.B, n int, register func(h *hub.Server, s *namespace.Socket)) *sinkHub {
	return newSinkHubOn(b, hub.New(nil), n, register)
}

// newSinkHubOn is newSinkHub on a hub of the caller's.
func newSinkHubOn(b *testing.B, h *hub.Server, n int, register func(h *hub.Server, s *namespace.Socket)) *sinkHub {
	joined := make(chan struct{}, n)
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("r")
		if register != nil {
			register(h, s)
		}
		joined <- struct{}{}
	})
	sh := &sinkHub{h: h}
	for range n {
		c := newSink()
		if h.ServeConn(c, nil); c.h == nil {
			b.Fatal("ServeConn did not start the connection")
		}
		c.receive(b, "40")
		sh.conns = append(sh.conns, c)
	}
	for range n {
		select {
		case <-joined:
		case <-time.After(10 * time.Second):
			b.Fatal("sockets did not connect")
		}
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		for _, c := range sh.conns {
			_ = c.Close()
		}
	})
	return sh
}

func (sh *sinkHub) frames() int64 {
	var n int64
	for _, c := range sh.conns {
		n += c.frames.Load()
	}
	return n
}

// perRecipient reports ns, allocations and bytes per recipient, from the
// memory statistics around the timed loop (b.ReportAllocs reports them per
// operation, i.e. per broadcast).
type perRecipient struct {
	b          *testing.B
	recipients int
	ms0        runtime.MemStats
}

func startPerRecipient(b *testing.B, recipients int) *perRecipient {
	p := &perRecipient{b: b, recipients: recipients}
	b.ReportAllocs()
	runtime.GC()
	runtime.ReadMemStats(&p.ms0)
	b.ResetTimer()
	return p
}

func (p *perRecipient) stop() {
	p.b.StopTimer()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	n := float64(p.b.N) * float64(p.recipients)
	p.b.ReportMetric(float64(p.b.Elapsed().Nanoseconds())/n, "ns/recipient")
	p.b.ReportMetric(float64(ms1.Mallocs-p.ms0.Mallocs)/n, "allocs/recipient")
	p.b.ReportMetric(float64(ms1.TotalAlloc-p.ms0.TotalAlloc)/n, "B/recipient")
}

// payload is what the bench server forwards: raw JSON from the client.
var payload = json.RawMessage(`{"t":123456789,"s":42,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)

// BenchmarkBroadcast is hub.To(room).Emit to 1000 sockets whose
// connections only count frames: the cost of the hub, namespace, room and
// Engine.IO layers per recipient. allocs/recipient must be 0.
func BenchmarkBroadcast(b *testing.B) {
	for _, bc := range []struct {
		name string
		arg  any
	}{
		{"raw", payload},
		{"map", map[string]any{"t": 123456789, "s": 42, "p": strings.Repeat("x", 64)}},
	} {
		b.Run(fmt.Sprintf("recipients=1000/payload=%s", bc.name), func(b *testing.B) {
			const n = 1000
			sh := newSinkHub(b, n, nil)
			before := sh.frames()
			p := startPerRecipient(b, n)
			for b.Loop() {
				if err := sh.h.To("r").Emit("msg", bc.arg); err != nil {
					b.Fatal(err)
				}
			}
			p.stop()
			if got := sh.frames() - before; got != int64(b.N)*n {
				b.Fatalf("%d frames delivered, want %d", got, int64(b.N)*n)
			}
		})
	}
}

// BenchmarkEmit is Socket.Emit to one socket: encoding plus sending.
func BenchmarkEmit(b *testing.B) {
	var sock atomic.Pointer[namespace.Socket]
	newSinkHub(b, 1, func(_ *hub.Server, s *namespace.Socket) { sock.Store(s) })
	s := sock.Load()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Emit("msg", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventAck is one client event with an ack, handled and answered
// (decode, dispatch, handler, encode, send), in the two handler forms:
// func(*namespace.Event) and a typed namespace.HandleAck.
func BenchmarkEventAck(b *testing.B) {
	for _, bc := range []struct {
		name     string
		register func(s *namespace.Socket)
	}{
		{"event", func(s *namespace.Socket) { s.On("echo", func(e *namespace.Event) { _ = e.Ack(e.Args.Values()...) }) }},
		{"typed", func(s *namespace.Socket) {
			namespace.HandleAck(s, "echo", func(_ context.Context, p json.RawMessage) (json.RawMessage, error) { return p, nil })
		}},
	} {
		b.Run("handler="+bc.name, func(b *testing.B) {
			sh := newSinkHub(b, 1, func(_ *hub.Server, s *namespace.Socket) { bc.register(s) })
			c := sh.conns[0]
			c.keep = true
			frame := transport.TextFrame(`4212["echo",` + string(payload) + `]`)
			before := c.frames.Load()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.h.HandleFrame(frame); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := c.frames.Load() - before; got != int64(b.N) {
				b.Fatalf("%d acks, want %d", got, b.N)
			}
			if last := *c.last.Load(); !strings.HasPrefix(string(last), "4312[") {
				b.Fatalf("last frame %q is not the ack", last)
			}
		})
	}
}

// BenchmarkConnect is a client session from the Engine.IO open to the
// namespace connect and back to closed, over a sink connection (no HTTP or
// WebSocket handshake: see the load generator for those).
func BenchmarkConnect(b *testing.B) {
	benchConnect(b, hub.New(nil))
}

// benchConnect is BenchmarkConnect on h.
func benchConnect(b *testing.B, h *hub.Server) {
	connected := make(chan *namespace.Socket, 1)
	h.OnConnection(func(s *namespace.Socket) { connected <- s })
	defer h.Shutdown(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		c := newSink()
		h.ServeConn(c, nil)
		c.receive(b, "40")
		<-connected
		_ = c.Close()
	}
}

// BenchmarkIdleHeap reports the Go heap each idle, connected socket keeps
// (after GC) over sink connections: the hub's, namespace's and Engine.IO
// session's share, without the WebSocket transport's (the load generator
// measures the whole server's RSS, in another process).
func BenchmarkIdleHeap(b *testing.B) {
	const n = 2000
	measured := false
	for b.Loop() {
		if measured { // one measurement is the figure; more only cost time
			continue
		}
		measured = true
		before := liveHeap()
		sh := newSinkHub(b, n, nil)
		after := liveHeap()
		b.ReportMetric(float64(after-before)/n, "B/conn")
		runtime.KeepAlive(sh)
	}
	b.ReportMetric(0, "ns/op")
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkBroadcastWebSocket is hub.To(room).Emit to 1000 real WebSocket
// connections on loopback: per recipient, the hub plus the WebSocket
// transport's queueing and writev. The clients in this process read with
// one read call per batch and count bytes; their CPU time is part of
// ns/recipient, their allocations are not per message.
func BenchmarkBroadcastWebSocket(b *testing.B) {
	const n = 1000
	joined := make(chan struct{}, n)
	h, addr := wsHub(b, func(s *namespace.Socket) {
		s.Join("r")
		joined <- struct{}{}
	})
	clients := dialRaw(b, addr, n)
	defer closeRaw(clients)
	timeout := time.After(30 * time.Second)
	for i := range n {
		select {
		case <-joined:
		case <-timeout:
			b.Fatalf("%d of %d sockets joined", i, n)
		}
	}
	frameLen := int64(len(`42["msg",]`) + len(payload) + 2) // 2: unmasked header
	for _, c := range clients {
		c.counted.Store(0)
	}
	wait := func(perClient int64) {
		deadline := time.Now().Add(30 * time.Second)
		for _, c := range clients {
			for c.counted.Load() < perClient*frameLen {
				if time.Now().After(deadline) {
					b.Fatalf("a client got %d of %d bytes", c.counted.Load(), perClient*frameLen)
				}
				runtime.Gosched()
			}
		}
	}
	p := startPerRecipient(b, n)
	var i int64
	for b.Loop() {
		if err := h.To("r").Emit("msg", payload); err != nil {
			b.Fatal(err)
		}
		// Stay well inside the transport's send queue (4 MiB: tens of
		// thousands of these frames).
		if i++; i%256 == 0 {
			wait(i - 64)
		}
	}
	wait(i)
	p.stop()
}

// wsHub serves a hub over WebSocket only on a loopback httptest server.
func wsHub(b *testing.B, onConn func(s *namespace.Socket)) (*hub.Server, string) {
	h := hub.New(&hub.Options{Transports: []transport.Transport{websocket.New(nil)}})
	if onConn != nil {
		h.OnConnection(onConn)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
	})
	return h, strings.TrimPrefix(srv.URL, "http://")
}

// rawClient is a connected Socket.IO client that then only counts the
// bytes it receives.
type rawClient struct {
	nc      net.Conn
	counted atomic.Int64
	done    chan struct{}
}

func (c *rawClient) Write(p []byte) (int, error) {
	c.counted.Add(int64(len(p)))
	return len(p), nil
}

// dialRaw connects n clients to "/" and starts their counting readers.
func dialRaw(b *testing.B, addr string, n int) []*rawClient {
	out := make([]*rawClient, 0, n)
	d := ws.Dialer{Timeout: 10 * time.Second}
	for range n {
		nc, br, _, err := d.Dial(context.Background(), "ws://"+addr+"/socket.io/?EIO=4&transport=websocket")
		if err != nil {
			b.Fatal(err)
		}
		var r io.Reader = nc
		if br != nil {
			r = io.MultiReader(br, nc)
		}
		rw := struct {
			io.Reader
			io.Writer
		}{bufio.NewReader(r), nc}
		if msg, err := wsutil.ReadServerText(rw); err != nil || !strings.HasPrefix(string(msg), "0") {
			b.Fatalf("open packet: %q, %v", msg, err)
		}
		if err := wsutil.WriteClientText(nc, []byte("40")); err != nil {
			b.Fatal(err)
		}
		if msg, err := wsutil.ReadServerText(rw); err != nil || !strings.HasPrefix(string(msg), "40") {
			b.Fatalf("connect answer: %q, %v", msg, err)
		}
		c := &rawClient{nc: nc, done: make(chan struct{})}
		go func() {
			defer close(c.done)
			_, _ = io.Copy(c, rw.Reader)
		}()
		out = append(out, c)
	}
	return out
}

func closeRaw(cs []*rawClient) {
	for _, c := range cs {
		_ = c.nc.Close()
		<-c.done
	}
}
