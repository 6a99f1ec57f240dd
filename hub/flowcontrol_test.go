package hub_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

// defaultQueueBytes is the default bound of a client's queue
// (transport.DefaultMaxQueueBytes, 4 MiB): the tests below exceed it, and
// the old bound of 1,024 frames, by far, whichever applies.
const defaultQueueBytes = 4 << 20

// socketsOf sends each socket that connects on ch, with its disconnect
// reason on reasons.
func socketsOf(h *hub.Server, ch chan<- *namespace.Socket, reasons chan<- string) {
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("room")
		s.OnDisconnect(func(reason string) { reasons <- reason })
		ch <- s
	})
}

func nextSocket(t *testing.T, ch <-chan *namespace.Socket) *namespace.Socket {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-testCtx(t).Done():
		t.Fatal("no socket connected")
		return nil
	}
}

// TestBroadcastOverflowIsTransportError: broadcasts never wait for a client;
// a room member that stopped reading is disconnected with "transport error"
// once its queue is over the bound, while a member that reads gets every
// broadcast. Over both transports.
func TestBroadcastOverflowIsTransportError(t *testing.T) {
	for _, name := range []string{"websocket", "polling"} {
		t.Run(name, func(t *testing.T) {
			h := newHub(t, &hub.Options{
				PingInterval: time.Minute, PingTimeout: time.Minute,
				// A small kernel buffer, so that what the stalled client
				// does not read reaches the hub's queue soon.
				Transports: []transport.Transport{polling.New(nil), websocket.New(&websocket.Options{SendBuffer: 16 << 10})},
			})
			socks := make(chan *namespace.Socket, 2)
			reasons := make(chan string, 2)
			socketsOf(h, socks, reasons)
			srv := httptest.NewServer(h)
			defer srv.Close()
			defer srv.CloseClientConnections()

			var stalled wireClient
			if name == "websocket" {
				stalled = &leanWire{dialLean(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", 4096)}
			} else {
				stalled = dialWire(t, srv.URL, name)
				stalled.send(t, "40")
				require.True(t, strings.HasPrefix(string(stalled.recv(t).Data), "40"))
			}
			stalledSock := nextSocket(t, socks)
			reader := dialWire(t, srv.URL, name)
			reader.send(t, "40")
			require.True(t, strings.HasPrefix(string(reader.recv(t).Data), "40"))
			nextSocket(t, socks)

			const size = 4 << 10
			total := 2*defaultQueueBytes/size + 1
			var got atomic.Int64
			readDone := make(chan struct{})
			go func() {
				defer close(readDone)
				for got.Load() < int64(total) {
					f := reader.recv(t)
					if strings.HasPrefix(string(f.Data), `42["b"`) {
						got.Add(1)
					}
				}
			}()
			payload := strings.Repeat("b", size)
			for i := range total {
				if i%256 == 0 {
					// Stay within 256 broadcasts (1 MiB) of the reader.
					require.Eventually(t, func() bool { return got.Load() >= int64(i-256) }, time.Minute, time.Millisecond)
				}
				require.NoError(t, h.To("room").Emit("b", i, payload))
			}
			select {
			case r := <-reasons:
				assert.Equal(t, "transport error", r)
			case <-testCtx(t).Done():
				t.Fatal("the stalled client was not disconnected")
			}
			assert.False(t, stalledSock.Connected())
			<-readDone
			assert.Equal(t, int64(total), got.Load(), "the reading client got every broadcast")
			assert.Equal(t, int64(1), h.Stats().Overflows)
			assert.Equal(t, int64(1), h.Stats().Sockets["/"])
		})
	}
}

// leanWire adapts a leanClient to wireClient.
type leanWire struct{ c *leanClient }

func (w *leanWire) send(t *testing.T, packets ...string) {
	for _, p := range packets {
		w.c.write(t, p)
	}
}

func (w *leanWire) recv(t *testing.T) transport.Frame { return transport.TextFrame(w.c.next(t)) }

// TestSocketVolatile: Socket.Volatile().Emit reaches a client that is ready
// for it, and for one that is not (it stopped reading) the events are
// dropped, never queued past the bound: the socket stays connected and the
// drops are counted in Stats and in the Prometheus output.
func TestSocketVolatile(t *testing.T) {
	h := newHub(t, &hub.Options{
		PingInterval: time.Minute, PingTimeout: time.Minute,
		Transports: []transport.Transport{websocket.New(&websocket.Options{SendBuffer: 4 << 10})},
	})
	socks := make(chan *namespace.Socket, 2)
	reasons := make(chan string, 2)
	socketsOf(h, socks, reasons)
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	reader := dialLean(t, url, 0)
	s := nextSocket(t, socks)
	require.NoError(t, s.Volatile().Emit("tick", 0))
	assert.Equal(t, `42["tick",0]`, reader.next(t), "a client with nothing waiting gets a volatile event")
	assert.Equal(t, int64(0), h.Stats().Dropped)

	dialLean(t, url, 4096) // stops reading
	stalled := nextSocket(t, socks)
	payload := strings.Repeat("v", 1<<10)
	const n = 4 * defaultQueueBytes / (1 << 10)
	for i := range n {
		require.NoError(t, stalled.Volatile().Emit("tick", i, payload))
	}
	dropped := h.Stats().Dropped
	assert.Greater(t, dropped, int64(0), "volatile events are dropped for a client that does not read")
	assert.Less(t, dropped, int64(n))
	assert.True(t, stalled.Connected(), "volatile events never disconnect")
	select {
	case r := <-reasons:
		t.Fatalf("disconnected by volatile events: %s", r)
	default:
	}
	assert.ErrorIs(t, s.Volatile().Emit("connect"), namespace.ErrReservedEvent)

	metrics := httptest.NewServer(hub.MetricsHandler(h))
	defer metrics.Close()
	res, err := http.Get(metrics.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(body), "# TYPE realtime_dropped_total counter\nrealtime_dropped_total "+strconv.FormatInt(dropped, 10)+"\n")
}

// TestVolatileBurst: 50 volatile events emitted in a burst to a WebSocket
// client that reads: socket.io drops a volatile packet while the transport
// still has frames to write, so not all arrive, and every one dropped is
// counted. Both forms: Socket.Volatile and a volatile broadcast.
func TestVolatileBurst(t *testing.T) {
	for _, tc := range []struct {
		name string
		emit func(h *hub.Server, s *namespace.Socket, i int, payload string) error
	}{
		{"socket", func(_ *hub.Server, s *namespace.Socket, i int, payload string) error {
			return s.Volatile().Emit("tick", i, payload)
		}},
		{"broadcast", func(h *hub.Server, _ *namespace.Socket, i int, payload string) error {
			return h.To("room").Volatile().Emit("tick", i, payload)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, &hub.Options{
				PingInterval: time.Minute, PingTimeout: time.Minute,
				Transports: []transport.Transport{websocket.New(&websocket.Options{SendBuffer: 4 << 10})},
			})
			socks := make(chan *namespace.Socket, 1)
			socketsOf(h, socks, make(chan string, 1))
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := dialLean(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", 0)
			s := nextSocket(t, socks)

			const n = 50
			payload := strings.Repeat("p", 1<<10)
			for i := range n {
				require.NoError(t, tc.emit(h, s, i, payload))
			}
			require.NoError(t, s.Emit("end"))
			received, last := 0, -1
			for {
				msg := c.next(t)
				if msg == `42["end"]` {
					break
				}
				var i int
				require.True(t, strings.HasPrefix(msg, `42["tick",`), msg)
				_, err := fmt.Sscanf(msg[len(`42["tick",`):], "%d", &i)
				require.NoError(t, err)
				assert.Greater(t, i, last, "in order")
				last = i
				received++
			}
			t.Logf("%d of %d volatile events arrived", received, n)
			assert.Less(t, received, n, "not every volatile event of a burst arrives")
			assert.Equal(t, int64(n-received), h.Stats().Dropped, "every dropped event is counted")
			assert.True(t, s.Connected())
		})
	}
}

// TestFailedReplayIsNotKept: a client whose recovery replay is cut (it
// stops reading, then its connection is lost) is not recovered again: its
// next try gets a fresh session at once, instead of a replay that fails
// the same way until the recovery window ends.
func TestFailedReplayIsNotKept(t *testing.T) {
	h, reasons := recoveryHub(t)
	ctx := testCtx(t)
	// More is missed than a client's queue holds.
	s1 := missSome(t, h, reasons, 2*defaultQueueBytes/(4<<10))

	// The client comes back, takes the CONNECT answer and stops reading;
	// then its connection is lost, mid-replay.
	_, clientEnd := recoverStalling(t, h, s1)
	require.NoError(t, clientEnd.Close())
	require.Eventually(t, func() bool { return h.Of("/").Socket(s1.ID()) == nil }, testTimeout, pollEvery)

	conn3, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer conn3.Close()
	s3, err := conn3.Recover(ctx, s1, nil)
	require.NoError(t, err)
	assert.False(t, s3.Recovered(), "a failed recovery is not offered again")
	assert.NotEqual(t, s1.ID(), s3.ID())
}

// stallingClient is the client end of a memory pipe that reads up to the
// CONNECT answer, then stops reading until released; it then notes the
// numbers of the "item" events it gets.
type stallingClient struct {
	answer  chan string
	release chan struct{}
	closed  chan struct{}
	once    sync.Once

	mu    sync.Mutex
	items []int
}

func newStallingClient() *stallingClient {
	return &stallingClient{answer: make(chan string, 1), release: make(chan struct{}), closed: make(chan struct{})}
}

func (c *stallingClient) HandleFrame(f transport.Frame) error {
	text := string(f.Data)
	if strings.HasPrefix(text, "40") {
		c.once.Do(func() { c.answer <- text })
		<-c.release
	}
	if rest, ok := strings.CutPrefix(text, `42["item",`); ok {
		i, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.items = append(c.items, i)
		c.mu.Unlock()
	}
	return nil
}

func (c *stallingClient) HandleClose(error) { close(c.closed) }

func (c *stallingClient) received() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.items)
}

