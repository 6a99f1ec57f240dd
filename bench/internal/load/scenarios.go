package load

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a running Socket.IO server under test.
type Target struct {
	// Name labels the results ("go", "node").
	Name string
	// Addr is the server's host:port (loopback).
	Addr string
	// PID is the server process, whose /proc entries give its CPU time and
	// RSS; 0 for a server in this process (tests: no CPU figures then).
	PID int
	// Begin and End, when set, bracket each measured scenario (profiling).
	Begin func(scenario string)
	End   func(scenario string)
}

// Config sizes the scenarios. Zero fields take the defaults of a full run
// (see [Full]); [Quick] is the short run.
type Config struct {
	// Connect: how many connections, opened at what rate (per second).
	ConnectN    int
	ConnectRate float64
	// Fanout: receivers in the room, messages per round, measured rounds.
	FanoutReceivers int
	FanoutMessages  int
	FanoutRounds    int
	// Paced fanout: deliveries per second (messages × receivers) and for
	// how long.
	PacedRate     float64
	PacedDuration time.Duration
	// Echo with ack: clients, each with one call in flight, for how long.
	EchoClients  int
	EchoDuration time.Duration
	// Hold: at most HoldMax idle connections (0: skip), opened at HoldRate,
	// held for HoldDuration.
	HoldMax      int
	HoldRate     float64
	HoldDuration time.Duration
	// Room churn: one connection joins ChurnRooms rooms, then leaves them
	// (newest first), with ChurnWindow join (or leave) events sent per
	// write and up to two windows awaiting their acks.
	ChurnRooms  int
	ChurnWindow int
	// DialConcurrency bounds connection attempts in flight.
	DialConcurrency int
	// PayloadSize is the size of the filler string in each message.
	PayloadSize int
	// Skip names scenarios not to run (ScFanout, ScPaced, ScPacedFew,
	// ScEcho, ScHold, ScChurn);
	// connect always runs, the others use its connections.
	Skip []string
	// Log receives progress lines (nil: discarded).
	Log io.Writer
}

// Full is the configuration of a full run (~2 minutes per server).
func Full() Config {
	return Config{
		ConnectN: 5000, ConnectRate: 500,
		FanoutReceivers: 1000, FanoutMessages: 200, FanoutRounds: 3,
		PacedRate: 20000, PacedDuration: 10 * time.Second,
		EchoClients: 50, EchoDuration: 10 * time.Second,
		HoldMax: 0, HoldRate: 2000, HoldDuration: 30 * time.Second,
		ChurnRooms: 60000, ChurnWindow: 256,
		DialConcurrency: 64,
		PayloadSize:     64,
	}
}

// Quick is a short run (~40 seconds per server).
func Quick() Config {
	c := Full()
	c.ConnectRate = 1000
	c.FanoutRounds = 1
	c.PacedDuration = 3 * time.Second
	c.EchoDuration = 3 * time.Second
	c.HoldDuration = 5 * time.Second
	return c
}

