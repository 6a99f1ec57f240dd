package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/internal/logtest"
)

// count is the number of namespaces the instrumentation holds.
func (ins *Instrumentation) count() int {
	n := 0
	ins.instrumented.Range(func(any, any) bool { n++; return true })
	return n
}

// TestInstrumentedForgetsRemovedInstances: the instances of a dynamic
// namespace, whose names clients choose, are removed by the hub when their
// last socket leaves; the instrumentation must not keep them (memory would
// grow with the names clients try).
func TestInstrumentedForgetsRemovedInstances(t *testing.T) {
	h := hub.New(nil)
	dyn := h.OfFunc(func(name string, _ json.RawMessage) bool { return strings.HasPrefix(name, "/room-") })
	ins, err := Instrument(h, Options{Auth: NoAuth{}, Logger: logtest.New().Logger()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Cleanup(func() {
		require.NoError(t, ins.Close())
		_ = h.Shutdown(ctx)
	})
	base := ins.count()

	const names = 50
	for i := range names {
		c, err := hubtest.Dial(ctx, h, nil)
		require.NoError(t, err)
		s, err := c.Connect(ctx, fmt.Sprintf("/room-%d", i), nil)
		require.NoError(t, err)
		require.NoError(t, s.Disconnect())
		require.NoError(t, c.Close())
	}
	for len(dyn.Children()) > 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("instances not removed: %d", len(dyn.Children()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The entries go once the collector has found the instances gone.
	for ins.count() > base {
		runtime.GC()
		select {
		case <-ctx.Done():
			t.Fatalf("the instrumentation still holds %d namespaces (%d before the clients came)", ins.count(), base)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