// recoverStalling connects a stallingClient to h asking to recover old,
// and waits for the CONNECT answer, which it checks is a recovery.
func recoverStalling(t *testing.T, h *hub.Server, old *hubtest.Socket) (*stallingClient, *memory.Conn) {
	t.Helper()
	serverEnd, clientEnd := memory.Pipe(transport.Params{})
	st := newStallingClient()
	clientEnd.Start(st)
	h.ServeConn(serverEnd, nil)
	t.Cleanup(func() {
		_ = clientEnd.Close()
		select {
		case <-st.release:
		default:
			close(st.release)
		}
	})
	auth := old.RecoveryAuth()
	require.NoError(t, clientEnd.Send(transport.TextFrame(`40{"pid":"`+auth["pid"]+`","offset":"`+auth["offset"]+`"}`)))
	select {
	case answer := <-st.answer:
		require.Contains(t, answer, `"sid":"`+old.ID()+`"`, "the session is being recovered")
	case <-testCtx(t).Done():
		t.Fatal("no CONNECT answer")
	}
	return st, clientEnd
}

// missSome connects a client that joins "news", gets one broadcast (for
// its offset) and loses its connection; then n broadcasts item(i, 4 KB)
// are missed.
func missSome(t *testing.T, h *hub.Server, reasons <-chan string, n int) *hubtest.Socket {
	t.Helper()
	conn, s1 := connect(t, h, "/", nil)
	require.NoError(t, h.To("news").Emit("item", -1))
	_, err := s1.Expect(testCtx(t), "item")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	assert.Equal(t, "transport close", <-reasons)
	payload := strings.Repeat("m", 4<<10)
	for i := range n {
		require.NoError(t, h.To("news").Emit("item", i, payload))
	}
	return s1
}

