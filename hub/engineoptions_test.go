package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

// quickTransports are the default transports, except that a polling
// session a test leaves does not hold the hub's Shutdown.
func quickTransports() []transport.Transport {
	return []transport.Transport{polling.New(&polling.Options{CloseTimeout: -1}), websocket.New(nil)}
}

// openPacket is the Engine.IO handshake.
type openPacket struct {
	SID      string   `json:"sid"`
	Upgrades []string `json:"upgrades"`
}

func handshake(t *testing.T, srv *httptest.Server) (openPacket, *http.Response) {
	t.Helper()
	res, body := get(t, srv, http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.True(t, strings.HasPrefix(body, "0"), body)
	var op openPacket
	require.NoError(t, json.Unmarshal([]byte(body[1:]), &op), body)
	return op, res
}

// TestEngineOptions: the hub passes its Engine.IO options on.
func TestEngineOptions(t *testing.T) {
	var n atomic.Int32
	errs := make(chan *hub.ConnectionError, 4)
	h := newHub(t, &hub.Options{
		Transports: quickTransports(),
		Cookie:     &hub.Cookie{Name: "sticky"},
		GenerateID: func(r *http.Request) (string, error) {
			if r.URL.Query().Get("fail") != "" {
				return "", errors.New("test: no id")
			}
			return "node1-" + string(rune('a'+n.Add(1)-1)), nil
		},
		OnConnectionError: func(e *hub.ConnectionError) { errs <- e },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	op, res := handshake(t, srv)
	assert.Equal(t, "node1-a", op.SID)
	assert.Equal(t, "sticky=node1-a; Path=/; HttpOnly; SameSite=Lax", res.Header.Get("Set-Cookie"))
	assert.Equal(t, []string{"websocket"}, op.Upgrades)

	res, body := get(t, srv, http.MethodGet, "/socket.io/?EIO=4&transport=polling&fail=1", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.JSONEq(t, `{"code":3,"message":"Bad request"}`, body)
	e := <-errs
	assert.Equal(t, engineio.CodeBadRequest, e.Code)
	assert.Equal(t, "ID_GENERATION_ERROR", e.Context["name"])
	assert.Equal(t, "1", e.Request.URL.Query().Get("fail"))

	res, _ = get(t, srv, http.MethodGet, "/socket.io/?EIO=4&transport=tobi", nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	e = <-errs
	assert.Equal(t, engineio.CodeUnknownTransport, e.Code)
	assert.Equal(t, "Transport unknown", e.Message)
	assert.Equal(t, map[string]any{"transport": "tobi"}, e.Context)

	// hubtest connections get their ids from GenerateID too.
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Connect(ctx, "/", nil)
	require.NoError(t, err)
	assert.Equal(t, 2, h.Engine().Len(), "the polling session and this one")
	assert.NotNil(t, h.Engine().Session("node1-b"))
}

func TestDisableUpgrades(t *testing.T) {
	h := newHub(t, &hub.Options{Transports: quickTransports(), DisableUpgrades: true})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	op, _ := handshake(t, srv)
	assert.Empty(t, op.Upgrades)
}

// TestUpgradeTimeout: a WebSocket that answers the probe but never
// completes the upgrade is closed after UpgradeTimeout (the default, 10s,
// is longer than this test waits).
func TestUpgradeTimeout(t *testing.T) {
	h := newHub(t, &hub.Options{Transports: quickTransports(), UpgradeTimeout: 50 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	op, _ := handshake(t, srv)

	ctx := testCtx(t)
	ws, err := websocket.Dial(ctx, srv.URL+"/socket.io/?EIO=4&transport=websocket&sid="+op.SID, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.Close() })
	require.NoError(t, ws.WriteFrame(transport.TextFrame("2probe")))
	f, err := ws.ReadFrame(ctx)
	require.NoError(t, err)
	assert.Equal(t, "3probe", string(f.Data))
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = ws.ReadFrame(rctx) // no "5": the server gives up
	require.Error(t, err)
	assert.NoError(t, rctx.Err(), "closed by the server, before this test's deadline")
	assert.NotNil(t, h.Engine().Session(op.SID), "the session carries on polling")
}
