package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/logtest"
)

// TestLoggerReachesTransports: with Options.Logger set, what the Engine.IO
// server and the default transports log (here: a refused origin, a
// WebSocket protocol error, a polling session ended by a bad POST) goes to
// that logger, and nothing of it to slog.Default().
func TestLoggerReachesTransports(t *testing.T) {
	defaults := logtest.CaptureDefault(t) // before New: nothing may fall back on it
	logs := logtest.New()
	h := newHub(t, &hub.Options{Logger: logs.Logger()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	wait := func(prefix string) logtest.Record {
		t.Helper()
		rec, ok := logs.Wait(10*time.Second, logtest.Message(prefix))
		require.True(t, ok, "no %q record in the hub's logger; it has %v", prefix, logs.Records())
		return rec
	}

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/socket.io/?EIO=4&transport=polling", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://logger-test.example")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Equal(t, "http://logger-test.example", wait("engineio: cross-origin request refused").Attrs["origin"])

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, _, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket")
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte{0x81, 2, '4', 'x'}) // a text frame without the mask clients must set
	require.NoError(t, err)
	wait("websocket:")

	p := dialWire(t, srv.URL, "polling").(*pollWire)
	res, err = http.Post(p.url, "text/plain", strings.NewReader("x")) // no such packet type
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	wait("polling:")

	for _, prefix := range []string{"engineio:", "websocket:", "polling:", "namespace:", "hub:"} {
		assert.Empty(t, defaults.Matching(logtest.Message(prefix)), "%s records in slog.Default()", prefix)
	}
}
