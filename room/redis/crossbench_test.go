package redis_test

import (
	"context"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/room/redis"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCrossNodeFigures prints the figures of BENCHMARKS.md's cluster
// section: a Go pair and a Node.js pair on one redis-server, 1,000
// clients on the second node of each; node one broadcasts (fan-out) and
// broadcasts with ack. CPU is the whole process's: for Go both nodes and
// the in-memory clients, for Node both servers and their socket.io-client
// clients (which cost far more than the Go test's).
//
//	REALTIME_REDIS=1 REALTIME_CROSSBENCH=1 go test -run CrossNodeFigures -v ./room/redis/
func TestCrossNodeFigures(t *testing.T) {
	if os.Getenv("REALTIME_CROSSBENCH") != "1" {
		t.Skip("set REALTIME_CROSSBENCH=1")
	}
	const clients, rounds, acks = 1000, 200, 10
	srv := startRedis(t)
	opts := &redis.Options{RequestTimeout: 20 * time.Second}
	ha, hb := newNode(t, srv, opts), newNode(t, srv, opts)
	web := httptest.NewServer(ha)
	t.Cleanup(web.Close)

	// Go pair: ha emits, hb's clients receive.
	var ticks atomic.Int64
	done := make(chan struct{}, 1)
	var target atomic.Int64
	for range clients {
		serverEnd, clientEnd := memory.Pipe(transport.Params{})
		c := &ackClient{conn: clientEnd, ready: make(chan struct{})}
		clientEnd.Start(countTicks{c, func() {
			if ticks.Add(1) == target.Load() {
				done <- struct{}{}
			}
		}})
		t.Cleanup(func() { _ = clientEnd.Close() })
		hb.ServeConn(serverEnd, nil)
		<-c.ready
	}
	payload := map[string]any{"user": "someone", "text": "a chat message of a typical size, sent to every client"}
	target.Store(clients * rounds)
	cpu0, t0 := cpuNow(), time.Now()
	for range rounds {
		require.NoError(t, ha.Emit("tick", payload))
	}
	<-done
	goCPU, goWall := cpuNow()-cpu0, time.Since(t0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t1 := time.Now()
	for range acks {
		r, err := ha.Of("/").EmitWithAck(ctx, "question")
		require.NoError(t, err)
		require.Len(t, r, clients)
	}
	goAcks := float64(acks*clients) / time.Since(t1).Seconds()

	// Node pair: n1 emits, n2's clients receive.
	srv2 := startRedis(t)
	n1 := startNodeDriver(t, srv2.Addr, web.URL)
	n2 := startNodeDriver(t, srv2.Addr, web.URL)
	var k int
	n2.call(&k, "connectMany", map[string]any{"target": "node", "count": clients})
	var c1a, c2a, c1b, c2b float64
	n1.call(&c1a, "cpu", nil)
	n2.call(&c2a, "cpu", nil)
	t2 := time.Now()
	n1.call(nil, "emitMany", map[string]any{"n": rounds})
	for got := 0; got < clients*rounds; {
		n2.call(&got, "ticks", nil)
		require.Less(t, time.Since(t2), time.Minute)
	}
	nodeWall := time.Since(t2)
	n1.call(&c1b, "cpu", nil)
	n2.call(&c2b, "cpu", nil)
	nodeCPU := time.Duration(c1b-c1a+c2b-c2a) * time.Microsecond
	t3 := time.Now()
	for range acks {
		var res struct {
			Count int `json:"count"`
		}
		n1.call(&res, "emitWithAckCount", map[string]any{"timeout": 20000})
		require.Equal(t, clients, res.Count)
	}
	nodeAcks := float64(acks*clients) / time.Since(t3).Seconds()

	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(clients*rounds) }
	t.Logf("| | Go pair | Node pair |")
	t.Logf("|---|---|---|")
	t.Logf("| fan-out: CPU per delivery (µs, whole process) | %.2f | %.2f |", per(goCPU), per(nodeCPU))
	t.Logf("| fan-out: deliveries/s | %.0f | %.0f |", float64(clients*rounds)/goWall.Seconds(), float64(clients*rounds)/nodeWall.Seconds())
	t.Logf("| acks/s across nodes (%d × EmitWithAck to %d remote clients) | %.0f | %.0f |", acks, clients, goAcks, nodeAcks)
}

// countTicks counts the "tick" events an ackClient receives.
type countTicks struct {
	*ackClient
	onTick func()
}

func (c countTicks) HandleFrame(f transport.Frame) error {
	if len(f.Data) > 8 && string(f.Data[:9]) == `42["tick"` {
		c.onTick()
		return nil
	}
	return c.ackClient.HandleFrame(f)
}
