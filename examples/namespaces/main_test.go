package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestNamespaces: each namespace greets its own clients and its messages
// reach its clients only, even on one shared connection.
func TestNamespaces(t *testing.T) {
	h := hub.New(nil)
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	register(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer conn.Close()
	post, err := conn.Connect(ctx, "/post", nil)
	require.NoError(t, err)
	get, err := conn.Connect(ctx, "/get", nil)
	require.NoError(t, err)

	next := func(s *hubtest.Socket) message {
		t.Helper()
		ev, err := s.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, "new message", ev.Name)
		var m message
		require.NoError(t, ev.Args.Decode(0, &m))
		return m
	}
	assert.Equal(t, message{Mess: "this is the /post namespace", Namespace: "/post"}, next(post))
	assert.Equal(t, message{Mess: "this is the /get namespace", Namespace: "/get"}, next(get))

	_, err = post.EmitWithAck(ctx, "new message", "to /post")
	require.NoError(t, err)
	_, err = get.EmitWithAck(ctx, "new message", "to /get")
	require.NoError(t, err)
	assert.Equal(t, message{Mess: "to /post", From: post.ID(), Namespace: "/post"}, next(post))
	assert.Equal(t, message{Mess: "to /get", From: get.ID(), Namespace: "/get"}, next(get))
	for _, s := range []*hubtest.Socket{post, get} {
		done, cancel := context.WithCancel(ctx)
		cancel()
		ev, err := s.Next(done)
		assert.Error(t, err, "%s got another event: %+v", s.Namespace(), ev)
	}
	// The / namespace has no handlers here but exists, as in socket.io.
	_, err = conn.Connect(ctx, "/", nil)
	require.NoError(t, err)
}