// recoveryHub is a hub with recovery whose sockets join "news", reporting
// their disconnect reasons.
func recoveryHub(t *testing.T) (*hub.Server, chan string) {
	h := newHub(t, &hub.Options{ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: time.Minute}})
	reasons := make(chan string, 4)
	h.OnConnection(func(s *namespace.Socket) {
		if !s.Recovered() {
			s.Join("news")
		}
		s.OnDisconnect(func(r string) { reasons <- r })
	})
	return h, reasons
}

// TestLiveBroadcastsFollowTheReplay: broadcasts made while a recovered
// client is still being sent what it missed reach it after the missed ones,
// in order, through the replay: they neither overtake it nor overflow its
// queue (which the replay keeps at its bound while the client reads).
func TestLiveBroadcastsFollowTheReplay(t *testing.T) {
	h, reasons := recoveryHub(t)
	const missed, live = 2 * defaultQueueBytes / (4 << 10), 100
	s1 := missSome(t, h, reasons, missed)
	before := h.Stats().PacketsOut
	st, _ := recoverStalling(t, h, s1)

	// The replay is under way, and cannot be done: the client has read
	// none of it, and it is twice what the client's queue holds. Once a
	// quarter of a queue's worth has been sent (the replay waits from half
	// of it), the broadcasts go on.
	require.Eventually(t, func() bool { return h.Stats().PacketsOut-before >= defaultQueueBytes/4/(4<<10) }, testTimeout, pollEvery)
	payload := strings.Repeat("l", 4<<10)
	for i := missed; i < missed+live; i++ {
		require.NoError(t, h.To("news").Emit("item", i, payload))
	}
	close(st.release)
	require.Eventually(t, func() bool { return len(st.received()) >= missed+live }, testTimeout, pollEvery,
		"items received: %d of %d", len(st.received()), missed+live)
	got := st.received()
	for i, n := range got {
		require.Equal(t, i, n, "every item once, in order")
	}
	assert.NotNil(t, h.Of("/").Socket(s1.ID()), "the recovered socket is connected")
	assert.Equal(t, int64(0), h.Stats().Overflows)
	require.NoError(t, h.To("news").Emit("item", missed+live, "after"))
	require.Eventually(t, func() bool { return len(st.received()) == missed+live+1 }, testTimeout, pollEvery,
		"a broadcast after the replay goes straight to the client")
}

