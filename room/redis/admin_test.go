package redis_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/admin"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
)

// TestAdminUIAcrossNodes instruments two nodes for the admin UI; the UI's
// socket on node A sees node B's sockets with their rooms, data, client
// and transport, B's events and stats, and disconnects a socket of B.
func TestAdminUIAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	a := newNode(t, srv, nil)
	b := newNode(t, srv, nil)
	for _, n := range []struct {
		h  *hub.Server
		id string
	}{{a, "node-a"}, {b, "node-b"}} {
		ins, err := admin.Instrument(n.h, admin.Options{Auth: admin.NoAuth{}, ServerID: n.id, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ins.Close() })
	}
	onA := connect(t, a, &testAuth{Rooms: []string{"room a"}})
	onB := connect(t, b, &testAuth{Rooms: []string{"room b"}, Data: map[string]any{"user": "bob"}})

	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, a, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ui, err := c.Connect(ctx, "/admin", nil)
	require.NoError(t, err)

	type sock struct {
		ID        string          `json:"id"`
		ClientID  string          `json:"clientId"`
		Transport string          `json:"transport"`
		Nsp       string          `json:"nsp"`
		Rooms     []string        `json:"rooms"`
		Data      json.RawMessage `json:"data"`
	}
	ev, err := ui.Expect(ctx, "all_sockets")
	require.NoError(t, err)
	var all []sock
	require.NoError(t, ev.Args.Decode(0, &all))
	byID := map[string]sock{}
	for _, s := range all {
		byID[s.ID] = s
	}
	require.Contains(t, byID, onA.ID())
	require.Contains(t, byID, onB.ID(), "node B's socket is listed on node A")
	bob := byID[onB.ID()]
	assert.Equal(t, "/", bob.Nsp)
	assert.ElementsMatch(t, []string{onB.ID(), "room b"}, bob.Rooms)
	assert.JSONEq(t, `{"user":"bob"}`, string(bob.Data))
	assert.Equal(t, "memory", bob.Transport, "node B told its sockets' transport")
	assert.Len(t, bob.ClientID, 12)
	assert.NotEqual(t, byID[onA.ID()].ClientID, bob.ClientID)

	// B's feed and stats reach the UI on A.
	require.NoError(t, onB.Emit("relay", "hi"))
	ev, err = ui.ExpectMatch(ctx, "event_received", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"`+onB.ID()+`"` })
	require.NoError(t, err)
	assert.JSONEq(t, `["relay","hi"]`, string(ev.Args.Raw(2)))
	_, err = ui.ExpectMatch(ctx, "server_stats", func(e *hubtest.Event) bool {
		var st struct {
			ServerID string `json:"serverId"`
		}
		return e.Args.Decode(0, &st) == nil && st.ServerID == "node-b"
	})
	require.NoError(t, err)

	// The UI on A disconnects B's socket.
	require.NoError(t, ui.Emit("_disconnect", "/", false, onB.ID()))
	_, err = ui.ExpectMatch(ctx, "socket_disconnected", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"`+onB.ID()+`"` })
	require.NoError(t, err)
	select {
	case <-onB.Disconnected():
	case <-ctx.Done():
		t.Fatal("node B's socket was not disconnected")
	}
	assert.Equal(t, "io server disconnect", onB.Reason())
}
