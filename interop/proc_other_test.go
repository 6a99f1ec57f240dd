//go:build !unix

package interop

import "os/exec"

// ownProcessGroup: elsewhere, cancellation kills only the process itself.
func ownProcessGroup(*exec.Cmd) {}
