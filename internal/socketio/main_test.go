package socketio

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/internal/racedetect"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// skipUnderRace skips allocation counts, which the race detector changes.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if racedetect.Enabled {
		t.Skip("allocation counts differ under the race detector; run without -race")
	}
}
