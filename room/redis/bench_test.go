package redis_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room/redis"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
)

// countingClient is a minimal client on the in-memory transport that
// counts the EVENT packets it receives without decoding them, so that the
// benchmark measures the servers (and Redis), not a client.
type countingClient struct {
	conn      *memory.Conn
	connected chan struct{}
	onEvent   func()
}

func (c *countingClient) HandleFrame(f transport.Frame) error {
	switch {
	case len(f.Data) == 0:
	case f.Data[0] == '0': // Engine.IO open: join the main namespace
		return c.conn.Send(transport.TextFrame("40"))
	case f.Data[0] == '2':
		return c.conn.Send(transport.TextFrame("3"))
	case len(f.Data) > 1 && f.Data[0] == '4' && f.Data[1] == '0':
		close(c.connected)
	case len(f.Data) > 1 && f.Data[0] == '4' && f.Data[1] == '2':
		c.onEvent()
	}
	return nil
}

func (c *countingClient) HandleClose(error) {}

// BenchmarkClusterFanout measures broadcasts through Redis: node A emits
// to every socket of the namespace, the sockets all being on node B.
// deliveries/s counts the events node B's clients received (clients that
// count frames without decoding them). Broadcasts go in batches of 256,
// each waited for, so that no client queue overflows.
//
//	REALTIME_REDIS=1 go test -run '^$' -bench ClusterFanout -benchtime 5000x ./room/redis/
func BenchmarkClusterFanout(b *testing.B) {
	srv := startRedis(b)
	ha := newNode(b, srv, &redis.Options{RequestTimeout: 10 * time.Second})
	hb := newNode(b, srv, &redis.Options{RequestTimeout: 10 * time.Second})
	benchFanout(b, ha, hb, []int{100, 1000})
}

// BenchmarkClusterFanoutAdapters compares the pub/sub adapter (New) with
// the streams adapter (NewStreams), without and with connection state
// recovery, 10 and 1,000 clients on node B: broadcasts/s, deliveries/s and the
// process's CPU per delivery (both nodes and the counting clients).
//
//	REALTIME_REDIS=1 go test -run '^$' -bench ClusterFanoutAdapters -benchtime 5000x ./room/redis/
func BenchmarkClusterFanoutAdapters(b *testing.B) {
	for _, kind := range []string{"pubsub", "streams", "streams+recovery"} {
		b.Run("adapter="+kind, func(b *testing.B) {
			srv := startRedis(b)
			node := func() *hub.Server {
				opts := redis.Options{RequestTimeout: 10 * time.Second, Logger: quiet}
				if kind == "pubsub" {
					return newHubWith(b, &hub.Options{Adapter: redis.New(srv.Client(b), &opts), Logger: quiet})
				}
				ho := &hub.Options{Adapter: redis.NewStreams(srv.Client(b), &redis.StreamsOptions{Options: opts}), Logger: quiet}
				if kind == "streams+recovery" {
					ho.ConnectionStateRecovery = &namespace.Recovery{}
				}
				return newHubWith(b, ho)
			}
			benchFanout(b, node(), node(), []int{10, 1000})
		})
	}
}

// benchFanout runs the fan-out benchmark from ha to clients on hb.
func benchFanout(b *testing.B, ha, hb *hub.Server, sizes []int) {
	var received, target atomic.Int64
	done := make(chan struct{}, 1)
	onEvent := func() {
		if received.Add(1) == target.Load() {
			done <- struct{}{}
		}
	}
	clients := 0
	addClients := func(n int) {
		if n <= clients {
			return
		}
		// The test hub greets every socket with "ready": wait for those.
		target.Store(received.Load() + int64(n-clients))
		for ; clients < n; clients++ {
			serverEnd, clientEnd := memory.Pipe(transport.Params{})
			c := &countingClient{conn: clientEnd, connected: make(chan struct{}), onEvent: onEvent}
			clientEnd.Start(c)
			b.Cleanup(func() { _ = clientEnd.Close() })
			hb.ServeConn(serverEnd, nil)
			select {
			case <-c.connected:
			case <-time.After(10 * time.Second):
				b.Fatal("client did not connect")
			}
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			b.Fatal("clients not ready")
		}
	}
	payload := map[string]any{"user": "someone", "text": "a chat message of a typical size, sent to every client"}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("remote_clients=%d", n), func(b *testing.B) {
			addClients(n)
			const batch = 256
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuNow()
			for sent := 0; sent < b.N; {
				k := min(batch, b.N-sent)
				target.Store(received.Load() + int64(k*n))
				for range k {
					if err := ha.Emit("tick", payload); err != nil {
						b.Fatal(err)
					}
				}
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					b.Fatalf("deliveries stalled at %d of %d", received.Load(), target.Load())
				}
				sent += k
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "broadcasts/s")
			b.ReportMetric(float64((cpuNow()-cpu0).Nanoseconds())/1e3/(float64(b.N)*float64(n)), "cpu-µs/delivery")
			require.Equal(b, target.Load(), received.Load())
		})
	}
}
