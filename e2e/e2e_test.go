package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-realtime/realtime/internal/proctest"
	"github.com/go-realtime/realtime/internal/racedetect"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// envEnable must be set (make test sets it) for the tests to run.
const envEnable = "REALTIME_E2E"

const (
	maxTotal   = 5 * time.Minute  // the whole test
	maxBuild   = 3 * time.Minute  // go build of the three examples
	maxStartup = 20 * time.Second // an example printing its URL
	maxSuite   = 2 * time.Minute  // one client program
)

// chromium is Debian's Chromium, which the browser tests drive.
const chromium = "/usr/bin/chromium"

// python is Debian's Python, which has Debian's python3-socketio (the
// machine's default python3 may be another one).
const python = "/usr/bin/python3"

var examples = []string{"chat", "namespaces", "rooms"}

// adminUIDist holds the official Admin UI's built files (npm package
// @socket.io/admin-ui), from the repository root.
const adminUIDist = "e2e/node_modules/@socket.io/admin-ui/ui/dist"

// TestExamples builds the example servers and runs every client program
// against fresh instances of them.
func TestExamples(t *testing.T) {
	if os.Getenv(envEnable) == "" {
		t.Skipf("end-to-end tests need Chromium, Node.js, python3-socketio and node_modules: run `make test` (it installs them and sets %s=1)", envEnable)
	}
	root := proctest.ModuleRoot(t)
	node := requireTools(t, root)

	ctx, cancel := context.WithTimeout(context.Background(), proctest.Budget(t, maxTotal))
	t.Cleanup(cancel)
	bins := buildExamples(ctx, t, root)
	artifacts := filepath.Join(root, "e2e", "artifacts")
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	t.Run("browser", func(t *testing.T) {
		chat := startExample(ctx, t, root, bins["chat"])
		namespaces := startExample(ctx, t, root, bins["namespaces"])
		rooms := startExample(ctx, t, root, bins["rooms"])
		proctest.Run(ctx, t, maxSuite, []string{node, "--test", "--test-concurrency=1", "--test-reporter=spec", "browser.test.mjs"}, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1",
			"CHAT_URL="+chat.url, "NAMESPACES_URL="+namespaces.url, "ROOMS_URL="+rooms.url,
			"E2E_ARTIFACTS="+artifacts, "CHROMIUM="+chromium)
		if !t.Failed() {
			// Every page has been closed: the server saw each client go
			// (one at a time, then the last one).
			chat.waitLog(ctx, t, "chat: every client has disconnected")
		}
	})

	t.Run("react-client", func(t *testing.T) {
		chat := startExample(ctx, t, root, bins["chat"])
		proctest.Run(ctx, t, maxSuite, []string{node, "--test", "--test-reporter=spec", "react-client.test.mjs"}, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "CHAT_URL="+chat.url)
	})

	t.Run("python-socketio", func(t *testing.T) {
		chat := startExample(ctx, t, root, bins["chat"])
		rooms := startExample(ctx, t, root, bins["rooms"])
		proctest.Run(ctx, t, maxSuite, []string{python, "-u", "python_client.py"}, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "CHAT_URL="+chat.url, "ROOMS_URL="+rooms.url)
	})

	t.Run("admin-ui", func(t *testing.T) {
		// The official Admin UI's built files, from their own origin (as
		// https://admin.socket.io is), watching the rooms example.
		ui := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(root, adminUIDist))))
		t.Cleanup(ui.Close)
		// Without the password's hash, the example refuses to start.
		cctx, cancel := context.WithTimeout(ctx, maxStartup)
		cmd := exec.CommandContext(cctx, bins["rooms"], "-addr", "127.0.0.1:0", "-admin-ui", ui.URL)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "REALTIME_ADMIN_PASSWORD_HASH=")
		out, err := cmd.CombinedOutput()
		cancel()
		require.Errorf(t, err, "rooms started with -admin-ui and no password hash; output:\n%s", out)
		assert.Contains(t, string(out), "REALTIME_ADMIN_PASSWORD_HASH")

		const password = "e2e-secret"
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		require.NoError(t, err)
		rooms := startExampleWith(ctx, t, root, bins["rooms"], []string{"REALTIME_ADMIN_PASSWORD_HASH=" + string(hash)}, "-admin-ui", ui.URL)
		proctest.Run(ctx, t, maxSuite, []string{node, "--test", "--test-reporter=spec", "admin-client.test.mjs"},
			"ROOMS_URL="+rooms.url, "ADMIN_PASSWORD="+password)
		proctest.Run(ctx, t, maxSuite, []string{node, "--test", "--test-reporter=spec", "admin-ui.test.mjs"}, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1",
			"ROOMS_URL="+rooms.url, "ADMIN_UI_URL="+ui.URL, "ADMIN_PASSWORD="+password,
			"SCREENSHOT="+filepath.Join(artifacts, "admin-ui.png"), "CHROMIUM="+chromium) // docs/admin-ui.png is a copy

	})

	t.Run("missing-bundle", func(t *testing.T) {
		// Without the npm-installed bundle the servers refuse to start and
		// say what to run.
		for _, name := range examples {
			cctx, cancel := context.WithTimeout(ctx, maxStartup)
			cmd := exec.CommandContext(cctx, bins[name], "-addr", "127.0.0.1:0", "-client-dist", t.TempDir())
			out, err := cmd.CombinedOutput()
			cancel()
			var exit *exec.ExitError
			require.ErrorAsf(t, err, &exit, "%s started without the client bundle; output:\n%s", name, out)
			assert.Equal(t, 1, exit.ExitCode(), name)
			assert.Contains(t, string(out), "npm ci --prefix examples", name)
		}
	})
}

