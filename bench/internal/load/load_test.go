package load_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/leaktest"

	"github.com/go-realtime/realtime/bench/internal/benchserver"
	"github.com/go-realtime/realtime/bench/internal/load"
	"github.com/go-realtime/realtime/hub"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

// server starts the bench hub on a loopback httptest server with a short
// ping interval, so that the clients must answer pings to stay connected.
func server(t *testing.T) (addr string) {
	t.Helper()
	addr, _ = hubServer(t, fastPings)
	return addr
}

// fastPings makes the server ping every 50 ms and drop a client that
// does not answer within 300 ms: for the tests that check the load
// generator answers pings. Tests of other things use the hub's defaults, so
// that a loaded machine (race detector, parallel packages) cannot time
// their clients out.
var fastPings = &hub.Options{PingInterval: 50 * time.Millisecond, PingTimeout: 300 * time.Millisecond}

// hubServer starts the bench server with opts (nil: defaults) and returns
// its address and hub.
func hubServer(t *testing.T, opts *hub.Options) (addr string, h *hub.Server) {
	t.Helper()
	h = benchserver.New(opts)
	t.Cleanup(func() { t.Logf("engine stats: %+v", h.Engine().Stats()) })
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
	})
	return strings.TrimPrefix(srv.URL, "http://"), h
}

