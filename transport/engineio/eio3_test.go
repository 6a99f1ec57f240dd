package engineio_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
)

// Engine.IO revision 3 (Options.AllowEIO3), checked on the wire against
// what engine.io 6 with allowEIO3 sends; the official socket.io-client 2.x
// runs against it in interop/eio3.test.mjs.

func TestEIO3RefusedByDefault(t *testing.T) {
	tests := []struct {
		name  string
		allow bool
		query string
		code  int
	}{
		{"EIO=3 without the option", false, "EIO=3&transport=polling", 5},
		{"EIO=3 over WebSocket without the option", false, "EIO=3&transport=websocket", 5},
		{"EIO=2 with the option", true, "EIO=2&transport=polling", 5},
		{"no EIO with the option", true, "transport=polling", 5},
		{"JSONP with the option", true, "EIO=3&transport=polling&j=0", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{AllowEIO3: tt.allow})
			res := ts.do(t, http.MethodGet, tt.query, "", nil)
			assert.Equal(t, http.StatusBadRequest, res.status)
			var body struct{ Code int }
			require.NoError(t, json.Unmarshal([]byte(res.body), &body), res.body)
			assert.Equal(t, tt.code, body.Code, res.body)
			assert.Zero(t, ts.eio.Len())
		})
	}
}

// v3Open splits a revision 3 text payload holding the open packet.
func v3Open(t *testing.T, body string) openPacket {
	t.Helper()
	n, rest, ok := strings.Cut(body, ":")
	require.True(t, ok, "payload %q", body)
	l, err := strconv.Atoi(n)
	require.NoError(t, err, "payload %q", body)
	require.Len(t, rest, l, "payload %q", body)
	return parseOpen(t, rest)
}

func TestEIO3Polling(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{AllowEIO3: true})
	res := ts.do(t, http.MethodGet, "EIO=3&transport=polling", "", nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	op := v3Open(t, res.body)
	assert.Equal(t, []string{"websocket"}, op.Upgrades)
	sess := ts.next(t, "open").sess
	assert.Equal(t, 3, sess.Protocol())
	q := "EIO=3&transport=polling&sid=" + op.SID

	// Text framing, lengths in UTF-16 code units; "b4..." is binary.
	res = ts.do(t, http.MethodPost, q, "4:4é😀6:b4AQID", nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	assert.Equal(t, engineio.Message{Data: []byte("é😀")}, ts.next(t, "message").msg)
	assert.Equal(t, engineio.Message{Binary: true, Data: []byte{1, 2, 3}}, ts.next(t, "message").msg)
	// The echoes, as one binary payload (the client can take binary).
	res = ts.do(t, http.MethodGet, q, "", nil)
	assert.Equal(t, "application/octet-stream", res.header.Get("Content-Type"))
	assert.Equal(t, "\x00\x07\xff4é😀"+"\x01\x04\xff\x04\x01\x02\x03", res.body)

	// Binary framing in a POST (Content-Type application/octet-stream).
	res = ts.do(t, http.MethodPost, q, "\x01\x02\xff\x04\x09\x00\x02\xff4x", http.Header{"Content-Type": {"application/octet-stream"}})
	require.Equal(t, http.StatusOK, res.status, res.body)
	assert.Equal(t, engineio.Message{Binary: true, Data: []byte{9}}, ts.next(t, "message").msg)
	assert.Equal(t, engineio.Message{Data: []byte("x")}, ts.next(t, "message").msg)
	res = ts.do(t, http.MethodGet, q, "", nil)
	assert.Equal(t, "\x01\x02\xff\x04\x09\x00\x02\xff4x", res.body)

	// A text-only answer is text.
	require.NoError(t, sess.Send(engineio.Text([]byte("hi"))))
	res = ts.do(t, http.MethodGet, q, "", nil)
	assert.Equal(t, "text/plain; charset=UTF-8", res.header.Get("Content-Type"))
	assert.Equal(t, "3:4hi", res.body)

	// A revision 4 payload is refused.
	res = ts.do(t, http.MethodPost, q, "4a\x1e4b", nil)
	assert.Equal(t, http.StatusBadRequest, res.status)
}

func TestEIO3PollingBase64(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{AllowEIO3: true})
	res := ts.do(t, http.MethodGet, "EIO=3&transport=polling&b64=1", "", nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	op := v3Open(t, res.body)
	sess := ts.next(t, "open").sess
	require.NoError(t, sess.Send(engineio.Text([]byte("x")), engineio.Binary([]byte{0xff, 0})))
	res = ts.do(t, http.MethodGet, "EIO=3&transport=polling&sid="+op.SID, "", nil)
	assert.Equal(t, "text/plain; charset=UTF-8", res.header.Get("Content-Type"))
	assert.Equal(t, "2:4x6:b4/wA=", res.body)
}

func TestEIO3Heartbeat(t *testing.T) {
	// The server never pings; it answers the client's pings with pongs.
	// With no ping for PingInterval+PingTimeout, the session times out.
	const interval, timeout = 300 * time.Millisecond, 300 * time.Millisecond
	ts := newTestServer(t, &engineio.Options{AllowEIO3: true, PingInterval: interval, PingTimeout: timeout})
	c := ts.dial(t, "EIO=3&transport=websocket", nil)
	f := c.read(t)
	op := parseOpen(t, string(f.Data))
	assert.Empty(t, op.Upgrades)
	// Pings every 100 ms keep the session past its first deadline
	// (interval+timeout after the open): each ping moves it on.
	start := time.Now()
	for time.Since(start) < 2*(interval+timeout) {
		c.send(t, transport.TextFrame("2"))
		assert.Equal(t, "3", string(c.read(t).Data), "pong")
		time.Sleep(100 * time.Millisecond) // the client's ping period
	}
	assert.NotNil(t, ts.eio.Session(op.SID), "closed although the client pinged")
	// A pong from the client is the wrong direction.
	c.send(t, transport.TextFrame("3"))
	assert.Equal(t, 1002, closeCode(t, c.ClientConn))
	ev := ts.next(t, "close")
	assert.ErrorIs(t, ev.err, engineio.ErrTransportError)

	// No pings: closed for the ping timeout.
	c = ts.dial(t, "EIO=3&transport=websocket", nil)
	sid := parseOpen(t, string(c.read(t).Data)).SID
	start = time.Now()
	ev = ts.next(t, "close")
	assert.ErrorIs(t, ev.err, engineio.ErrPingTimeout)
	assert.GreaterOrEqual(t, time.Since(start), interval+timeout-50*time.Millisecond, "closed before PingInterval+PingTimeout")
	assert.Nil(t, ts.eio.Session(sid))
}

func TestEIO3PingOnV4IsRefused(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{AllowEIO3: true})
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	c.send(t, transport.TextFrame("2"))
	assert.Equal(t, 1002, closeCode(t, c.ClientConn))
	ev := ts.next(t, "close")
	assert.ErrorIs(t, ev.err, engineio.ErrTransportError)
}

