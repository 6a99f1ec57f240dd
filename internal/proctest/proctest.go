// Package proctest runs the external programs of the end-to-end and interop
// tests (node, Chromium through playwright, python, example servers): call
// [ModuleRoot] to find the repository, [Budget] to size a time limit within
// the test binary's own, and [Run] to run a client program with its output
// in the test log. [OwnProcessGroup] makes cancellation kill a program's
// children too.
package proctest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Budget returns limit, shortened to leave a margin of 30 s before the test
// binary's own deadline (go test -timeout), but never under 10 s.
func Budget(t testing.TB, limit time.Duration) time.Duration {
	if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, set := dl.Deadline(); set {
			if left := time.Until(d) - 30*time.Second; left < limit {
				limit = max(left, 10*time.Second)
			}
		}
	}
	return limit
}

// ModuleRoot returns the repository root: the nearest directory at or above
// the working directory that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("proctest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Run runs argv with env added to the process environment (and colours
// off), in its own process group, streaming its output into the test log
// (shown on failure, or always with -v). It fails the test when the program
// fails or outlives limit.
func Run(ctx context.Context, t testing.TB, limit time.Duration, argv []string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	OwnProcessGroup(cmd)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0")
	cmd.Env = append(cmd.Env, env...)
	out := t.Output()
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	what := filepath.Base(argv[0]) + " " + strings.Join(argv[1:], " ")
	switch {
	case ctx.Err() != nil:
		t.Errorf("%s: timed out after %v (limit %v); output above", what, took, limit)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Errorf("%s failed (exit code %d) after %v; see the output above", what, exit.ExitCode(), took)
		} else {
			t.Errorf("%s: %v", what, err)
		}
	default:
		t.Logf("%s passed in %v", what, took)
	}
}