func TestRunSmall(t *testing.T) {
	addr := server(t)
	cfg := load.Config{
		ConnectN: 120, ConnectRate: 5000,
		FanoutReceivers: 100, FanoutMessages: 5, FanoutRounds: 2,
		PacedRate: 2000, PacedDuration: 100 * time.Millisecond,
		EchoClients: 5, EchoDuration: 200 * time.Millisecond,
		HoldMax: 30, HoldRate: 5000, HoldDuration: 300 * time.Millisecond,
		ChurnRooms: 1001, ChurnWindow: 64,
		DialConcurrency: 8,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := load.Run(ctx, load.Target{Name: "go", Addr: addr, PID: os.Getpid()}, cfg)
	require.NoError(t, err)
	assert.Empty(t, res.Notes)

	get := func(sc, name string) float64 {
		t.Helper()
		m, ok := res.Get(sc, name)
		require.True(t, ok, "%s / %s missing", sc, name)
		return m.Value
	}
	assert.Equal(t, 120.0, get(load.ScConnect, load.MConnected))
	assert.Positive(t, get(load.ScConnect, load.MConnectP99))
	assert.GreaterOrEqual(t, get(load.ScConnect, load.MCPUPerConnect), 0.0)
	assert.Equal(t, 2*100*5.0, get(load.ScFanout, load.MDelivered))
	assert.Positive(t, get(load.ScFanout, load.MDeliveredRate))
	assert.Positive(t, get(load.ScFanout, load.MLatP99))
	// 100ms at 2000 deliveries/s to 100 receivers: 2 messages.
	assert.Equal(t, 200.0, get(load.ScPaced, load.MDelivered))
	assert.Equal(t, 200.0, get(load.ScPacedFew, load.MDelivered))
	assert.Positive(t, get(load.ScPacedFew, load.MLatP99))
	assert.Positive(t, get(load.ScEcho, load.MRoundTrips))
	assert.Positive(t, get(load.ScEcho, load.MLatP50))
	// Held through several pings (every 50ms, 300ms to answer).
	assert.Equal(t, 30.0, get(load.ScHold, load.MHeld))
	assert.Equal(t, 30.0, get(load.ScHold, load.MAlive))
	assert.Positive(t, get(load.ScHold, load.MServerRSS))
	assert.Positive(t, get(load.ScHold, load.MConnectRate))
	assert.GreaterOrEqual(t, get(load.ScHold, load.MCPUPerConnect), 0.0)
	assert.Equal(t, 1001.0, get(load.ScChurn, load.MRooms))
	for _, m := range []string{load.MJoinRate1, load.MJoinRate2, load.MLeaveRate1, load.MLeaveRate2} {
		assert.Positive(t, get(load.ScChurn, m), m)
	}
	assert.GreaterOrEqual(t, get(load.ScChurn, load.MCPUPerJoin), 0.0)
	assert.GreaterOrEqual(t, get(load.ScChurn, load.MCPUPerLeave), 0.0)
}

// TestJoinLeavePipelined: acked join and leave events sent many per write
// are all answered, and the bench server joins and leaves the rooms.
func TestJoinLeavePipelined(t *testing.T) {
	addr, h := hubServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := load.Dial(ctx, addr, nil)
	require.NoError(t, err)
	defer c.Close()
	send := func(event string, n int) {
		t.Helper()
		evs := make([][]byte, n)
		for i := range evs {
			evs[i] = fmt.Appendf(nil, `[%q,"r%d"]`, event, i)
		}
		replies := make(chan string, n)
		require.NoError(t, c.EmitAcks(evs, func(reply []byte) { replies <- string(reply) }))
		for range n {
			select {
			case r := <-replies:
				require.Equal(t, `["ok"]`, r)
			case <-ctx.Done():
				t.Fatalf("%s: acks missing", event)
			}
		}
	}
	send("join", 300)
	assert.Len(t, h.Of("/").Adapter().RoomNames(), 300)
	send("leave", 300)
	assert.Empty(t, h.Of("/").Adapter().RoomNames())
}

func TestParseSkip(t *testing.T) {
	got, err := load.ParseSkip(" paced,churn ,")
	require.NoError(t, err)
	assert.Equal(t, []string{load.ScPaced, load.ScPacedFew, load.ScChurn}, got)
	_, err = load.ParseSkip("fanout,nope")
	assert.ErrorContains(t, err, `"nope"`)
}

func TestStatsAndEvents(t *testing.T) {
	addr := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got := make(chan string, 10)
	recv, took, err := load.Dial(ctx, addr, &load.DialOptions{Hooks: &load.Hooks{
		OnMsg: func(_ *load.Client, arg []byte) { got <- string(arg) },
	}})
	require.NoError(t, err)
	defer recv.Close()
	assert.Positive(t, took)
	send, _, err := load.Dial(ctx, addr, nil)
	require.NoError(t, err)
	defer send.Close()

	reply, err := recv.Call(ctx, []byte(`["join","room one"]`))
	require.NoError(t, err)
	assert.Equal(t, `["ok"]`, string(reply))

	reply, err = send.Call(ctx, []byte(`["echo",{"a":[1,2]},"x"]`))
	require.NoError(t, err)
	assert.Equal(t, `[{"a":[1,2]},"x"]`, string(reply))

	require.NoError(t, send.Emit([]byte(`["bcast","room one",{"t":5,"p":"hi"}]`)))
	select {
	case m := <-got:
		assert.Equal(t, `{"t":5,"p":"hi"}`, m)
	case <-ctx.Done():
		t.Fatal("no broadcast received")
	}
	assert.Equal(t, int64(1), recv.Msgs.Load())

	st, err := load.ServerStats(ctx, send, true)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Clients)
	assert.Positive(t, st.RSS)
	assert.Positive(t, st.HeapUsed)
	assert.Positive(t, st.Goroutines)

	// Several pings go by: the clients answer them and stay connected.
	select {
	case <-recv.Done():
		t.Fatalf("client closed: %v", recv.Err())
	case <-time.After(700 * time.Millisecond):
	}
	require.NoError(t, recv.Close())
	assert.ErrorIs(t, recv.Err(), load.ErrClosed)
}

func TestProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	pid := os.Getpid()
	cpu, err := load.ProcCPU(pid)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, cpu, time.Duration(0))
	rss, err := load.ProcRSS(pid)
	require.NoError(t, err)
	assert.Positive(t, rss)
	files, err := load.ProcMaxFiles(pid)
	require.NoError(t, err)
	assert.Positive(t, files)
	_, err = load.ProcCPU(1 << 30)
	assert.Error(t, err)
}
