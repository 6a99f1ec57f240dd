//go:build !unix

package e2e

import "os/exec"

// ownProcessGroup: elsewhere, cancellation kills only the process itself.
func ownProcessGroup(*exec.Cmd) {}
