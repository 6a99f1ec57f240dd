//go:build race

package e2e

// raceEnabled: the test binary runs with the race detector, so the example
// servers are built with it too.
const raceEnabled = true
