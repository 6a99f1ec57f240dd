//go:build unix

package load

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises this process's soft RLIMIT_NOFILE to its hard
// limit, explicitly, so that child processes (the servers) inherit the
// raised limit too, and returns the new soft limit.
func RaiseFileLimit() (int, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("load: getrlimit: %w", err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("load: setrlimit: %w", err)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("load: getrlimit: %w", err)
	}
	return int(min(l.Cur, 1<<30)), nil
}