// requireTools fails the test, saying what to install, when something the
// client programs need is missing. It returns node's path.
func requireTools(t *testing.T, root string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoErrorf(t, err, "%s is set but node is not on PATH: install Node.js 20+", envEnable)
	for _, f := range []string{
		"examples/node_modules/socket.io-client/dist/socket.io.min.js",
		"e2e/node_modules/playwright-core/package.json",
		"e2e/node_modules/socket.io-client/package.json",
		adminUIDist + "/index.html",
	} {
		_, err := os.Stat(filepath.Join(root, f))
		require.NoErrorf(t, err, "%s is set but %s is missing: run `npm ci --prefix examples` and `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix e2e` (make test does)", envEnable, f)
	}
	_, err = os.Stat(chromium)
	require.NoErrorf(t, err, "%s is set but %s is missing: apt-get install -y chromium (make test does)", envEnable, chromium)
	out, err := exec.Command(python, "-c", "import socketio, engineio, websocket, requests").CombinedOutput()
	require.NoErrorf(t, err, "%s is set but %s cannot import python-socketio: apt-get install -y python3-socketio python3-websocket python3-requests (make test does)\n%s", envEnable, python, out)
	return node
}

// buildExamples compiles the examples into a temporary directory, with the
// race detector when this test runs with it, and returns their paths.
func buildExamples(ctx context.Context, t *testing.T, root string) map[string]string {
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if racedetect.Enabled {
		args = append(args, "-race")
	}
	for _, name := range examples {
		args = append(args, "./examples/"+name)
	}
	ctx, cancel := context.WithTimeout(ctx, maxBuild)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoErrorf(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	bins := make(map[string]string, len(examples))
	for _, name := range examples {
		bins[name] = filepath.Join(dir, name)
	}
	return bins
}

// example is a running example server.
type example struct {
	name   string
	url    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // Wait's result, valid after exited is closed
}

var (
	listening   = regexp.MustCompile(`listening on (http://\S+)`)
	loggedError = regexp.MustCompile(`(?m)^\S+ \S+ ERROR `) // log/slog's default handler
)

// startExample starts bin on a free loopback port (it prints the URL it
// got) from the repository root, as `go run ./examples/NAME` would run. The server is stopped when the test ends; a data
// race or panic in its log, or an unclean exit, fails the test.
func startExample(ctx context.Context, t *testing.T, root, bin string) *example {
	t.Helper()
	return startExampleWith(ctx, t, root, bin, nil)
}

// startExampleWith is startExample with more environment variables and
// command-line arguments.
func startExampleWith(ctx context.Context, t *testing.T, root, bin string, env []string, args ...string) *example {
	t.Helper()
	e := &example{name: filepath.Base(bin), log: newLogBuffer(), exited: make(chan struct{})}
	e.cmd = exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	if env != nil {
		e.cmd.Env = append(os.Environ(), env...)
	}
	e.cmd.Dir = root
	e.cmd.Stdout = e.log
	e.cmd.Stderr = e.log
	e.cmd.WaitDelay = 5 * time.Second
	require.NoError(t, e.cmd.Start())
	go func() {
		e.err = e.cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(func() { e.stop(t) })

	sctx, cancel := context.WithTimeout(ctx, maxStartup)
	defer cancel()
	m, err := e.log.wait(sctx, e.exited, func(s string) []string { return listening.FindStringSubmatch(s) })
	require.NoErrorf(t, err, "%s did not print its URL; log:\n%s", e.name, e.log)
	e.url = m[1]
	t.Logf("%s: %s", e.name, e.url)
	return e
}

// waitLog waits until the server's log contains s.
func (e *example) waitLog(ctx context.Context, t *testing.T, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := e.log.wait(ctx, e.exited, func(text string) []string {
		if strings.Contains(text, s) {
			return []string{s}
		}
		return nil
	})
	assert.NoErrorf(t, err, "%s never logged %q; log:\n%s", e.name, s, e.log)
}

// stop interrupts the server (it shuts down gracefully), kills it if it
// does not exit, and checks its log.
func (e *example) stop(t *testing.T) {
	select {
	case <-e.exited:
		t.Errorf("%s exited before the test ended (%v)", e.name, e.err)
	default:
		_ = e.cmd.Process.Signal(os.Interrupt)
		select {
		case <-e.exited:
			assert.NoErrorf(t, e.err, "%s did not exit cleanly on SIGINT", e.name)
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not exit within 10s of SIGINT; killing it", e.name)
			_ = e.cmd.Process.Kill()
			<-e.exited
		}
	}
	text := e.log.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		assert.NotContainsf(t, text, bad, "%s log:\n%s", e.name, text)
	}
	assert.NotRegexpf(t, loggedError, text, "%s logged an error; log:\n%s", e.name, text)
	if t.Failed() {
		t.Logf("%s log:\n%s", e.name, text)
	}
}

// logBuffer collects a process's output (up to a limit) and lets a test
// wait for something to appear in it.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{} // receives a token after each write
}

const maxLog = 1 << 20

func newLogBuffer() *logBuffer { return &logBuffer{wrote: make(chan struct{}, 1)} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.buf.Len() < maxLog {
		b.buf.Write(p)
	}
	b.mu.Unlock()
	select {
	case b.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wait returns match's result once it is non-nil on the log's text; it
// gives up when ctx ends or the process exits.
func (b *logBuffer) wait(ctx context.Context, exited <-chan struct{}, match func(string) []string) ([]string, error) {
	for {
		if m := match(b.String()); m != nil {
			return m, nil
		}
		select {
		case <-b.wrote:
		case <-exited:
			if m := match(b.String()); m != nil {
				return m, nil
			}
			return nil, errors.New("the process exited")
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting: %w", ctx.Err())
		}
	}
}
