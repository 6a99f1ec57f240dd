//go:build race

package interop

// raceEnabled: the test binary runs with the race detector, so the
// conformance server is built with it too.
const raceEnabled = true
