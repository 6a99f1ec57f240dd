package redis_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The tests in this package that need Redis run a real redis-server
// (Debian's redis-server package) on a free loopback port, in a temporary
// directory, without persistence. They run only with REALTIME_REDIS=1
// (`make test` sets it); then a missing redis-server fails them.

// requireRedis returns the redis-server binary, or skips/fails the test.
func requireRedis(t testing.TB) string {
	t.Helper()
	if os.Getenv("REALTIME_REDIS") != "1" {
		t.Skip("Redis cluster tests run with REALTIME_REDIS=1: run `make test` (needs redis-server: apt-get install redis-server)")
	}
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("REALTIME_REDIS=1 but redis-server is not installed (apt-get install redis-server): %v", err)
	}
	return path
}

// redisServer is a redis-server process owned by a test.
type redisServer struct {
	bin   string
	dir   string
	port  int
	Addr  string
	extra []string // more redis-server arguments

	cmd    *exec.Cmd
	exited chan struct{}
}

// startRedis starts redis-server on a free port; it is killed when the
// test ends.
func startRedis(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	s := &redisServer{bin: requireRedis(t), dir: t.TempDir(), extra: extra}
	var err error
	for range 5 { // a free port can be taken between the probe and the start
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.launch(); err == nil {
			break
		}
	}
	require.NoError(t, err, "starting redis-server")
	t.Cleanup(s.Kill)
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// launch runs redis-server on s.port and waits until it accepts
// connections (it says so on stdout).
func (s *redisServer) launch() error {
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "notice"}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	ready := make(chan struct{})
	exited := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled {
				log.WriteString(sc.Text() + "\n")
			}
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case <-ready:
		s.cmd, s.exited = cmd, exited
		return nil
	case <-exited:
		return fmt.Errorf("redis-server exited at start:\n%s", log.String())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("redis-server did not start in 20s")
	}
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *redisServer) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart starts the server again on the same port.
func (s *redisServer) Restart(t testing.TB) {
	t.Helper()
	var err error
	for range 50 { // the port may linger briefly after the kill
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err, "restarting redis-server")
}

// Client returns a client of the server, closed when the test ends.
func (s *redisServer) Client(t testing.TB) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err())
	return c
}