// Metric is one measured figure.
type Metric struct {
	Scenario string  `json:"scenario"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	// Lower is true when a lower value is better.
	Lower bool `json:"lower"`
	// Min and Max of the rounds a median was taken over (N > 1).
	Min float64 `json:"min,omitempty"`
	Max float64 `json:"max,omitempty"`
	N   int     `json:"n,omitempty"`
}

// Results are a run's metrics against one target, in order.
type Results struct {
	Target  string   `json:"target"`
	Metrics []Metric `json:"metrics"`
	// Notes report anomalies (failed connections, timeouts).
	Notes []string `json:"notes,omitempty"`
}

// Get returns the value of the named metric.
func (r *Results) Get(scenario, name string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Scenario == scenario && m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

func (r *Results) add(scenario, name, unit string, v float64, lower bool) {
	r.Metrics = append(r.Metrics, Metric{Scenario: scenario, Name: name, Unit: unit, Value: v, Lower: lower})
}

// Metric names shared with the report.
const (
	ScConnect  = "connect"
	ScFanout   = "fanout"
	ScPaced    = "paced fanout"
	ScPacedFew = "paced fanout, 100 receivers"
	ScEcho     = "echo+ack"
	ScHold     = "hold"
	ScChurn    = "room churn"

	MConnected     = "connections"
	MConnectP50    = "connect latency p50"
	MConnectP99    = "connect latency p99"
	MCPUPerConnect = "server CPU per connect"
	MRSSPerConn    = "server RSS per idle connection (after GC)"
	MHeapPerConn   = "server heap per idle connection (after GC)"
	MDelivered     = "deliveries"
	MDeliveredRate = "delivered msgs/s"
	MLatP50        = "latency p50"
	MLatP99        = "latency p99"
	MLatMax        = "latency max"
	MCPUPerDeliv   = "server CPU per delivery"
	MClientCPU     = "load generator CPU per delivery"
	MClientCPURT   = "load generator CPU per round trip"
	MRoundTrips    = "round trips"
	MRTRate        = "round trips/s"
	MCPUPerRT      = "server CPU per round trip"
	MHeld          = "idle connections held"
	MConnectRate   = "connections opened per second"
	MAlive         = "still open after hold"
	MHoldRSSPer    = "server RSS per idle connection (after GC)"
	MProjected1M   = "projected server RSS for 1,000,000 connections"
	MIdleCPU       = "server CPU while holding (per second)"
	MServerRSS     = "server RSS (after GC)"
	MRooms         = "rooms joined, then left"
	MJoinRate1     = "joins/s, first half"
	MJoinRate2     = "joins/s, second half"
	MLeaveRate1    = "leaves/s, first half"
	MLeaveRate2    = "leaves/s, second half"
	MCPUPerJoin    = "server CPU per join"
	MCPUPerLeave   = "server CPU per leave"
)

// Run runs every scenario against t in order: connect, fanout, paced
// fanout, echo with ack, hold, room churn. A failing scenario is noted and
// the next ones still run when they can.
func Run(ctx context.Context, t Target, cfg Config) (*Results, error) {
	cfg = cfg.withDefaults()
	r := &runner{t: t, cfg: cfg, res: &Results{Target: t.Name}}
	r.hooks = &Hooks{OnMsg: r.onMsg}
	if err := r.run(ctx); err != nil {
		return r.res, err
	}
	return r.res, nil
}

func (c Config) withDefaults() Config {
	d := Full()
	if c.ConnectN <= 0 {
		c.ConnectN = d.ConnectN
	}
	if c.ConnectRate <= 0 {
		c.ConnectRate = d.ConnectRate
	}
	if c.FanoutReceivers <= 0 {
		c.FanoutReceivers = d.FanoutReceivers
	}
	if c.FanoutMessages <= 0 {
		c.FanoutMessages = d.FanoutMessages
	}
	if c.FanoutRounds <= 0 {
		c.FanoutRounds = d.FanoutRounds
	}
	if c.PacedRate <= 0 {
		c.PacedRate = d.PacedRate
	}
	if c.PacedDuration <= 0 {
		c.PacedDuration = d.PacedDuration
	}
	if c.EchoClients <= 0 {
		c.EchoClients = d.EchoClients
	}
	if c.EchoDuration <= 0 {
		c.EchoDuration = d.EchoDuration
	}
	if c.HoldRate <= 0 {
		c.HoldRate = d.HoldRate
	}
	if c.HoldDuration <= 0 {
		c.HoldDuration = d.HoldDuration
	}
	if c.ChurnRooms <= 0 {
		c.ChurnRooms = d.ChurnRooms
	}
	if c.ChurnWindow <= 0 {
		c.ChurnWindow = d.ChurnWindow
	}
	if c.DialConcurrency <= 0 {
		c.DialConcurrency = d.DialConcurrency
	}
	if c.PayloadSize <= 0 {
		c.PayloadSize = d.PayloadSize
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

type runner struct {
	t     Target
	cfg   Config
	res   *Results
	hooks *Hooks
	ctl   *Client
	cur   atomic.Pointer[round]
	fill  string
}

// round counts the deliveries of one fanout round.
type round struct {
	expected  int64
	delivered atomic.Int64
	lastAt    atomic.Int64
	done      chan struct{}
	record    bool
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "[%s %s] %s\n", time.Now().Format("15:04:05"), r.t.Name, fmt.Sprintf(format, args...))
}

func (r *runner) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.res.Notes = append(r.res.Notes, s)
	r.logf("NOTE: %s", s)
}

// onMsg records a "msg" event: {"t":<sent at>,...}.
func (r *runner) onMsg(c *Client, arg []byte) {
	rd := r.cur.Load()
	if rd == nil {
		return
	}
	now := Now()
	if rd.record {
		if sent, ok := stamp(arg); ok {
			c.Lat = append(c.Lat, now-sent)
		}
	}
	if rd.delivered.Add(1) == rd.expected {
		rd.lastAt.Store(now)
		close(rd.done)
	}
}

// stamp extracts the "t" field of a message payload.
func stamp(arg []byte) (int64, bool) {
	i := bytes.Index(arg, []byte(`"t":`))
	if i < 0 {
		return 0, false
	}
	var v int64
	j := i + 4
	for ; j < len(arg) && arg[j] >= '0' && arg[j] <= '9'; j++ {
		v = v*10 + int64(arg[j]-'0')
	}
	return v, j > i+4
}

func (r *runner) cpu() time.Duration {
	if r.t.PID == 0 {
		return 0
	}
	d, err := ProcCPU(r.t.PID)
	if err != nil {
		r.note("%v", err)
	}
	return d
}

// selfCPU is the load generator's own CPU time (it shares the machine
// with the server: reported so that a client-bound figure shows).
func selfCPU() time.Duration {
	d, _ := ProcCPU(os.Getpid())
	return d
}

// Stats is the server's answer to the stats event.
type Stats struct {
	RSS        int64 `json:"rss"`
	HeapUsed   int64 `json:"heapUsed"`
	Goroutines int   `json:"goroutines"`
	Clients    int   `json:"clients"`
}

// ServerStats asks the server for its stats through c (with gc, after a
// collection).
func ServerStats(ctx context.Context, c *Client, gc bool) (Stats, error) {
	arg := `["stats",""]`
	if gc {
		arg = `["stats","gc"]`
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reply, err := c.Call(ctx, []byte(arg))
	if err != nil {
		return Stats{}, err
	}
	var st []Stats
	if err := json.Unmarshal(reply, &st); err != nil || len(st) != 1 {
		return Stats{}, fmt.Errorf("%w: stats reply %q", ErrProtocol, reply)
	}
	return st[0], nil
}

// stats asks for stats with a GC, twice, so that garbage left by the
// first collection's finalizers and freed stacks is gone too.
func (r *runner) stats(ctx context.Context) (Stats, error) {
	if _, err := ServerStats(ctx, r.ctl, true); err != nil {
		return Stats{}, err
	}
	return ServerStats(ctx, r.ctl, true)
}

// waitClients waits until the server reports at most n clients.
func (r *runner) waitClients(ctx context.Context, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		st, err := ServerStats(ctx, r.ctl, false)
		if err != nil {
			r.note("waiting for clients to close: %v", err)
			return
		}
		if st.Clients <= n {
			return
		}
		if time.Now().After(deadline) {
			r.note("server still reports %d clients %v after closing (expected %d)", st.Clients, limit, n)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *runner) run(ctx context.Context) error {
	r.fill = strings.Repeat("x", r.cfg.PayloadSize)
	ctl, _, err := Dial(ctx, r.t.Addr, &DialOptions{Hooks: &Hooks{}})
	if err != nil {
		return fmt.Errorf("load: control connection: %w", err)
	}
	r.ctl = ctl
	defer ctl.Close()

	clients, err := r.connect(ctx)
	defer func() { closeAll(clients) }()
	if err != nil {
		return err
	}
	switch {
	case r.skip(ScFanout) && r.skip(ScPaced):
	case len(clients) >= r.cfg.FanoutReceivers:
		if err := r.fanout(ctx, clients[:r.cfg.FanoutReceivers]); err != nil {
			r.note("fanout: %v", err)
		}
	default:
		r.note("fanout skipped: only %d clients connected", len(clients))
	}
	if len(clients) >= r.cfg.EchoClients && !r.skip(ScEcho) {
		if err := r.echo(ctx, clients[:r.cfg.EchoClients]); err != nil {
			r.note("echo: %v", err)
		}
	}
	closeAll(clients)
	clients = nil
	r.waitClients(ctx, 1, 60*time.Second)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if r.cfg.HoldMax > 0 && !r.skip(ScHold) {
		if err := r.hold(ctx); err != nil {
			r.note("hold: %v", err)
		}
	}
	if !r.skip(ScChurn) && ctx.Err() == nil {
		if err := r.churn(ctx); err != nil {
			r.note("room churn: %v", err)
		}
		r.waitClients(ctx, 1, 60*time.Second)
	}
	return ctx.Err()
}

func (r *runner) skip(sc string) bool { return slices.Contains(r.cfg.Skip, sc) }

// SkipNames are the short names [ParseSkip] knows.
const SkipNames = "fanout, paced, echo, hold, churn"

// ParseSkip turns a comma-separated list of short scenario names (see
// [SkipNames]) into [Config.Skip].
func ParseSkip(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "fanout":
			out = append(out, ScFanout)
		case "paced":
			out = append(out, ScPaced, ScPacedFew)
		case "echo":
			out = append(out, ScEcho)
		case "hold":
			out = append(out, ScHold)
		case "churn":
			out = append(out, ScChurn)
		default:
			return nil, fmt.Errorf("load: unknown scenario %q (known: %s)", f, SkipNames)
		}
	}
	return out, nil
}

func closeAll(cs []*Client) {
	var wg sync.WaitGroup
	ch := make(chan *Client)
	for range 16 {
		wg.Go(func() {
			for c := range ch {
				_ = c.Close()
			}
		})
	}
	for _, c := range cs {
		if c != nil {
			ch <- c
		}
	}
	close(ch)
	wg.Wait()
}

func (r *runner) begin(name string) {
	if r.t.Begin != nil {
		r.t.Begin(name)
	}
}

func (r *runner) end(name string) {
	if r.t.End != nil {
		r.t.End(name)
	}
}

// dialResult is the outcome of dialMany.
type dialResult struct {
	clients  []*Client
	lat      []int64
	failures int
	firstErr error
}

// dialMany opens up to n connections at rate per second, at most
// DialConcurrency at once; it stops early after maxFail consecutive
// failures (0: never) or when ctx ends.
func (r *runner) dialMany(ctx context.Context, n int, rate float64, maxFail int) dialResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu          sync.Mutex
		res         dialResult
		consecutive int
		wg          sync.WaitGroup
	)
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	lastLog := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if time.Since(lastLog) > 5*time.Second {
			mu.Lock()
			r.logf("  %d connected, %d failed", len(res.clients), res.failures)
			mu.Unlock()
			lastLog = time.Now()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c, took, err := Dial(ctx, r.t.Addr, &DialOptions{Hooks: r.hooks, Timeout: 10 * time.Second})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.failures++
				consecutive++
				if res.firstErr == nil {
					res.firstErr = err
				}
				if maxFail > 0 && consecutive >= maxFail {
					cancel()
				}
				return
			}
			consecutive = 0
			res.clients = append(res.clients, c)
			res.lat = append(res.lat, int64(took))
		})
	}
	wg.Wait()
	return res
}

func (r *runner) connect(ctx context.Context) ([]*Client, error) {
	const sc = ScConnect
	st0, err := r.stats(ctx)
	if err != nil {
		return nil, err
	}
	r.logf("connect: %d connections at %.0f/s (server RSS %s before)", r.cfg.ConnectN, r.cfg.ConnectRate, bytesStr(st0.RSS))
	r.begin(sc)
	cpu0 := r.cpu()
	dr := r.dialMany(ctx, r.cfg.ConnectN, r.cfg.ConnectRate, 0)
	// Let the server finish what follows its CONNECT answer (connection
	// handlers) before reading its CPU time.
	time.Sleep(300 * time.Millisecond)
	cpu1 := r.cpu()
	r.end(sc)
	if dr.failures > 0 {
		r.note("connect: %d of %d failed (first: %v)", dr.failures, r.cfg.ConnectN, dr.firstErr)
	}
	n := len(dr.clients)
	r.res.add(sc, MConnected, "count", float64(n), false)
	if n == 0 {
		return nil, fmt.Errorf("load: no connection succeeded: %v", dr.firstErr)
	}
	p := percentiles(dr.lat)
	r.res.add(sc, MConnectP50, "ms", ms(p.p50), true)
	r.res.add(sc, MConnectP99, "ms", ms(p.p99), true)
	if r.t.PID != 0 {
		r.res.add(sc, MCPUPerConnect, "µs", us(int64(cpu1-cpu0))/float64(n), true)
	}
	st1, err := r.stats(ctx)
	if err != nil {
		return dr.clients, err
	}
	if st1.Clients != n+1 {
		r.note("connect: server reports %d clients, expected %d", st1.Clients, n+1)
	}
	r.res.add(sc, MRSSPerConn, "B", float64(st1.RSS-st0.RSS)/float64(n), true)
	r.res.add(sc, MHeapPerConn, "B", float64(st1.HeapUsed-st0.HeapUsed)/float64(n), true)
	r.logf("connect: %d ok, p50 %.2fms p99 %.2fms, CPU %v, RSS %s -> %s", n, ms(p.p50), ms(p.p99), cpu1-cpu0, bytesStr(st0.RSS), bytesStr(st1.RSS))
	return dr.clients, nil
}

// join makes every client join room and waits for the acks.
func (r *runner) join(ctx context.Context, clients []*Client, room string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	arg := []byte(`["join",` + strconv.Quote(room) + `]`)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	sem := make(chan struct{}, 100)
	for _, c := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := c.Call(ctx, arg); err != nil {
				mu.Lock()
				ferr = cmp.Or(ferr, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ferr
}

func (r *runner) message(room string, seq int) []byte {
	b := make([]byte, 0, 64+len(room)+len(r.fill))
	b = append(b, `["bcast",`...)
	b = strconv.AppendQuote(b, room)
	b = append(b, `,{"t":`...)
	b = strconv.AppendInt(b, Now(), 10)
	b = append(b, `,"s":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"p":"`...)
	b = append(b, r.fill...)
	return append(b, `"}]`...)
}

// startRound arms the receivers for expected deliveries.
func (r *runner) startRound(receivers []*Client, expected int, record bool) *round {
	for _, c := range receivers {
		c.Lat = c.Lat[:0]
	}
	rd := &round{expected: int64(expected), done: make(chan struct{}), record: record}
	r.cur.Store(rd)
	return rd
}

// waitRound waits for a round's deliveries.
func (r *runner) waitRound(ctx context.Context, rd *round, limit time.Duration) error {
	defer r.cur.Store(nil)
	select {
	case <-rd.done:
		return nil
	case <-time.After(limit):
		return fmt.Errorf("load: %d of %d deliveries after %v", rd.delivered.Load(), rd.expected, limit)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func gather(receivers []*Client) []int64 {
	var all []int64
	for _, c := range receivers {
		all = append(all, c.Lat...)
	}
	return all
}

func (r *runner) fanout(ctx context.Context, receivers []*Client) error {
	n, m := len(receivers), r.cfg.FanoutMessages
	r.logf("fanout: %d receivers join the room", n)
	if err := r.join(ctx, receivers, "r"); err != nil {
		return err
	}

	// Warm-up round, not measured.
	warm := min(m, 50)
	rd := r.startRound(receivers, n*warm, false)
	for i := range warm {
		if err := r.ctl.Emit(r.message("r", i)); err != nil {
			return err
		}
	}
	if err := r.waitRound(ctx, rd, 60*time.Second); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}

	if err := r.unpaced(ctx, receivers); err != nil {
		return err
	}
	if !r.skip(ScPaced) {
		if err := r.paced(ctx, ScPaced, receivers, "r"); err != nil {
			return err
		}
	}
	if r.skip(ScPacedFew) || len(receivers) < 100 {
		return nil
	}
	// The same delivery rate in bursts a tenth the size.
	few := receivers[:100]
	if err := r.join(ctx, few, "r100"); err != nil {
		return err
	}
	return r.paced(ctx, ScPacedFew, few, "r100")
}

func (r *runner) unpaced(ctx context.Context, receivers []*Client) error {
	if r.skip(ScFanout) {
		return nil
	}
	n, m := len(receivers), r.cfg.FanoutMessages
	sc := ScFanout
	r.logf("fanout: %d rounds of %d messages to %d receivers, unpaced", r.cfg.FanoutRounds, m, n)
	var (
		lat       []int64
		cpu, ccpu time.Duration
		elapsed   int64
		delivered int64
	)
	r.begin(sc)
	for range r.cfg.FanoutRounds {
		rd := r.startRound(receivers, n*m, true)
		cpu0, ccpu0 := r.cpu(), selfCPU()
		t0 := Now()
		for i := range m {
			if err := r.ctl.Emit(r.message("r", i)); err != nil {
				r.end(sc)
				return err
			}
		}
		err := r.waitRound(ctx, rd, 120*time.Second)
		cpu1, ccpu1 := r.cpu(), selfCPU()
		if err != nil {
			r.end(sc)
			return err
		}
		cpu += cpu1 - cpu0
		ccpu += ccpu1 - ccpu0
		elapsed += rd.lastAt.Load() - t0
		delivered += rd.expected
		lat = append(lat, gather(receivers)...)
		r.logf("fanout: round: %d deliveries in %.1fms, server CPU %v", rd.expected, ms(rd.lastAt.Load()-t0), cpu1-cpu0)
	}
	r.end(sc)
	p := percentiles(lat)
	r.res.add(sc, MDelivered, "count", float64(delivered), false)
	r.res.add(sc, MDeliveredRate, "msg/s", float64(delivered)/(float64(elapsed)/1e9), false)
	r.res.add(sc, MLatP50, "ms", ms(p.p50), true)
	r.res.add(sc, MLatP99, "ms", ms(p.p99), true)
	if r.t.PID != 0 {
		r.res.add(sc, MCPUPerDeliv, "µs", us(int64(cpu))/float64(delivered), true)
	}
	r.res.add(sc, MClientCPU, "µs", us(int64(ccpu))/float64(delivered), true)

	return nil
}

func (r *runner) paced(ctx context.Context, sc string, receivers []*Client, room string) error {
	n := len(receivers)
	interval := time.Duration(float64(n) / r.cfg.PacedRate * float64(time.Second))
	count := int(r.cfg.PacedDuration / interval)
	r.logf("%s: %d messages to %d receivers, one every %v (%.0f deliveries/s)", sc, count, n, interval, r.cfg.PacedRate)
	rd := r.startRound(receivers, n*count, true)
	r.begin(sc)
	cpu0, ccpu0 := r.cpu(), selfCPU()
	start := time.Now()
	for i := range count {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				r.end(sc)
				return ctx.Err()
			}
		}
		if err := r.ctl.Emit(r.message(room, i)); err != nil {
			r.end(sc)
			return err
		}
	}
	err := r.waitRound(ctx, rd, 60*time.Second)
	cpu1, ccpu1 := r.cpu(), selfCPU()
	r.end(sc)
	if err != nil {
		return err
	}
	p := percentiles(gather(receivers))
	r.res.add(sc, MDelivered, "count", float64(rd.expected), false)
	r.res.add(sc, MLatP50, "ms", ms(p.p50), true)
	r.res.add(sc, MLatP99, "ms", ms(p.p99), true)
	r.res.add(sc, MLatMax, "ms", ms(p.max), true)
	if r.t.PID != 0 {
		r.res.add(sc, MCPUPerDeliv, "µs", us(int64(cpu1-cpu0))/float64(rd.expected), true)
	}
	r.res.add(sc, MClientCPU, "µs", us(int64(ccpu1-ccpu0))/float64(rd.expected), true)
	r.logf("%s: p50 %.2fms p99 %.2fms max %.2fms", sc, ms(p.p50), ms(p.p99), ms(p.max))
	return nil
}

func (r *runner) echo(ctx context.Context, clients []*Client) error {
	sc := ScEcho
	r.logf("echo: %d clients, one call in flight each, for %v (after 1s warm-up)", len(clients), r.cfg.EchoDuration)
	payload := func() []byte {
		b := make([]byte, 0, 48+len(r.fill))
		b = append(b, `["echo",{"t":`...)
		b = strconv.AppendInt(b, Now(), 10)
		b = append(b, `,"p":"`...)
		b = append(b, r.fill...)
		return append(b, `"}]`...)
	}
	loop := func(d time.Duration, record bool) ([]int64, error) {
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			all  []int64
			ferr error
		)
		fail := func(err error) {
			mu.Lock()
			ferr = cmp.Or(ferr, err)
			mu.Unlock()
		}
		deadline := time.Now().Add(d)
		for _, c := range clients {
			wg.Go(func() {
				ch := make(chan bool, 1)
				var lat []int64
				for time.Now().Before(deadline) && ctx.Err() == nil {
					t0 := Now()
					if err := c.EmitAck(payload(), func(reply []byte) { ch <- reply != nil }); err != nil {
						fail(err)
						return
					}
					select {
					case ok := <-ch:
						if !ok {
							fail(ErrClosed)
							return
						}
					case <-time.After(10 * time.Second):
						fail(errors.New("load: echo: no ack after 10s"))
						return
					}
					if record {
						lat = append(lat, Now()-t0)
					}
				}
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return all, ferr
	}
	if _, err := loop(time.Second, false); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	r.begin(sc)
	cpu0, ccpu0 := r.cpu(), selfCPU()
	t0 := time.Now()
	lat, err := loop(r.cfg.EchoDuration, true)
	elapsed := time.Since(t0)
	cpu1, ccpu1 := r.cpu(), selfCPU()
	r.end(sc)
	if err != nil {
		return err
	}
	p := percentiles(lat)
	n := float64(len(lat))
	r.res.add(sc, MRoundTrips, "count", n, false)
	r.res.add(sc, MRTRate, "rt/s", n/elapsed.Seconds(), false)
	r.res.add(sc, MLatP50, "ms", ms(p.p50), true)
	r.res.add(sc, MLatP99, "ms", ms(p.p99), true)
	if r.t.PID != 0 && n > 0 {
		r.res.add(sc, MCPUPerRT, "µs", us(int64(cpu1-cpu0))/n, true)
	}
	if n > 0 {
		r.res.add(sc, MClientCPURT, "µs", us(int64(ccpu1-ccpu0))/n, true)
	}
	r.logf("echo: %.0f round trips, %.0f/s, p50 %.3fms p99 %.3fms, server CPU %v", n, n/elapsed.Seconds(), ms(p.p50), ms(p.p99), cpu1-cpu0)
	return nil
}

func (r *runner) hold(ctx context.Context) error {
	sc := ScHold
	st0, err := r.stats(ctx)
	if err != nil {
		return err
	}
	r.logf("hold: opening up to %d idle connections at %.0f/s", r.cfg.HoldMax, r.cfg.HoldRate)
	r.begin(sc)
	dcpu0, dt0 := r.cpu(), time.Now()
	dr := r.dialMany(ctx, r.cfg.HoldMax, r.cfg.HoldRate, 50)
	dcpu1, dialTime := r.cpu(), time.Since(dt0)
	defer func() { closeAll(dr.clients) }()
	n := len(dr.clients)
	if dr.failures > 0 {
		r.note("hold: %d connections failed (first: %v)", dr.failures, dr.firstErr)
	}
	r.logf("hold: %d connections open, holding them %v", n, r.cfg.HoldDuration)
	cpu0 := r.cpu()
	select {
	case <-time.After(r.cfg.HoldDuration):
	case <-ctx.Done():
	}
	cpu1 := r.cpu()
	r.end(sc)
	alive := 0
	for _, c := range dr.clients {
		select {
		case <-c.Done():
		default:
			alive++
		}
	}
	r.res.add(sc, MHeld, "count", float64(n), false)
	r.res.add(sc, MAlive, "count", float64(alive), false)
	if n > 0 {
		r.res.add(sc, MConnectRate, "conn/s", float64(n)/dialTime.Seconds(), false)
		p := percentiles(dr.lat)
		r.res.add(sc, MConnectP99, "ms", ms(p.p99), true)
		if r.t.PID != 0 {
			r.res.add(sc, MCPUPerConnect, "µs", us(int64(dcpu1-dcpu0))/float64(n), true)
		}
	}
	if r.t.PID != 0 {
		r.res.add(sc, MIdleCPU, "ms/s", ms(int64(cpu1-cpu0))/r.cfg.HoldDuration.Seconds(), true)
	}
	st1, err := r.stats(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		per := float64(st1.RSS-st0.RSS) / float64(n)
		r.res.add(sc, MHoldRSSPer, "B", per, true)
		r.res.add(sc, MServerRSS, "B", float64(st1.RSS), true)
		r.res.add(sc, MProjected1M, "GiB", (float64(st0.RSS)+per*1e6)/(1<<30), true)
		r.logf("hold: %d held, %d alive, RSS %s -> %s (%.0f B/conn)", n, alive, bytesStr(st0.RSS), bytesStr(st1.RSS), per)
	}
	closeAll(dr.clients)
	dr.clients = nil
	r.waitClients(ctx, 1, 120*time.Second)
	return nil
}

// churn makes one new connection join ChurnRooms rooms, then leave them
// newest first (where a search from the oldest is longest), each half of
// each timed on its own: the cost of a join or leave must not grow with
// the rooms the socket is in.
func (r *runner) churn(ctx context.Context) error {
	const sc = ScChurn
	n, w := r.cfg.ChurnRooms, r.cfg.ChurnWindow
	c, _, err := Dial(ctx, r.t.Addr, &DialOptions{Hooks: &Hooks{}})
	if err != nil {
		return err
	}
	defer c.Close()
	// The events are made before the clock starts.
	events := func(name string) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = fmt.Appendf(nil, `[%q,"room-%d"]`, name, i)
		}
		return out
	}
	joins, leaves := events("join"), events("leave")
	slices.Reverse(leaves)
	r.logf("room churn: one connection joins %d rooms, then leaves them newest first (%d events per write, 2 writes awaiting acks)", n, w)
	r.res.add(sc, MRooms, "count", float64(n), false)
	r.begin(sc)
	defer r.end(sc)
	for _, phase := range []struct {
		evs          [][]byte
		rate1, rate2 string
		cpu          string
	}{
		{joins, MJoinRate1, MJoinRate2, MCPUPerJoin},
		{leaves, MLeaveRate1, MLeaveRate2, MCPUPerLeave},
	} {
		var cpu time.Duration
		bounds := [3]int{0, n / 2, n}
		for half, name := range []string{phase.rate1, phase.rate2} {
			evs := phase.evs[bounds[half]:bounds[half+1]]
			cpu0 := r.cpu()
			t0 := time.Now()
			if err := pipeline(ctx, c, evs, w); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			elapsed := time.Since(t0)
			cpu += r.cpu() - cpu0
			r.res.add(sc, name, "op/s", float64(len(evs))/elapsed.Seconds(), false)
			r.logf("room churn: %s: %d in %v (%.0f/s)", name, len(evs), elapsed.Round(time.Millisecond), float64(len(evs))/elapsed.Seconds())
		}
		if r.t.PID != 0 {
			r.res.add(sc, phase.cpu, "µs", us(int64(cpu))/float64(n), true)
		}
	}
	return nil
}

// pipeline sends evs through c, asking for acks, window events per write
// with up to two writes awaiting their acks, and returns once every event
// is acked.
func pipeline(ctx context.Context, c *Client, evs [][]byte, window int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	acks := make(chan bool, len(evs))
	fn := func(reply []byte) { acks <- reply != nil }
	sent := 0
	send := func() error {
		k := min(window, len(evs)-sent)
		err := c.EmitAcks(evs[sent:sent+k], fn)
		sent += k
		return err
	}
	for range 2 {
		if sent < len(evs) {
			if err := send(); err != nil {
				return err
			}
		}
	}
	for got := 1; got <= len(evs); got++ {
		select {
		case ok := <-acks:
			if !ok {
				return ErrClosed
			}
		case <-ctx.Done():
			return fmt.Errorf("load: %d of %d acks: %w", got-1, len(evs), ctx.Err())
		}
		if got%window == 0 && sent < len(evs) {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return nil
}

type pct struct{ p50, p99, max int64 }

func percentiles(v []int64) pct {
	if len(v) == 0 {
		return pct{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	at := func(q float64) int64 { return s[int(math.Ceil(q*float64(len(s))))-1] }
	return pct{p50: at(0.50), p99: at(0.99), max: s[len(s)-1]}
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }
func us(ns int64) float64 { return float64(ns) / 1e3 }

func bytesStr(b int64) string {
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
