package engineio_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport/engineio"
)

// TestCloseReasons: each way a session ends gives the reason the reference
// server (engine.io 6.6) gives, over the real transports, and is counted
// under it in Stats:
//
//   - a packet that is not Engine.IO: "parse error" (engine.io's parser
//     turns it into an error packet; over polling also a payload that cannot
//     be split into packets);
//   - a broken WebSocket frame, a message or body over MaxPayload, a ping
//     from the client, overlapping polls: "transport error" (engine.io's
//     transport "error" event; its polling transport answers an oversize
//     body 413 and leaves the session open, this server also closes it);
//   - the client's close packet, close frame or lost connection: "transport
//     close";
//   - the application's HandleMessage returning an error: "forced close"
//     (socket.io closes the connection when it cannot decode a packet).
func TestCloseReasons(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		// run ends the session through ts and returns its sid.
		run func(t *testing.T, ts *testServer)
	}{
		{"polling unknown packet type", "parse error", postBody("abc")},
		{"polling empty packet", "parse error", postBody("4a\x1e")},
		{"polling bad base64", "parse error", postBody("b!!!!")},
		{"polling ping from the client", "transport error", postBody("2")},
		{"polling body over MaxPayload", "transport error", postBody("4" + strings.Repeat("x", 200))},
		{"polling overlapping GETs", "transport error", func(t *testing.T, ts *testServer) {
			q := "EIO=4&transport=polling&sid=" + ts.pollHandshake(t)
			a := ts.asyncGet(t, q)
			ts.waitHeld(t)
			assert.Equal(t, http.StatusBadRequest, ts.do(t, http.MethodGet, q, "", nil).status)
			waitResponse(t, a)
		}},
		{"polling close packet", "transport close", postBody("1")},
		{"polling message refused", "forced close", postBody("4refuse")},

		{"websocket unknown packet type", "parse error", wsFrame(ws.OpText, "abc")},
		{"websocket empty packet", "parse error", wsFrame(ws.OpText, "")},
		{"websocket ping from the client", "transport error", wsFrame(ws.OpText, "2")},
		{"websocket message over MaxPayload", "transport error", wsFrame(ws.OpText, "4"+strings.Repeat("x", 200))},
		{"websocket invalid UTF-8", "transport error", wsFrame(ws.OpText, "4\xff")},
		{"websocket reserved opcode", "transport error", wsFrame(0x3, "4x")},
		{"websocket unmasked frame", "transport error", func(t *testing.T, ts *testServer) {
			c := dialRaw(t, ts)
			require.NoError(t, ws.WriteFrame(c, ws.NewTextFrame([]byte("4x"))))
			c.waitClose(t)
		}},
		{"websocket close packet", "transport close", wsFrame(ws.OpText, "1")},
		{"websocket close frame", "transport close", wsFrame(ws.OpClose, "\x03\xe8")},
		{"websocket connection lost", "transport close", func(t *testing.T, ts *testServer) {
			require.NoError(t, dialRaw(t, ts).Close())
		}},
		{"websocket message refused", "forced close", wsFrame(ws.OpText, "4refuse")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{MaxPayload: 100})
			tt.run(t, ts)
			ev := ts.next(t, "close")
			assert.Equal(t, tt.reason, engineio.Reason(ev.err), "close error: %v", ev.err)
			if tt.reason == "forced close" {
				assert.ErrorIs(t, ev.err, errRefused, "the application's error is kept")
			}
			closed := ts.eio.Stats().Closed
			assert.Equal(t, int64(1), closed[tt.reason], "Stats().Closed: %v", closed)
		})
	}
}

// postBody opens a polling session and POSTs body, which ends it.
func postBody(body string) func(t *testing.T, ts *testServer) {
	return func(t *testing.T, ts *testServer) {
		ts.do(t, http.MethodPost, "EIO=4&transport=polling&sid="+ts.pollHandshake(t), body, nil)
	}
}

// wsFrame opens a WebSocket session and sends one masked frame, which ends
// it.
func wsFrame(op ws.OpCode, payload string) func(t *testing.T, ts *testServer) {
	return func(t *testing.T, ts *testServer) {
		c := dialRaw(t, ts)
		require.NoError(t, ws.WriteFrame(c, ws.MaskFrame(ws.NewFrame(op, true, []byte(payload)))))
		c.waitClose(t)
	}
}

// rawWS is a WebSocket client on a bare connection, for frames no
// well-behaved client sends.
type rawWS struct {
	net.Conn
	r io.Reader // what the handshake read ahead, then the connection
}

// dialRaw opens a WebSocket session and reads its open packet.
func dialRaw(t *testing.T, ts *testServer) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, br, _, err := ws.Dial(ctx, ts.wsURL("EIO=4&transport=websocket"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	c := &rawWS{Conn: nc, r: nc}
	if br != nil {
		c.r = io.MultiReader(br, nc)
	}
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	f, err := ws.ReadFrame(c.r)
	require.NoError(t, err)
	parseOpen(t, string(f.Payload))
	ts.next(t, "open")
	return c
}

// waitClose reads until the server's close frame, answers it and closes the
// connection.
func (c *rawWS) waitClose(t *testing.T) {
	t.Helper()
	for {
		f, err := ws.ReadFrame(c.r)
		require.NoError(t, err, "no close frame from the server")
		if f.Header.OpCode == ws.OpClose {
			_ = ws.WriteFrame(c, ws.MaskFrame(ws.NewCloseFrame(f.Payload)))
			_ = c.Close()
			return
		}
	}
}
