package redis_test

import (
	"context"
	"net"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/room/redis"
)

// TestLoggerFromHub: an adapter whose Options name no Logger logs where its
// namespace does (the hub's Options.Logger): the factory's records and the
// node's, never to slog.Default(). No Redis needed: one client is nil, the
// other points at a port nobody listens on.
func TestLoggerFromHub(t *testing.T) {
	defaults := logtest.CaptureDefault(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())

	for _, tt := range []struct {
		name   string
		client func(t *testing.T) goredis.UniversalClient
		want   string
		uid    bool // logged by the node, which names itself
	}{
		{"nil client", func(*testing.T) goredis.UniversalClient { return nil }, "redis: New was given a nil client", false},
		{"Redis unreachable", func(t *testing.T) goredis.UniversalClient {
			c := goredis.NewClient(&goredis.Options{Addr: closed, MaxRetries: -1})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}, "redis: could not subscribe yet", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs := logtest.New()
			h := hub.New(&hub.Options{
				Logger:  logs.Logger(),
				Adapter: redis.New(tt.client(t), &redis.Options{RequestTimeout: 500 * time.Millisecond}),
			})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				assert.NoError(t, h.Shutdown(ctx))
			})
			rec, ok := logs.Wait(10*time.Second, logtest.Message(tt.want))
			require.True(t, ok, "no %q record in the hub's logger; it has %v", tt.want, logs.Records())
			if tt.uid {
				assert.NotEmpty(t, rec.Attrs["uid"])
			}
		})
	}
	assert.Empty(t, defaults.Matching(logtest.Message("redis:")), "records in slog.Default()")
}
