// Command cluster measures cross-node work through Redis on equal terms:
// two Go bench servers (bench/server -redis, room/redis) on one
// redis-server, then two Node.js socket.io bench servers (bench/node
// --redis, @socket.io/redis-adapter) on another, driven by the same
// WebSocket load clients (bench/internal/load) in this process.
//
//	go run ./bench/cluster [-receivers 1000] [-broadcasts 200] [-acks 50] [-repeat 1] [-profile dir]
//
// For each pair, the receivers connect to node B and join room "r"; a
// control client on node A then
//   - sends -broadcasts "bcast" events, each a to("r").emit that node A
//     publishes and node B delivers to every receiver (fan-out), and
//   - sends -acks "bcastAck" events one after another, each a
//     to("r").emitWithAck that every receiver answers (acks across
//     nodes).
//
// CPU is utime+stime of each server process (and of redis-server) from
// /proc, over the scenario's window, divided by the deliveries or acks.
// It needs Linux, redis-server, Node.js 20+ with npm (it runs npm ci in
// bench/node when needed) and prints a Markdown table.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/bench/internal/benchenv"
	"github.com/go-realtime/realtime/bench/internal/load"
)

func main() {
	receivers := flag.Int("receivers", 1000, "clients on node B, in room r")
	broadcasts := flag.Int("broadcasts", 200, "broadcasts from node A to room r (fan-out)")
	acks := flag.Int("acks", 50, "broadcasts with ack from node A to room r, one after another")
	repeat := flag.Int("repeat", 1, "runs per pair, alternating go and node; medians are reported")
	pairs := flag.String("pairs", "go,node", "which pairs to run")
	payload := flag.Int("payload", 100, "bytes of filler in each message")
	profile := flag.String("profile", "", "write CPU profiles of the Go nodes per scenario to this directory")
	flag.Parse()
	log.SetFlags(0)

	root, err := benchenv.ModuleRoot()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := load.RaiseFileLimit(); err != nil {
		log.Printf("cluster: %v", err)
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "bench-cluster-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	kinds := strings.Split(*pairs, ",")
	for _, k := range kinds {
		switch k {
		case "go":
			bin := filepath.Join(tmp, "server")
			if out, err := command(root, "go", "build", "-o", bin, "./bench/server").CombinedOutput(); err != nil {
				log.Fatalf("cluster: go build: %v\n%s", err, out)
			}
		case "node":
			if err := benchenv.NodeDeps(context.Background(), root, log.Printf); err != nil {
				log.Fatal(err)
			}
		default:
			log.Fatalf("cluster: unknown pair %q", k)
		}
	}
	cfg := config{receivers: *receivers, broadcasts: *broadcasts, acks: *acks,
		fill: strings.Repeat("x", *payload), profile: *profile}
	results := map[string][]metrics{}
	for i := range *repeat {
		for _, k := range kinds {
			log.Printf("== %s pair, run %d of %d", k, i+1, *repeat)
			m, err := runPair(ctx, root, tmp, k, cfg)
			if err != nil {
				log.Fatalf("cluster: %s pair: %v", k, err)
			}
			results[k] = append(results[k], m)
		}
	}
	fmt.Printf("\n%d receivers on node B, %d broadcasts and %d broadcasts with ack from node A; %s, %d CPUs, %s\n\n",
		cfg.receivers, cfg.broadcasts, cfg.acks, runtime.GOOS, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	printTable(kinds, results)
}

type config struct {
	receivers, broadcasts, acks int
	fill                        string
	profile                     string // directory for the Go nodes' CPU profiles
}

// metrics are one run's figures; CPU in µs per operation.
type metrics map[string]float64

// The table's rows, in order.
var rows = []struct{ key, label string }{
	{"fanCPU", "fan-out: server CPU per delivery, both nodes (µs)"},
	{"fanA", "fan-out: node A (publishes) CPU per delivery (µs)"},
	{"fanB", "fan-out: node B (delivers) CPU per delivery (µs)"},
	{"fanRate", "fan-out: deliveries/s"},
	{"fanRedis", "fan-out: redis-server CPU per delivery (µs)"},
	{"ackRate", "acks/s across nodes"},
	{"ackCPU", "acks: server CPU per ack, both nodes (µs)"},
	{"ackRedis", "acks: redis-server CPU per ack (µs)"},
	{"loadCPU", "load generator CPU per delivery (µs)"},
}

func printTable(kinds []string, results map[string][]metrics) {
	fmt.Printf("| |")
	for _, k := range kinds {
		fmt.Printf(" %s pair |", strings.ToUpper(k[:1])+k[1:])
	}
	fmt.Printf("\n|---|")
	for range kinds {
		fmt.Printf("---|")
	}
	fmt.Println()
	for _, r := range rows {
		fmt.Printf("| %s |", r.label)
		for _, k := range kinds {
			var vals []float64
			for _, m := range results[k] {
				vals = append(vals, m[r.key])
			}
			fmt.Printf(" %s |", format(vals))
		}
		fmt.Println()
	}
}

// format prints the median, and the range when there are several runs.
func format(vals []float64) string {
	slices.Sort(vals)
	f := func(v float64) string {
		if v >= 100 {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := f(vals[len(vals)/2])
	if len(vals) > 1 {
		s += " (" + f(vals[0]) + "–" + f(vals[len(vals)-1]) + ")"
	}
	return s
}

// runPair starts redis-server and two nodes of kind, and measures.
func runPair(ctx context.Context, root, tmp, kind string, cfg config) (metrics, error) {
	rs, err := startRedis(tmp)
	if err != nil {
		return nil, err
	}
	defer rs.kill() // nothing to keep
	var nodes [2]*proc
	for i := range nodes {
		var cmd *exec.Cmd
		if kind == "go" {
			args := []string{"-addr", "127.0.0.1:0", "-stdin", "-redis", rs.addr}
			if cfg.profile != "" {
				args = append(args, "-pprof", "127.0.0.1:0")
			}
			cmd = command(root, filepath.Join(tmp, "server"), args...)
		} else {
			cmd = command(filepath.Join(root, "bench", "node"), "node", "server.js", "--addr", "127.0.0.1:0", "--stdin", "--redis", rs.addr)
		}
		var pprofAddr string
		match := func(line string) (string, bool) {
			if a, ok := strings.CutPrefix(line, "pprof "); ok {
				pprofAddr = strings.TrimSpace(a) // printed before "listening"
			}
			return listening(line)
		}
		if nodes[i], err = startProc(cmd, match); err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		nodes[i].pprof = pprofAddr
		defer nodes[i].stop()
	}
	prof := func(sc string, start bool) {
		if cfg.profile == "" || kind != "go" {
			return
		}
		for i, p := range nodes {
			if start {
				httpGet("http://" + p.pprof + "/bench/cpu/start")
				continue
			}
			b := httpGet("http://" + p.pprof + "/bench/cpu/stop")
			file := filepath.Join(cfg.profile, fmt.Sprintf("%s-node%c.pprof", sc, 'A'+i))
			if err := os.WriteFile(file, b, 0o644); err != nil {
				log.Printf("cluster: %v", err)
			}
		}
	}
	a, b := nodes[0], nodes[1]

	// Receivers on B, in room r.
	var delivered atomic.Int64
	var target atomic.Int64
	reached := make(chan struct{}, 1)
	hooks := &load.Hooks{OnMsg: func(*load.Client, []byte) {
		if delivered.Add(1) == target.Load() {
			reached <- struct{}{}
		}
	}}
	clients := make([]*load.Client, cfg.receivers)
	var wg sync.WaitGroup
	var dialErr error
	var mu sync.Mutex
	sem := make(chan struct{}, 64)
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, _, err := load.Dial(ctx, b.addr, &load.DialOptions{Hooks: hooks})
			if err == nil {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err = c.Call(cctx, []byte(`["join","r"]`))
				cancel()
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErr = errors.Join(dialErr, err)
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	if dialErr != nil {
		return nil, fmt.Errorf("receivers: %w", dialErr)
	}
	control, _, err := load.Dial(ctx, a.addr, nil)
	if err != nil {
		return nil, fmt.Errorf("control client: %w", err)
	}
	defer control.Close()
	msg := []byte(`["bcast","r",{"p":"` + cfg.fill + `"}]`)
	fanout := func(n int) error {
		delivered.Store(0)
		target.Store(int64(n * cfg.receivers))
		for range n {
			if err := control.Emit(msg); err != nil {
				return err
			}
		}
		select {
		case <-reached:
			return nil
		case <-time.After(2 * time.Minute):
			return fmt.Errorf("%d of %d deliveries after 2 minutes", delivered.Load(), target.Load())
		}
	}
	if err := fanout(20); err != nil { // warm-up
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	m := metrics{}
	cpus := func() [4]time.Duration {
		return [4]time.Duration{procCPU(a.pid), procCPU(b.pid), procCPU(rs.pid), procCPU(os.Getpid())}
	}
	prof("fanout", true)
	c0, t0 := cpus(), time.Now()
	if err := fanout(cfg.broadcasts); err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	wall, c1 := time.Since(t0), cpus()
	prof("fanout", false)
	n := float64(cfg.broadcasts * cfg.receivers)
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / n }
	m["fanA"], m["fanB"] = per(c1[0]-c0[0]), per(c1[1]-c0[1])
	m["fanCPU"] = m["fanA"] + m["fanB"]
	m["fanRedis"] = per(c1[2] - c0[2])
	m["loadCPU"] = per(c1[3] - c0[3])
	m["fanRate"] = n / wall.Seconds()

	ask := []byte(`["bcastAck","r",{"p":"` + cfg.fill + `"}]`)
	prof("acks", true)
	c0, t0 = cpus(), time.Now()
	for i := range cfg.acks {
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		reply, err := control.Call(actx, ask)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("broadcast with ack %d: %w", i, err)
		}
		if got := strings.Trim(string(reply), "[]"); got != strconv.Itoa(cfg.receivers) {
			return nil, fmt.Errorf("broadcast with ack %d: %s replies, want %d", i, got, cfg.receivers)
		}
	}
	wall, c1 = time.Since(t0), cpus()
	prof("acks", false)
	n = float64(cfg.acks * cfg.receivers)
	m["ackRate"] = n / wall.Seconds()
	m["ackCPU"] = per(c1[0] - c0[0] + c1[1] - c0[1])
	m["ackRedis"] = per(c1[2] - c0[2])
	log.Printf("   fan-out %.0f deliveries/s, %.2f µs CPU each; %.0f acks/s", m["fanRate"], m["fanCPU"], m["ackRate"])
	return m, nil
}

// proc is a child process that announced itself on stdout.
type proc struct {
	pprof string // the Go server's profiling address, with -profile
	cmd   *exec.Cmd
	pid   int
	addr  string
	stdin io.WriteCloser
	done  chan struct{}
}

// startProc starts cmd and waits for a stdout line that match accepts;
// match returns the process's address from it.
func startProc(cmd *exec.Cmd, match func(line string) (string, bool)) (*proc, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, stdin: stdin, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := match(sc.Text()); ok {
				select {
				case found <- addr:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-found:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited at start", cmd.Path)
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, fmt.Errorf("%s did not start in 30s", cmd.Path)
	}
}

// listening matches the bench servers' "listening <addr>" line.
func listening(line string) (string, bool) {
	addr, ok := strings.CutPrefix(line, "listening ")
	return strings.TrimSpace(addr), ok
}

// stop closes stdin (the bench servers exit then) and kills after 5 s.
func (p *proc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startRedis starts redis-server on a free port, without persistence.
func startRedis(tmp string) (*proc, error) {
	dir, err := os.MkdirTemp(tmp, "redis-")
	if err != nil {
		return nil, err
	}
	var last error
	for range 5 { // a free port can be taken between the probe and the start
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir)
		p, err := startProc(cmd, func(line string) (string, bool) {
			return addr, strings.Contains(line, "Ready to accept connections")
		})
		if err == nil {
			return p, nil
		}
		last = err
	}
	return nil, fmt.Errorf("redis-server: %w", last)
}

// httpGet returns the body of url ("" on an error, logged).
func httpGet(url string) []byte {
	resp, err := http.Get(url)
	if err != nil {
		log.Printf("cluster: %v", err)
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		log.Printf("cluster: %s: %s %v", url, resp.Status, err)
	}
	return b
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// procCPU is a process's CPU time so far (0 when unreadable).
func procCPU(pid int) time.Duration {
	d, err := load.ProcCPU(pid)
	if err != nil {
		log.Printf("cluster: CPU of %d: %v", pid, err)
	}
	return d
}

func command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}
