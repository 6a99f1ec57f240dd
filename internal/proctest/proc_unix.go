//go:build unix

package proctest

import (
	"os/exec"
	"syscall"
)

// OwnProcessGroup makes cmd the leader of a new process group and makes
// cancellation kill the whole group: `node --test` runs each file in a child
// process, and Chromium starts several, that would otherwise outlive a
// killed parent and keep the output pipe open.
func OwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
