// Command run is the one benchmark command: it builds the Go bench server
// (bench/server), installs the Node one (npm ci --prefix bench/node, when
// needed), raises its file limit to the hard limit, then runs every
// scenario of bench/internal/load against the Go server and then against
// the Node server, one after the other, and prints a side-by-side Markdown
// table with ratios and the targets of the issue.
//
//	go run ./bench/run            # full run (~5 minutes on 2 cores)
//	go run ./bench/run -quick     # ~1.5 minutes
//	go run ./bench/run -quick -skip fanout,paced,echo,hold   # connect and room churn only
//	go run ./bench/run -profile /tmp/prof   # also CPU/heap/alloc profiles of the Go server
//
// Everything runs on 127.0.0.1. Server CPU time and RSS come from
// /proc/<pid> of the server processes this command starts (Linux only).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-realtime/realtime/bench/internal/benchenv"
	"github.com/go-realtime/realtime/bench/internal/load"
)

func main() {
	quick := flag.Bool("quick", false, "short run (~1.5 minutes)")
	servers := flag.String("servers", "go,node", "servers to run, in order (go, node; go-admin: the Go server instrumented for the Admin UI, development mode, no UI connected; go-admin-watch: the same with a UI watching)")
	hold := flag.Int("hold", 0, "hold scenario: at most this many idle connections (0: as many as the file limits allow; -1: skip)")
	skip := flag.String("skip", "", "comma-separated scenarios to skip: "+load.SkipNames+" (connect always runs)")
	profile := flag.String("profile", "", "write CPU, heap and allocation profiles of the Go server for each scenario to this directory (profiling costs CPU: use a separate run for the figures)")
	jsonOut := flag.String("json", "", "also write all results as JSON to this file")
	out := flag.String("o", "", "also write the report (Markdown) to this file")
	repeat := flag.Int("repeat", 1, "run the servers this many times, alternating (go, node, go, node, ...), and report each metric's median; the hold scenario runs in the first round only")
	verbose := flag.Bool("v", true, "progress on stderr")
	flag.Parse()

	if runtime.GOOS != "linux" {
		log.Fatal("run: the benchmarks read /proc: Linux only")
	}
	limit, err := load.RaiseFileLimit()
	if err != nil {
		log.Printf("run: %v", err)
	}
	root, err := benchenv.ModuleRoot()
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 40*time.Minute)
	defer cancel()

	cfg := load.Full()
	if *quick {
		cfg = load.Quick()
	}
	if *verbose {
		cfg.Log = os.Stderr
	}
	if cfg.Skip, err = load.ParseSkip(*skip); err != nil {
		log.Fatal(err)
	}
	if *hold < 0 {
		cfg.Skip = append(cfg.Skip, load.ScHold)
	}

	tmp, err := os.MkdirTemp("", "realtime-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	var specs []serverSpec
	for _, name := range strings.Split(*servers, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case "go", "go-admin", "go-admin-watch":
			bin := filepath.Join(tmp, "bench-server")
			if _, err := os.Stat(bin); err != nil {
				logf("building the Go bench server")
				if err := command(ctx, root, "go", "build", "-o", bin, "./bench/server").Run(); err != nil {
					log.Fatalf("run: go build ./bench/server: %v", err)
				}
			}
			args := []string{"-addr", "127.0.0.1:0", "-stdin"}
			if *profile != "" {
				args = append(args, "-pprof", "127.0.0.1:0")
			}
			switch name {
			case "go-admin":
				args = append(args, "-admin", "development")
			case "go-admin-watch":
				args = append(args, "-admin", "development", "-admin-watch")
			}
			specs = append(specs, serverSpec{name: name, dir: root, bin: bin, args: args})
		case "node":
			if err := benchenv.NodeDeps(ctx, root, logf); err != nil {
				log.Fatal(err)
			}
			specs = append(specs, serverSpec{
				name: "node", dir: filepath.Join(root, "bench", "node"), bin: "node",
				args: []string{"--expose-gc", "server.js", "--addr", "127.0.0.1:0", "--stdin"},
			})
		default:
			log.Fatalf("run: unknown server %q (go, go-admin, node)", name)
		}
	}

	env := environment(root, limit)
	logf("%s", strings.ReplaceAll(env, "\n", "; "))
	runs := make([][]*load.Results, len(specs)) // by server, by round
	for round := range max(*repeat, 1) {
		c := cfg
		if round > 0 {
			c.Skip = append(slices.Clip(c.Skip), load.ScHold)
		}
		for i, sp := range specs {
			if ctx.Err() != nil {
				break
			}
			res, err := runOne(ctx, sp, c, limit, *hold, *profile)
			if res != nil {
				runs[i] = append(runs[i], res)
				if *repeat > 1 {
					fmt.Fprintf(os.Stderr, "\nround %d, %s:\n%s", round+1, sp.name, load.Table([]*load.Results{res}))
				}
			}
			if err != nil {
				log.Printf("run: %s: %v", sp.name, err)
			}
		}
	}
	var results []*load.Results
	for _, rs := range runs {
		if m := load.Median(rs); m != nil {
			results = append(results, m)
		}
	}
	if *repeat > 1 {
		env += fmt.Sprintf("- figures: median of %d rounds (servers alternating; hold in the first round only)\n", *repeat)
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		env += fmt.Sprintf("- load average after the run (1/5/15 min): %s\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	report := "## Results\n\n" + env + "\n" + load.Table(results)
	fmt.Print("\n" + report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			log.Print(err)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"median": results, "rounds": runs}, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			log.Print(err)
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s run] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}

