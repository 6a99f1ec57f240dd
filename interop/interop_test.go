package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/proctest"
	"github.com/go-realtime/realtime/internal/racedetect"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// envEnable must be set (make test sets it) for TestInterop to run.
const envEnable = "REALTIME_INTEROP"

const (
	// maxTotal bounds the whole test (build + server + every suite).
	maxTotal = 9 * time.Minute
	// maxSuite bounds one `node --test` run.
	maxSuite = 4 * time.Minute
	// maxBuild bounds building the conformance program.
	maxBuild = 4 * time.Minute
	// maxStartup bounds waiting for the server to answer HTTP.
	maxStartup = 30 * time.Second
)

// suites are the Node test files run against the conformance server, in order.
var suites = []string{
	"engineio-protocol.test.mjs",
	"engineio.test.mjs",
	"socketio-protocol.test.mjs",
	"socketio.test.mjs",
	"recovery.test.mjs",
	"options.test.mjs",
	"flowcontrol.test.mjs",
	"events.test.mjs",
	"eio3.test.mjs",
	"eio3-browser.test.mjs",
	"msgpack.test.mjs",
}

// nodePackages must be installed in interop/node_modules.
var nodePackages = []string{"engine.io-client", "playwright-core", "socket.io-client", "socket.io-client-v2", "socket.io-msgpack-parser", "ws"}

// chromium is Debian's Chromium, which eio3-browser.test.mjs drives.
const chromium = "/usr/bin/chromium"

// TestInterop builds internal/cmd/conformance, starts it on a free loopback
// port and runs each Node suite against it (one subtest per file).
func TestInterop(t *testing.T) {
	if os.Getenv(envEnable) == "" {
		t.Skipf("interop tests need Node.js and interop/node_modules: run `make test` (it installs them and sets %s=1)", envEnable)
	}
	node, err := exec.LookPath("node")
	require.NoErrorf(t, err, "%s is set but node is not on PATH: install Node.js 20+ (make test checks this)", envEnable)
	_, err = os.Stat(chromium)
	require.NoErrorf(t, err, "%s is set but %s is missing: install Debian's chromium (eio3-browser.test.mjs drives it)", envEnable, chromium)
	for _, pkg := range nodePackages {
		_, err := os.Stat(filepath.Join("node_modules", pkg, "package.json"))
		require.NoErrorf(t, err, "%s is set but interop/node_modules/%s is missing: run `npm ci --prefix interop` (make test does)", envEnable, pkg)
	}

	// Cancelled by a cleanup registered before the server's, so the server
	// gets its graceful stop first (cleanups run last-in first-out).
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Budget(t, maxTotal))
	t.Cleanup(cancel)

	bin := buildConformance(ctx, t)
	srv := startServer(ctx, t, bin)

	for _, file := range suites {
		t.Run(file, func(t *testing.T) {
			srv.requireAlive(t)
			proctest.Run(ctx, t, maxSuite, []string{node, "--test", "--test-reporter=spec", file}, "REALTIME_ADDR="+srv.addr)
			srv.requireAlive(t)
		})
	}
}

// buildConformance compiles internal/cmd/conformance into a temporary
// directory, with the race detector when this test runs with it.
func buildConformance(ctx context.Context, t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "conformance")
	args := []string{"build", "-o", bin}
	if racedetect.Enabled {
		args = append(args, "-race")
	}
	args = append(args, "./internal/cmd/conformance")
	ctx, cancel := context.WithTimeout(ctx, maxBuild)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = proctest.ModuleRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoErrorf(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return bin
}

// server is the running conformance program.
type server struct {
	addr   string
	cmd    *exec.Cmd
	log    *tailBuffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // Wait's result, valid after exited is closed
}

// requireAlive fails the test when the server has exited early.
func (s *server) requireAlive(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("conformance server exited unexpectedly (%v); its log:\n%s", s.err, s.log)
	default:
	}
}

// startServer starts bin on a free loopback port, retrying with another port
// if the one picked was taken in between, and waits until it answers HTTP.
// The server is stopped when the test ends; a data race or panic in its log
// fails the test.
func startServer(ctx context.Context, t *testing.T, bin string) *server {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		addr := freeAddr(t)
		s, err := tryStart(ctx, t, bin, addr)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	require.NoError(t, lastErr, "starting the conformance server")
	return nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func tryStart(ctx context.Context, t *testing.T, bin, addr string) (*server, error) {
	s := &server{addr: addr, log: newTailBuffer(256 << 10), exited: make(chan struct{})}
	dist, err := filepath.Abs(filepath.Join("node_modules", "socket.io-client", "dist"))
	if err != nil {
		return nil, err
	}
	dist2, err := filepath.Abs(filepath.Join("node_modules", "socket.io-client-v2", "dist"))
	if err != nil {
		return nil, err
	}
	s.cmd = exec.CommandContext(ctx, bin, "-addr", addr, "-client-dist", dist, "-client2-dist", dist2)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	s.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=0")
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()

	if err := waitReady(ctx, s); err != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("%w; server log:\n%s", err, s.log)
	}

	t.Cleanup(func() { s.stop(t) })
	return s, nil
}

// waitReady polls the server until it answers any HTTP request (a request
// without query parameters, which opens no session).
func waitReady(ctx context.Context, s *server) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, maxStartup)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+"/engine.io/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("conformance server exited before answering (%v)", s.err)
		case <-ctx.Done():
			return fmt.Errorf("conformance server on %s did not answer within %v: %w", s.addr, maxStartup, ctx.Err())
		case <-tick.C:
		}
	}
}

// stop interrupts the server, kills it if it does not exit, and checks its
// log for data races and panics.
func (s *server) stop(t *testing.T) {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("conformance server did not exit within 10s of SIGINT; killing it")
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	logText := s.log.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(logText, bad) {
			t.Errorf("conformance server log contains %q; log:\n%s", bad, logText)
			return
		}
	}
	if t.Failed() {
		t.Logf("conformance server log (tail):\n%s", logText)
	}
}

// tailBuffer is a concurrency-safe writer keeping the last max bytes written.
type tailBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	max     int
	dropped int
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
		b.dropped += over
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return fmt.Sprintf("[... %d bytes dropped ...]\n%s", b.dropped, b.buf.String())
	}
	return b.buf.String()
}
