package hub_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// TestDisconnectReasons: the reason a socket's OnDisconnect gets when its
// client breaks the protocol is the one socket.io 4.8 gives, over the real
// transports: a broken or oversize frame is a "transport error" (engine.io's
// transport error), a packet that is not Engine.IO a "parse error", one that
// is not Socket.IO a "forced close" (socket.io closes the connection when its
// decoder throws), and a valid packet the client may not send in its state a
// "forced server close" (socket.io's Client.close).
func TestDisconnectReasons(t *testing.T) {
	const maxPayload = 1000
	tests := []struct {
		name   string
		reason string
		// ws and poll misbehave on a client connected to "/" over a
		// WebSocket or long-polling (at url); nil: not for that transport.
		ws   func(t *testing.T, c *leanClient)
		poll func(t *testing.T, url string)
	}{
		{name: "broken frame (reserved opcode)", reason: namespace.ReasonTransportError,
			ws: writeFrame(ws.MaskFrame(ws.NewFrame(0x3, true, []byte("x"))))},
		{name: "unmasked frame", reason: namespace.ReasonTransportError,
			ws: writeFrame(ws.NewTextFrame([]byte(`42["x"]`)))},
		{name: "invalid UTF-8", reason: namespace.ReasonTransportError,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte("42[\"\xff\"]"))))},
		{name: "message over MaxPayload", reason: namespace.ReasonTransportError,
			ws:   writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte(`42["x","` + strings.Repeat("y", maxPayload) + `"]`)))),
			poll: post(`42["x","` + strings.Repeat("y", maxPayload) + `"]`)},
		{name: "not Engine.IO", reason: namespace.ReasonParseError,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte("x")))), poll: post("x")},
		{name: "bad polling payload", reason: namespace.ReasonParseError,
			poll: post("42[\"x\"]\x1e")},
		{name: "unknown Socket.IO packet type", reason: namespace.ReasonForcedClose,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte("4abc")))), poll: post("4abc")},
		{name: "EVENT payload not an array", reason: namespace.ReasonForcedClose,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte("42{}")))), poll: post("42{}")},
		{name: "binary without a BINARY_EVENT", reason: namespace.ReasonForcedClose,
			ws: writeFrame(ws.MaskFrame(ws.NewBinaryFrame([]byte{1, 2, 3})))},
		{name: "CONNECT twice", reason: namespace.ReasonForcedServerClose,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte("40")))), poll: post("40")},
		{name: "EVENT for a namespace not joined", reason: namespace.ReasonForcedServerClose,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte(`42/other,["x"]`)))), poll: post(`42/other,["x"]`)},
		{name: "CONNECT_ERROR from the client", reason: namespace.ReasonForcedServerClose,
			ws: writeFrame(ws.MaskFrame(ws.NewTextFrame([]byte(`44{"message":"x"}`)))), poll: post(`44{"message":"x"}`)},
	}
	for _, tt := range tests {
		for _, name := range []string{"websocket", "polling"} {
			run := tt.poll != nil
			if name == "websocket" {
				run = tt.ws != nil
			}
			if !run {
				continue
			}
			t.Run(name+" "+tt.name, func(t *testing.T) {
				h := newHub(t, &hub.Options{MaxPayload: maxPayload})
				reasons := make(chan string, 1)
				h.OnConnection(func(s *namespace.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
				srv := httptest.NewServer(h)
				t.Cleanup(srv.Close)
				t.Cleanup(srv.CloseClientConnections)
				if name == "websocket" {
					tt.ws(t, dialLean(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?EIO=4&transport=websocket", 0))
				} else {
					w := dialWire(t, srv.URL, name).(*pollWire)
					w.send(t, "40")
					require.True(t, strings.HasPrefix(string(w.recv(t).Data), "40"))
					tt.poll(t, w.url)
				}
				select {
				case r := <-reasons:
					assert.Equal(t, tt.reason, r)
				case <-testCtx(t).Done():
					t.Fatal("no disconnect")
				}
			})
		}
	}
}

// writeFrame sends f as it is, then answers the server's close frame.
func writeFrame(f ws.Frame) func(t *testing.T, c *leanClient) {
	return func(t *testing.T, c *leanClient) {
		require.NoError(t, ws.WriteFrame(c.conn, f))
		require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		for {
			got, err := ws.ReadFrame(c.rd)
			require.NoError(t, err, "no close frame from the server")
			if got.Header.OpCode == ws.OpClose {
				_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(got.Payload)))
				_ = c.conn.Close()
				return
			}
		}
	}
}

// post sends body in one polling POST, whatever the answer.
func post(body string) func(t *testing.T, url string) {
	return func(t *testing.T, url string) {
		res, err := http.Post(url, "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
	}
}