// environment describes the machine and the code measured.
func environment(root string, limit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format(time.RFC3339))
	if out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		fmt.Fprintf(&b, "- commit: %s\n", strings.TrimSpace(string(out)))
	}
	fmt.Fprintf(&b, "- %s, %d CPUs, %s\n", runtime.Version(), runtime.NumCPU(), cpuModel())
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		fmt.Fprintf(&b, "- node %s, socket.io %s\n", strings.TrimSpace(string(out)), nodePkgVersion(root, "socket.io"))
	}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(&b, "- load average before the run (1/5/15 min): %s\n", strings.Join(strings.Fields(string(la))[:3], " "))
	}
	fmt.Fprintf(&b, "- open-file limit: %d\n", limit)
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func nodePkgVersion(root, pkg string) string {
	b, err := os.ReadFile(filepath.Join(root, "bench", "node", "node_modules", pkg, "package.json"))
	if err != nil {
		return "(not installed)"
	}
	var p struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Version
}

// serverSpec says how to start one server.
type serverSpec struct {
	name, dir, bin string
	args           []string
}

// server is a started server process.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	pprof string
	done  chan error
}

// start runs the server and waits for its "listening <addr>" line.
func start(ctx context.Context, sp serverSpec) (*server, error) {
	cmd := exec.Command(sp.bin, sp.args...)
	cmd.Dir = sp.dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run: start %s: %w", sp.name, err)
	}
	s := &server{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	// Lines up to "listening" go to start; the rest to stderr.
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		started := false
		for sc.Scan() {
			if started {
				fmt.Fprintf(os.Stderr, "[%s] %s\n", sp.name, sc.Text())
				continue
			}
			lines <- sc.Text()
			started = strings.HasPrefix(sc.Text(), "listening ")
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil, fmt.Errorf("run: %s exited before listening", sp.name)
			}
			if v, ok := strings.CutPrefix(line, "pprof "); ok {
				s.pprof = v
			}
			if v, ok := strings.CutPrefix(line, "listening "); ok {
				s.addr = v
				return s, nil
			}
		case <-timeout:
			s.kill()
			return nil, fmt.Errorf("run: %s did not start listening in 30s", sp.name)
		case <-ctx.Done():
			s.kill()
			return nil, ctx.Err()
		}
	}
}

// stop closes the server's stdin (it exits) and waits; kills it after 10s.
func (s *server) stop() {
	_ = s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.kill()
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

func runOne(ctx context.Context, sp serverSpec, cfg load.Config, limit, hold int, profDir string) (*load.Results, error) {
	logf("starting the %s server", sp.name)
	srv, err := start(ctx, sp)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid
	switch {
	case hold > 0:
		cfg.HoldMax = hold
	case hold == 0:
		cfg.HoldMax = load.HoldTarget(limit, pid)
	}
	t := load.Target{Name: sp.name, Addr: srv.addr, PID: pid}
	if profDir != "" && srv.pprof != "" {
		p := &profiler{base: "http://" + srv.pprof, dir: profDir, name: sp.name}
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			return nil, err
		}
		t.Begin, t.End = p.begin, p.end
	}
	logf("%s server pid %d on %s (hold: up to %d connections)", sp.name, pid, srv.addr, cfg.HoldMax)
	return load.Run(ctx, t, cfg)
}

// profiler brackets scenarios with the Go server's profiling endpoints.
type profiler struct {
	base, dir, name string
}

func fileName(s string) string {
	return strings.NewReplacer(" ", "-", "+", "-", "/", "-").Replace(s)
}

func (p *profiler) get(path, file string) {
	resp, err := http.Get(p.base + path)
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		logf("profile: %s: %s %s", path, resp.Status, b)
		return
	}
	if file == "" {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	f, err := os.Create(filepath.Join(p.dir, file))
	if err != nil {
		logf("profile: %v", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

func (p *profiler) begin(sc string) {
	n := fileName(sc)
	p.get("/debug/pprof/allocs", p.name+"-allocs-"+n+"-before.pprof")
	p.get("/bench/cpu/start", "")
}

func (p *profiler) end(sc string) {
	n := fileName(sc)
	p.get("/bench/cpu/stop", p.name+"-cpu-"+n+".pprof")
	p.get("/debug/pprof/allocs", p.name+"-allocs-"+n+"-after.pprof")
	p.get("/debug/pprof/heap?gc=1", p.name+"-heap-"+n+".pprof")
	logf("profiles of %s written to %s", sc, p.dir)
}
