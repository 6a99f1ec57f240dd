package hub_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/racedetect"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/websocket"
)

// leanClient is a minimal Socket.IO client over a raw WebSocket that counts
// the "msg" events it receives, for tests with many clients.
type leanClient struct {
	conn net.Conn
	rd   *bufio.Reader
}

func dialLean(t *testing.T, url string, rcvbuf int) *leanClient {
	t.Helper()
	d := ws.Dialer{Timeout: 10 * time.Second}
	if rcvbuf > 0 {
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
				return c.Control(func(fd uintptr) {
					_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
				})
			}}
			return nd.DialContext(ctx, network, addr)
		}
	}
	conn, br, _, err := d.Dial(context.Background(), url)
	require.NoError(t, err)
	c := &leanClient{conn: conn, rd: bufio.NewReaderSize(conn, 64<<10)}
	if br != nil {
		c.rd = bufio.NewReaderSize(io.MultiReader(br, conn), 64<<10)
	}
	t.Cleanup(func() { _ = conn.Close() })
	require.True(t, strings.HasPrefix(c.next(t), `0{"sid"`))
	c.write(t, "40")
	require.True(t, strings.HasPrefix(c.next(t), `40{"sid"`))
	return c
}

// next reads one frame's payload as text (answering pings).
func (c *leanClient) next(t *testing.T) string {
	for {
		p, err := c.read(nil)
		require.NoError(t, err)
		if string(p) == "2" {
			c.write(t, "3")
			continue
		}
		return string(p)
	}
}

// read reads one frame into buf's storage.
func (c *leanClient) read(buf []byte) ([]byte, error) {
	var h [10]byte
	if _, err := io.ReadFull(c.rd, h[:2]); err != nil {
		return nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(c.rd, h[:2]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(c.rd, h[:8]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint64(h[:8]))
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(c.rd, buf)
	return buf, err
}

func (c *leanClient) write(t *testing.T, text string) {
	f := ws.MaskFrame(ws.NewTextFrame([]byte(text)))
	require.NoError(t, ws.WriteFrame(c.conn, f))
}

// TestStalledClient: one client stops reading while messages are broadcast
// to a room; every other client gets every message, the stalled one is
// disconnected for being too slow, and the broadcasts never wait for it.
// Full size (1,000 receivers × 10,000 messages) without the race detector;
// smaller with it, which is ten times slower.
func TestStalledClient(t *testing.T) {
	receivers, messages := 1000, 10000
	if racedetect.Enabled || testing.Short() {
		receivers, messages = 100, 2000
	}
	h := newHub(t, &hub.Options{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxQueueBytes: 192 << 10,
		// A small kernel send buffer, so that the stalled client's backlog
		// reaches the hub's queue within the test's volume.
		Transports: []transport.Transport{websocket.New(&websocket.Options{SendBuffer: 16 << 10})},
	})
	reasons := make(chan string, receivers+2)
	joined := make(chan struct{}, receivers+2)
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("room")
		s.OnDisconnect(func(reason string) { reasons <- reason })
		joined <- struct{}{}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	stalled := dialLean(t, url, 4096) // never read from again
	clients := make([]*leanClient, receivers-1)
	for i := range clients {
		clients[i] = dialLean(t, url, 0)
	}
	for range receivers {
		<-joined
	}

	var wg sync.WaitGroup
	counts := make([]atomic.Int64, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			for counts[i].Load() < int64(messages) {
				p, err := c.read(buf)
				if err != nil {
					return
				}
				if strings.HasPrefix(string(p), `42["msg"`) {
					counts[i].Add(1)
				}
			}
		}()
	}
	// slowest is the fewest messages a reading client has received.
	slowest := func() int64 {
		m := int64(messages)
		for i := range counts {
			m = min(m, counts[i].Load())
		}
		return m
	}

	// The sender keeps at most `window` messages ahead of the slowest
	// reading client (they share two cores with the server here), while
	// the stalled client falls ever further behind.
	const window = 256
	payload := strings.Repeat("x", 100)
	start := time.Now()
	for i := 0; i < messages; i++ {
		if i%window == 0 {
			require.Eventually(t, func() bool { return slowest() >= int64(i-window) }, time.Minute, 100*time.Microsecond)
		}
		require.NoError(t, h.To("room").Emit("msg", i, payload))
	}
	emitTime := time.Since(start)

	assert.Equal(t, "transport error", <-reasons, "the stalled client is disconnected")
	wg.Wait()
	for i := range counts {
		require.Equal(t, int64(messages), counts[i].Load(), "client %d missed messages", i)
	}
	st := h.Stats()
	assert.Equal(t, int64(1), st.Overflows)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.HeapInuse, uint64(512<<20), "server memory stays bounded")
	t.Logf("%d receivers × %d messages: emitted in %v, heap in use %d MiB", receivers, messages, emitTime, ms.HeapInuse>>20)
	_ = stalled
}

// TestVolatileDrops: volatile broadcasts are dropped for a client that is
// behind instead of disconnecting it; a regular broadcast then overflows it.
func TestVolatileDrops(t *testing.T) {
	h := newHub(t, &hub.Options{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxQueueBytes: 16 << 10,
		Transports: []transport.Transport{websocket.New(&websocket.Options{SendBuffer: 4 << 10})},
	})
	reasons := make(chan string, 2)
	joined := make(chan struct{}, 2)
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("room")
		s.OnDisconnect(func(reason string) { reasons <- reason })
		joined <- struct{}{}
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	dialLean(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", 4096)
	<-joined
	payload := strings.Repeat("v", 1000)
	for i := 0; i < 2000; i++ {
		require.NoError(t, h.To("room").Volatile().Emit("tick", i, payload))
	}
	require.Eventually(t, func() bool { return h.Stats().Dropped > 0 }, 10*time.Second, time.Millisecond)
	select {
	case r := <-reasons:
		t.Fatalf("disconnected by volatile messages: %s", r)
	default:
	}
	assert.Equal(t, int64(1), h.Stats().Sockets["/"])
	for i := 0; i < 2000; i++ {
		if err := h.To("room").Emit("tick", i, payload); err != nil {
			break
		}
	}
	assert.Equal(t, "transport error", <-reasons)
	assert.Equal(t, int64(1), h.Stats().Overflows)
}