func TestEIO3WebSocketFrames(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		in      transport.Frame
		wantOut transport.Frame
	}{
		{"binary with type byte", "EIO=3&transport=websocket", transport.BinaryFrame([]byte{4, 1, 2}), transport.BinaryFrame([]byte{4, 1, 2})},
		{"base64 in, binary out", "EIO=3&transport=websocket", transport.TextFrame("b4AQI="), transport.BinaryFrame([]byte{4, 1, 2})},
		{"base64 both ways", "EIO=3&transport=websocket&b64=1", transport.TextFrame("b4AQI"), transport.TextFrame("b4AQI=")},
		{"text", "EIO=3&transport=websocket&b64=1", transport.TextFrame("4hi"), transport.TextFrame("4hi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{AllowEIO3: true})
			c := ts.dial(t, tt.query, nil)
			parseOpen(t, string(c.read(t).Data))
			c.send(t, tt.in)
			ev := ts.next(t, "message")
			assert.Equal(t, tt.wantOut.Binary || strings.HasPrefix(string(tt.in.Data), "b4"), ev.msg.Binary)
			got := c.read(t)
			assert.Equal(t, tt.wantOut, got)
		})
	}
	for _, bad := range []transport.Frame{transport.BinaryFrame([]byte{2, 1}), transport.BinaryFrame(nil), transport.TextFrame("b2AQ=="), transport.TextFrame("b4!!")} {
		t.Run("refused "+string(bad.Data), func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{AllowEIO3: true})
			c := ts.dial(t, "EIO=3&transport=websocket", nil)
			parseOpen(t, string(c.read(t).Data))
			c.send(t, bad)
			assert.Equal(t, 1002, closeCode(t, c.ClientConn))
			ev := ts.next(t, "close")
			assert.ErrorIs(t, ev.err, engineio.ErrParseError)
		})
	}
}

func TestEIO3Upgrade(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{AllowEIO3: true})
	res := ts.do(t, http.MethodGet, "EIO=3&transport=polling", "", nil)
	require.Equal(t, http.StatusOK, res.status, res.body)
	sid := v3Open(t, res.body).SID
	sess := ts.next(t, "open").sess
	q := "EIO=3&transport=polling&sid=" + sid

	pending := ts.asyncGet(t, q)
	ts.waitHeld(t)
	c := ts.dial(t, "EIO=3&transport=websocket&sid="+sid, nil)
	c.send(t, transport.TextFrame("2probe"))
	assert.Equal(t, "3probe", string(c.read(t).Data))
	assert.Equal(t, "1:6", waitResponse(t, pending).body, "held poll released with a v3 noop")
	assert.Equal(t, "1:6", ts.do(t, http.MethodGet, q, "", nil).body, "poll during the upgrade")
	// Queued while polling, in the revision 4 form: sent on the WebSocket
	// with the type byte.
	require.NoError(t, sess.Send(engineio.Binary([]byte{7})))
	c.send(t, transport.TextFrame("5"))
	assert.Equal(t, transport.BinaryFrame([]byte{4, 7}), c.read(t))
	require.Eventually(t, func() bool { return sess.Transport() == transport.NameWebSocket }, 5*time.Second, time.Millisecond)
	c.send(t, transport.TextFrame("2"))
	assert.Equal(t, "3", string(c.read(t).Data))
	require.NoError(t, sess.Send(engineio.Binary([]byte{8})))
	assert.Equal(t, transport.BinaryFrame([]byte{4, 8}), c.read(t))
}
