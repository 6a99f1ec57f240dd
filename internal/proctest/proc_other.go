//go:build !unix

package proctest

import "os/exec"

// OwnProcessGroup: elsewhere, cancellation kills only the process itself.
func OwnProcessGroup(*exec.Cmd) {}
