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

// The floor server completes the handshake the load generator expects,
// broadcasts to the joined connections and answers the stats call.
func TestFloorServesTheLoadGenerator(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(serve))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := strings.TrimPrefix(srv.URL, "http://")
	got := make(chan string, 4)
	hooks := &load.Hooks{OnMsg: func(_ *load.Client, arg []byte) { got <- string(arg) }}
	var clients []*load.Client
	for range 3 {
		c, _, err := load.Dial(ctx, addr, &load.DialOptions{Hooks: hooks})
		require.NoError(t, err)
		clients = append(clients, c)
	}
	for _, c := range clients[:2] {
		reply, err := c.Call(ctx, []byte(`["join","room"]`))
		require.NoError(t, err)
		assert.Equal(t, `["ok"]`, string(reply))
	}
	require.NoError(t, clients[2].Emit([]byte(`["bcast","room",{"n":1}]`)))
	for range 2 {
		select {
		case m := <-got:
			assert.Equal(t, `{"n":1}`, m)
		case <-ctx.Done():
			t.Fatal("broadcast not received")
		}
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
