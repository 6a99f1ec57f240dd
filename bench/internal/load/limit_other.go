//go:build !unix

package load

import "errors"

// RaiseFileLimit is not supported here.
func RaiseFileLimit() (int, error) { return 1024, errors.New("load: file limits: unsupported system") }
