// Package benchenv is what the benchmark commands (bench/run,
// bench/cluster) share about their environment: where the module is, and
// the npm packages of the Node.js bench server in bench/node.
package benchenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the directory of the module's go.mod: the commands
// run from anywhere inside the repository.
func ModuleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("bench: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("bench: not inside the module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

// NodeDeps runs npm ci in bench/node (output to stderr) unless its
// node_modules is at least as new as package-lock.json. logf, when not
// nil, is told before npm runs.
func NodeDeps(ctx context.Context, root string, logf func(format string, args ...any)) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("bench: node not found: the comparison needs Node.js 20+ with npm")
	}
	dir := filepath.Join(root, "bench", "node")
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	// npm ci writes node_modules/.package-lock.json last.
	if st, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !st.ModTime().Before(lock.ModTime()) {
		return nil
	}
	if logf != nil {
		logf("npm ci --prefix bench/node")
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--prefix", "bench/node", "--no-audit", "--no-fund")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bench: npm ci --prefix bench/node: %w", err)
	}
	return nil
}