// TestNonReaderCostsBoundedMemory: a client that asks for 500 echoes of
// 500 KB and never reads them (it answers pings blindly) costs the server
// no more than about its queue's bound, is then disconnected, and the other
// clients do not notice.
func TestNonReaderCostsBoundedMemory(t *testing.T) {
	// Heartbeats short enough for the test to end soon, long enough for a
	// client that reads to answer in time on a loaded machine.
	h := newHub(t, &hub.Options{PingInterval: 2 * time.Second, PingTimeout: 2 * time.Second})
	socks := make(chan *namespace.Socket, 2)
	reasons := make(chan string, 2)
	h.OnConnection(func(s *namespace.Socket) {
		s.On("echo", func(e *namespace.Event) { _ = s.Emit("echo", e.Args.Values()...) })
		s.OnDisconnect(func(reason string) { reasons <- reason })
		socks <- s
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	other := startPonging(dialLean(t, url, 0))
	nextSocket(t, socks)
	echo := func() {
		require.NoError(t, other.write(`42["echo","still here"]`))
		select {
		case msg := <-other.msgs:
			assert.Equal(t, `42["echo","still here"]`, msg)
		case <-testCtx(t).Done():
			t.Fatal("no echo")
		}
	}
	echo()

	base := liveHeap()
	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if heap := liveHeap(); heap > peak.Load() {
				peak.Store(heap)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()

	nonReader := &pongingClient{c: dialLean(t, url, 4096)}
	nextSocket(t, socks)
	write := nonReader.write
	stopPongs := make(chan struct{})
	var writers sync.WaitGroup
	writers.Add(2)
	go func() { // answers pings without reading them
		defer writers.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPongs:
				return
			case <-tick.C:
				if write("3") != nil {
					return
				}
			}
		}
	}()
	go func() {
		defer writers.Done()
		msg := `42["echo","` + strings.Repeat("e", 500<<10) + `"]`
		for range 500 {
			if write(msg) != nil {
				return // the server closed the connection
			}
		}
	}()

	var reason string
	select {
	case reason = <-reasons:
	case <-time.After(time.Minute):
		t.Fatal("the client that does not read was not disconnected")
	}
	t.Logf("disconnected: %s", reason)
	assert.NotEmpty(t, reason)
	close(stopSampling)
	<-sampled
	close(stopPongs)
	_ = nonReader.c.conn.Close()
	writers.Wait()

	growth := int64(peak.Load()) - int64(base)
	t.Logf("server heap growth: %d KiB (bound %d KiB)", growth>>10, defaultQueueBytes>>10)
	assert.Less(t, growth, int64(2*defaultQueueBytes+8<<20), "heap growth stays under twice the queue bound plus a constant")
	echo() // the other client carries on
	assert.Equal(t, int64(1), h.Stats().Sockets["/"])
}

// pongingClient is a leanClient whose frames, once started, are read on a
// goroutine that answers pings and passes the other packets on.
type pongingClient struct {
	c    *leanClient
	mu   sync.Mutex // serialises writes
	msgs chan string
}

func startPonging(c *leanClient) *pongingClient {
	p := &pongingClient{c: c, msgs: make(chan string, 16)}
	go func() {
		for {
			b, err := c.read(nil)
			if err != nil {
				return
			}
			if string(b) == "2" {
				_ = p.write("3")
				continue
			}
			select {
			case p.msgs <- string(b):
			default: // nobody is waiting for it
			}
		}
	}()
	return p
}

func (p *pongingClient) write(text string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ws.WriteFrame(p.c.conn, ws.MaskFrame(ws.NewTextFrame([]byte(text))))
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSocketEmitBurstWaits: a burst emitted to one socket, in every form
// that emits to it, waits for a client that reads instead of overflowing
// its queue: all of it arrives, in order, and the client stays connected.
func TestSocketEmitBurstWaits(t *testing.T) {
	for _, tc := range []struct {
		name string
		emit func(s *namespace.Socket, i int, payload string) error
	}{
		{"Emit", func(s *namespace.Socket, i int, payload string) error { return s.Emit("tick", i, payload) }},
		{"Compress(false).Emit", func(s *namespace.Socket, i int, payload string) error {
			return s.Compress(false).Emit("tick", i, payload)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, &hub.Options{
				PingInterval: time.Minute, PingTimeout: time.Minute,
				MaxQueueBytes: 32 << 10,
				Transports:    []transport.Transport{websocket.New(&websocket.Options{SendBuffer: 4 << 10})},
			})
			socks := make(chan *namespace.Socket, 1)
			socketsOf(h, socks, make(chan string, 1))
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := dialLean(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", 0)
			s := nextSocket(t, socks)

			const n = 500 // 500 KB through a 32 KB queue
			payload := strings.Repeat("p", 1<<10)
			emitted := make(chan error, 1)
			go func() {
				for i := range n {
					if err := tc.emit(s, i, payload); err != nil {
						emitted <- err
						return
					}
				}
				emitted <- nil
			}()
			for i := range n {
				msg := c.next(t)
				require.True(t, strings.HasPrefix(msg, `42["tick",`+strconv.Itoa(i)+`,`), "event %d: %.40s", i, msg)
			}
			require.NoError(t, <-emitted)
			assert.True(t, s.Connected())
		})
	}
}
