package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/bench/internal/benchserver"
	"github.com/go-realtime/realtime/bench/internal/load"
	"github.com/go-realtime/realtime/internal/leaktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, leaktest.Options()...) }

// The floor server completes the handshake the load generator expects and
// answers its stats call.
func TestFloorServesTheLoadGenerator(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(serve))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var clients []*load.Client
	for range 3 {
		c, _, err := load.Dial(ctx, addr, nil)
		require.NoError(t, err)
		clients = append(clients, c)
	}
	reply, err := clients[0].Call(ctx, []byte(`["stats","gc"]`))
	require.NoError(t, err)
	var st []benchserver.Stats
	require.NoError(t, json.Unmarshal(reply, &st), "%s", reply)
	require.Len(t, st, 1)
	assert.Equal(t, 3, st[0].Clients)
	assert.Positive(t, st[0].HeapUsed)
	for _, c := range clients {
		require.NoError(t, c.Close())
	}
}
