package engineio_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/memory"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

func TestHandshakePolling(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 1000})
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&t=abc", "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "text/plain; charset=UTF-8", res.header.Get("Content-Type"))
	op := parseOpen(t, res.body)
	assert.Len(t, op.SID, 20)
	assert.Equal(t, []string{"websocket"}, op.Upgrades)
	assert.Equal(t, 300, op.PingInterval)
	assert.Equal(t, 200, op.PingTimeout)
	assert.Equal(t, 1000, op.MaxPayload)
	ev := ts.next(t, "open")
	assert.Equal(t, op.SID, ev.sess.ID())
	assert.Equal(t, transport.NamePolling, ev.sess.Transport())
	assert.Equal(t, "abc", ev.sess.URL().Query().Get("t"))
}

func TestHandshakeWebSocket(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	op := parseOpen(t, c.readText(t))
	assert.Empty(t, op.Upgrades)
	assert.Equal(t, 25000, op.PingInterval)
	assert.Equal(t, 20000, op.PingTimeout)
	assert.Equal(t, 1000000, op.MaxPayload)
	ev := ts.next(t, "open")
	assert.Equal(t, transport.NameWebSocket, ev.sess.Transport())
}

func TestDisableUpgrades(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{DisableUpgrades: true})
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	assert.Empty(t, parseOpen(t, res.body).Upgrades)
}

func TestErrorAnswers(t *testing.T) {
	ts := newTestServer(t, nil)
	wsSID := func() string {
		c := ts.dial(t, "EIO=4&transport=websocket", nil)
		return parseOpen(t, c.readText(t)).SID
	}()
	pollSID := ts.pollHandshake(t)

	tests := []struct {
		name, method, query string
		status              int
		body                string
	}{
		{"no transport", "GET", "EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown transport", "GET", "EIO=4&transport=tobi", 400, `{"code":0,"message":"Transport unknown"}`},
		{"no EIO", "GET", "transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO 3", "GET", "EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"handshake with POST", "POST", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"handshake with PUT", "PUT", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"unknown sid GET", "GET", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
		{"polling on a websocket session", "GET", "EIO=4&transport=polling&sid=" + wsSID, 400, `{"code":3,"message":"Bad request"}`},
		{"bad method on a session", "PUT", "EIO=4&transport=polling&sid=" + pollSID, 400, `{"code":3,"message":"Bad request"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.do(t, tt.method, tt.query, "", nil)
			assert.Equal(t, tt.status, res.status)
			assert.Equal(t, "application/json", res.header.Get("Content-Type"))
			assert.JSONEq(t, tt.body, res.body)
		})
	}
}

func TestPollingMessages(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	q := "EIO=4&transport=polling&sid=" + sid

	res := ts.do(t, http.MethodPost, q, payload("4hello", "4€ world", "bAQID", "6"), nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "ok", res.body)
	for _, want := range []engineio.Message{{Data: []byte("hello")}, {Data: []byte("€ world")}, {Binary: true, Data: []byte{1, 2, 3}}} {
		ev := ts.next(t, "message")
		assert.Equal(t, want, ev.msg)
	}
	// The echo went into the polling queue; one GET gets all of it.
	res = ts.do(t, http.MethodGet, q, "", nil)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, payload("4hello", "4€ world", "bAQID"), res.body)
}

func TestHeldPollReleasedBySend(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	q := "EIO=4&transport=polling&sid=" + sid
	get := ts.asyncGet(t, q)
	select {
	case r := <-get:
		t.Fatalf("GET answered before anything was sent: %+v", r)
	default:
	}
	require.NoError(t, ts.eio.Session(sid).Send(engineio.Text([]byte("hi"))))
	assert.Equal(t, "4hi", waitResponse(t, get).body)
}

func TestWebSocketMessages(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	ts.next(t, "open")
	c.send(t, transport.TextFrame("4hello"))
	c.send(t, transport.BinaryFrame([]byte{0, 1, 2}))
	assert.Equal(t, "4hello", c.readText(t))
	f := c.read(t)
	assert.Equal(t, transport.BinaryFrame([]byte{0, 1, 2}), f)
	assert.Equal(t, engineio.Message{Data: []byte("hello")}, ts.next(t, "message").msg)
	assert.Equal(t, engineio.Message{Binary: true, Data: []byte{0, 1, 2}}, ts.next(t, "message").msg)
}

func TestSendRefusesNonMessageFrames(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	err := ts.eio.Session(sid).Send(transport.TextFrame("2"))
	assert.ErrorIs(t, err, engineio.ErrNotMessage)
}

func TestUpgrade(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	q := "EIO=4&transport=polling&sid=" + sid
	sess := ts.eio.Session(sid)

	pending := ts.asyncGet(t, q)
	ts.waitHeld(t)
	c := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	c.send(t, transport.TextFrame("2probe"))
	assert.Equal(t, "3probe", c.readText(t))
	// The held GET is released with a noop.
	assert.Equal(t, "6", waitResponse(t, pending).body)
	// While upgrading, a new poll waits a little for the upgrade to
	// finish, then is released with a noop.
	assert.Equal(t, "6", ts.do(t, http.MethodGet, q, "", nil).body)
	// Sent before the upgrade completes: must reach the client on the
	// WebSocket, first (no noop before it).
	require.NoError(t, sess.Send(engineio.Text([]byte("buffered"))))
	c.send(t, transport.TextFrame("5"))
	assert.Equal(t, "4buffered", string(c.read(t).Data))
	require.Eventually(t, func() bool { return sess.Transport() == transport.NameWebSocket }, 5*time.Second, time.Millisecond)

	c.send(t, transport.TextFrame("4after"))
	assert.Equal(t, "4after", c.readText(t))
	// Polling is over for this session.
	assert.Equal(t, http.StatusBadRequest, ts.do(t, http.MethodGet, q, "", nil).status)
	assert.Equal(t, http.StatusBadRequest, ts.do(t, http.MethodPost, q, "4x", nil).status)
	// A second WebSocket for the same session is closed.
	c2 := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c2.ReadFrame(ctx)
	assert.Error(t, err)
}

// A client that sends "2probe" and "5" and at once polls again (as the
// official socket.io-protocol suite does) is refused the poll: by the time
// the poll is answered the session is on WebSocket, however the server's
// goroutines interleave.
func TestPollRightAfterUpgrade(t *testing.T) {
	ts := newTestServer(t, nil)
	for range 20 {
		sid := ts.pollHandshake(t)
		c := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
		c.send(t, transport.TextFrame("2probe"))
		c.send(t, transport.TextFrame("5"))
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.status, res.body)
	}
}

func TestUpgradeUnknownSID(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, ts.wsURL("EIO=4&transport=websocket&sid=nope"), nil)
	assert.Error(t, err)
}

func TestUpgradeBadProbe(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	c := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	c.send(t, transport.TextFrame("4not a probe"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.ReadFrame(ctx)
	assert.Error(t, err)
	// The session carries on over polling.
	require.NoError(t, ts.eio.Session(sid).Send(engineio.Text([]byte("still here"))))
	assert.Equal(t, "4still here", ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil).body)
}

func TestHeartbeat(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: 20 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	for i := 0; i < 3; i++ {
		f := c.read(t)
		require.Equal(t, "2", string(f.Data))
		c.send(t, transport.TextFrame("3"))
	}
	select {
	case ev := <-ts.events:
		require.NotEqual(t, "close", ev.kind, "closed: %v", ev.err)
	default:
	}
}

func TestHeartbeatTimeout(t *testing.T) {
	tests := []struct{ name string }{{"polling"}, {"websocket"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
			var sid string
			if tt.name == "polling" {
				sid = ts.pollHandshake(t)
			} else {
				c := ts.dial(t, "EIO=4&transport=websocket", nil)
				sid = parseOpen(t, c.readText(t)).SID
			}
			ev := ts.next(t, "close")
			assert.ErrorIs(t, ev.err, engineio.ErrPingTimeout)
			assert.Equal(t, "ping timeout", engineio.Reason(ev.err))
			assert.Nil(t, ts.eio.Session(sid))
			if tt.name == "polling" {
				assert.Equal(t, http.StatusBadRequest, ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil).status)
			}
		})
	}
}

func TestPingTimeoutAnswersHeldPollWithClose(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: time.Second})
	sid := ts.pollHandshake(t)
	q := "EIO=4&transport=polling&sid=" + sid
	// First poll gets the ping; don't answer it.
	assert.Equal(t, "2", ts.do(t, http.MethodGet, q, "", nil).body)
	pending := ts.asyncGet(t, q)
	assert.Equal(t, "1", waitResponse(t, pending).body)
	ts.next(t, "close")
}

func TestClientClosePacket(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		ts := newTestServer(t, nil)
		sid := ts.pollHandshake(t)
		q := "EIO=4&transport=polling&sid=" + sid
		pending := ts.asyncGet(t, q)
		ts.waitHeld(t)
		assert.Equal(t, "ok", ts.do(t, http.MethodPost, q, "1", nil).body)
		assert.Equal(t, "6", waitResponse(t, pending).body)
		ev := ts.next(t, "close")
		assert.Equal(t, "transport close", engineio.Reason(ev.err))
		assert.Equal(t, http.StatusBadRequest, ts.do(t, http.MethodGet, q, "", nil).status)
	})
	t.Run("websocket", func(t *testing.T) {
		ts := newTestServer(t, nil)
		c := ts.dial(t, "EIO=4&transport=websocket", nil)
		parseOpen(t, c.readText(t))
		c.send(t, transport.TextFrame("1"))
		ev := ts.next(t, "close")
		assert.Equal(t, "transport close", engineio.Reason(ev.err))
	})
}

func TestInvalidPackets(t *testing.T) {
	for _, body := range []string{"abc", "2", "0", "9x", payload("4ok", "")} {
		t.Run("polling "+body, func(t *testing.T) {
			ts := newTestServer(t, nil)
			sid := ts.pollHandshake(t)
			q := "EIO=4&transport=polling&sid=" + sid
			res := ts.do(t, http.MethodPost, q, body, nil)
			assert.Equal(t, http.StatusBadRequest, res.status)
			ts.next(t, "close")
			assert.Equal(t, http.StatusBadRequest, ts.do(t, http.MethodGet, q, "", nil).status)
		})
	}
	for packet, reason := range map[string]string{"abc": "parse error", "2": "transport error", "": "parse error"} {
		t.Run("websocket "+packet, func(t *testing.T) {
			ts := newTestServer(t, nil)
			c := ts.dial(t, "EIO=4&transport=websocket", nil)
			parseOpen(t, c.readText(t))
			c.send(t, transport.TextFrame(packet))
			assert.Equal(t, 1002, closeCode(t, c.ClientConn))
			ev := ts.next(t, "close")
			assert.Equal(t, reason, engineio.Reason(ev.err))
		})
	}
}

func TestOnePollAtATime(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	q := "EIO=4&transport=polling&sid=" + sid
	// Nothing is queued, so a GET is held until the session ends: of two
	// concurrent GETs one is refused, which closes the session, and the
	// other is answered with the close packet.
	a, b := ts.asyncGet(t, q), ts.asyncGet(t, q)
	ra, rb := waitResponse(t, a), waitResponse(t, b)
	if ra.status == http.StatusBadRequest {
		ra, rb = rb, ra
	}
	assert.Equal(t, http.StatusBadRequest, rb.status)
	assert.Equal(t, http.StatusOK, ra.status)
	assert.Equal(t, "1", ra.body)
	ts.next(t, "close")
}

func TestMaxPayload(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		ts := newTestServer(t, &engineio.Options{MaxPayload: 100})
		sid := ts.pollHandshake(t)
		res := ts.do(t, http.MethodPost, "EIO=4&transport=polling&sid="+sid, "4"+strings.Repeat("x", 200), nil)
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
		ts.next(t, "close")
	})
	t.Run("websocket", func(t *testing.T) {
		ts := newTestServer(t, &engineio.Options{MaxPayload: 100})
		c := ts.dial(t, "EIO=4&transport=websocket", nil)
		parseOpen(t, c.readText(t))
		c.send(t, transport.TextFrame("4"+strings.Repeat("x", 200)))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.ReadFrame(ctx)
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, 1009, ce.Code)
		ts.next(t, "close")
	})
}

func TestOrigins(t *testing.T) {
	hdr := func(origin string) http.Header { return http.Header{"Origin": {origin}} }
	tests := []struct {
		name        string
		opts        engineio.Options
		origin      string
		status      int
		allowOrigin string
		credentials string
	}{
		{"no origin header", engineio.Options{}, "", 200, "", ""},
		{"cross origin refused by default", engineio.Options{}, "https://evil.example", 403, "", ""},
		{"exact origin", engineio.Options{AllowedOrigins: []string{"https://app.example"}}, "https://app.example", 200, "https://app.example", "true"},
		{"other origin with a list", engineio.Options{AllowedOrigins: []string{"https://app.example"}}, "https://evil.example", 403, "", ""},
		{"pattern", engineio.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://a.example.com", 200, "https://a.example.com", "true"},
		{"pattern mismatch", engineio.Options{AllowedOrigins: []string{"https://*.example.com"}}, "https://example.com.evil", 403, "", ""},
		{"any origin gets no credentials", engineio.Options{AllowedOrigins: []string{"*"}}, "https://x.example", 200, "*", ""},
		{"check func allows", engineio.Options{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://ok" }}, "https://ok", 200, "https://ok", "true"},
		{"check func refuses", engineio.Options{CheckOrigin: func(r *http.Request) bool { return false }}, "https://ok", 403, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &tt.opts)
			var h http.Header
			if tt.origin != "" {
				h = hdr(tt.origin)
			}
			res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", h)
			assert.Equal(t, tt.status, res.status, res.body)
			assert.Equal(t, tt.allowOrigin, res.header.Get("Access-Control-Allow-Origin"))
			assert.Equal(t, tt.credentials, res.header.Get("Access-Control-Allow-Credentials"))
			if tt.status == 403 {
				assert.Contains(t, res.body, "origin not allowed")
			}
		})
	}
	t.Run("same origin", func(t *testing.T) {
		ts := newTestServer(t, nil)
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", hdr(ts.http.URL))
		assert.Equal(t, 200, res.status)
	})
	t.Run("preflight", func(t *testing.T) {
		ts := newTestServer(t, &engineio.Options{AllowedOrigins: []string{"https://app.example"}})
		res := ts.do(t, http.MethodOptions, "EIO=4&transport=polling", "", http.Header{
			"Origin": {"https://app.example"}, "Access-Control-Request-Headers": {"content-type"},
		})
		assert.Equal(t, http.StatusNoContent, res.status)
		assert.Equal(t, "https://app.example", res.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "content-type", res.header.Get("Access-Control-Allow-Headers"))
	})
	t.Run("websocket refused", func(t *testing.T) {
		ts := newTestServer(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := websocket.Dial(ctx, ts.wsURL("EIO=4&transport=websocket"), &websocket.DialOptions{Header: hdr("https://evil.example")})
		assert.Error(t, err)
	})
	t.Run("websocket allowed", func(t *testing.T) {
		ts := newTestServer(t, &engineio.Options{AllowedOrigins: []string{"https://app.example"}})
		c := ts.dial(t, "EIO=4&transport=websocket", &websocket.DialOptions{Header: hdr("https://app.example")})
		parseOpen(t, c.readText(t))
	})
}

func TestCompression(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[enabled], func(t *testing.T) {
			ws := websocket.New(&websocket.Options{Compression: enabled, CompressionThreshold: 1})
			ts := newTestServer(t, &engineio.Options{Transports: []transport.Transport{ws}})
			c := ts.dial(t, "EIO=4&transport=websocket", &websocket.DialOptions{Compression: true})
			assert.Equal(t, enabled, c.Compression())
			parseOpen(t, c.readText(t))
			msg := "4" + strings.Repeat("compress me ", 100)
			c.send(t, transport.TextFrame(msg))
			assert.Equal(t, msg, c.readText(t))
		})
	}
}

func TestServerCloseSession(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	pending := ts.asyncGet(t, "EIO=4&transport=polling&sid="+sid)
	ts.waitHeld(t)
	require.NoError(t, ts.eio.Session(sid).Close())
	assert.Equal(t, "1", waitResponse(t, pending).body)
	ev := ts.next(t, "close")
	assert.ErrorIs(t, ev.err, engineio.ErrForcedClose)
}

func TestShutdown(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	ts.pollHandshake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ts.eio.Shutdown(ctx))
	assert.Equal(t, 0, ts.eio.Len())
	for i := 0; i < 2; i++ {
		ev := ts.next(t, "close")
		assert.ErrorIs(t, ev.err, engineio.ErrServerShutdown)
	}
	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
}

// TestShutdownClosePacketToEveryPoller: a polling client holding a GET and
// one between two GETs both get the close packet, and Shutdown returns only
// once the second has collected it (its CloseTimeout is long enough that
// nothing else could end the wait).
func TestShutdownClosePacketToEveryPoller(t *testing.T) {
	polls := &trackingPolling{Transport: polling.New(&polling.Options{CloseTimeout: time.Minute})}
	ts := newTestServer(t, &engineio.Options{Transports: []transport.Transport{polls}})
	ts.polls = polls
	between := ts.pollHandshake(t)
	holding := ts.pollHandshake(t)
	held := ts.asyncGet(t, "EIO=4&transport=polling&sid="+holding)
	ts.waitHeld(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.eio.Shutdown(ctx) }()
	assert.Equal(t, "1", waitResponse(t, held).body)
	for range 2 {
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrServerShutdown)
	}
	assert.Equal(t, 0, ts.eio.Len())
	assert.Nil(t, ts.eio.Session(between), "closed, only its next GET finds it")
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) before the last client was told", err)
	default:
	}

	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+between, "", nil)
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "1", res.body)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("Shutdown did not return")
	}
	res = ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+between, "", nil)
	assert.Equal(t, http.StatusBadRequest, res.status, "told once, then forgotten")
}

// TestPollerBetweenPolls: with the default polling transport, a session
// the server closes (Session.Close) while its client is between two GETs
// answers the next GET with the close packet, then forgets it; a session
// that timed out is forgotten at once (the reference server does both).
func TestPollerBetweenPolls(t *testing.T) {
	newServer := func(opts engineio.Options) *testServer {
		polls := &trackingPolling{Transport: polling.New(nil)}
		opts.Transports = []transport.Transport{polls}
		ts := newTestServer(t, &opts)
		ts.polls = polls
		return ts
	}
	t.Run("closed by the server", func(t *testing.T) {
		ts := newServer(engineio.Options{})
		sid := ts.pollHandshake(t)
		require.NoError(t, ts.eio.Session(sid).Close())
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrForcedClose)
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
		assert.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "1", res.body)
		res = ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Contains(t, res.body, `"code":1`)
	})
	t.Run("ping timeout", func(t *testing.T) {
		ts := newServer(engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
		sid := ts.pollHandshake(t)
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrPingTimeout)
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling&sid="+sid, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.status)
		assert.Contains(t, res.body, `"code":1`)
	})
}

// TestStartShutdown: StartShutdown closes the sessions and returns at once;
// Shutdown then waits for the same end.
func TestStartShutdown(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	sid := ts.pollHandshake(t)
	held := ts.asyncGet(t, "EIO=4&transport=polling&sid="+sid)
	ts.waitHeld(t)

	ts.eio.StartShutdown()
	assert.Equal(t, "1", waitResponse(t, held).body)
	assert.Equal(t, 1001, closeCode(t, c.ClientConn))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ts.eio.Shutdown(ctx))
	for range 2 {
		assert.ErrorIs(t, ts.next(t, "close").err, engineio.ErrServerShutdown)
	}
	assert.Equal(t, http.StatusServiceUnavailable, ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil).status)
}

// TestShutdownDuringOpen: a session closed while the application's Open
// runs still gets its HandleClose, after Open.
func TestShutdownDuringOpen(t *testing.T) {
	inOpen, release := make(chan struct{}), make(chan struct{})
	closed := make(chan error, 1)
	srv := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		close(inOpen)
		<-release
		return engineio.SessionFuncs{Close: func(err error) { closed <- err }}
	}), nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/?EIO=4&transport=websocket", nil)
	require.NoError(t, err)
	defer c.Close()
	f, err := c.ReadFrame(ctx)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(f.Data), "0{"), "open packet %q", f.Data)
	<-inOpen

	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	assert.Equal(t, 1001, closeCode(t, c), "the session is closed while Open still runs")
	close(release)
	select {
	case err := <-closed:
		assert.ErrorIs(t, err, engineio.ErrServerShutdown)
	case <-ctx.Done():
		t.Fatal("HandleClose never called")
	}
	require.NoError(t, <-done)
}

// TestOriginRefusalTold: a refused origin gets a 403 whose JSON body (the
// reference server's shape) names AllowedOrigins, and the server logs it at
// Warn with the origin, the Host and AllowedOrigins, once per origin (the
// rate limit's details are tested in origin_internal_test.go).
func TestOriginRefusalTold(t *testing.T) {
	logs := logtest.New()
	ts := newTestServer(t, &engineio.Options{AllowedOrigins: []string{"https://app.example"}, Logger: logs.Logger()})
	// Like Vite's dev proxy with changeOrigin: the page's origin, the Go
	// server's Host.
	dev := http.Header{"Origin": {"http://localhost:5173"}}
	for range 3 {
		res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", dev)
		require.Equal(t, http.StatusForbidden, res.status)
		assert.Equal(t, "application/json", res.header.Get("Content-Type"))
		var body struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		require.NoError(t, json.Unmarshal([]byte(res.body), &body), res.body)
		assert.Equal(t, 4, body.Code)
		assert.Contains(t, body.Message, "origin not allowed")
		assert.Contains(t, body.Message, "AllowedOrigins")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, ts.wsURL("EIO=4&transport=websocket"), &websocket.DialOptions{Header: dev})
	require.Error(t, err, "the upgrade is refused too")

	refused := logs.Matching(logtest.Message("engineio: cross-origin request refused"))
	require.Len(t, refused, 1, "once per origin: %v", logs.Records())
	rec := refused[0]
	assert.Equal(t, slog.LevelWarn, rec.Level)
	assert.Contains(t, rec.Message, "AllowedOrigins")
	assert.Equal(t, "http://localhost:5173", rec.Attrs["origin"])
	assert.Equal(t, strings.TrimPrefix(ts.http.URL, "http://"), rec.Attrs["host"])
	assert.Equal(t, "[https://app.example]", rec.Attrs["AllowedOrigins"])

	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", http.Header{"Origin": {"https://other.example"}})
	require.Equal(t, http.StatusForbidden, res.status)
	assert.Len(t, logs.Matching(logtest.Message("engineio: cross-origin request refused")), 2, "another origin is logged")
}

func TestServeConnMemory(t *testing.T) {
	rec := &recorder{events: make(chan event, 16), echo: true}
	srv := engineio.NewServer(rec, &engineio.Options{PingInterval: 20 * time.Millisecond, PingTimeout: time.Second})
	serverEnd, clientEnd := memory.Pipe(transport.Params{})
	frames := make(chan transport.Frame, 16)
	closed := make(chan error, 1)
	clientEnd.Start(clientHandler{frames: frames, closed: closed})
	sess := srv.ServeConn(serverEnd, nil)
	require.NotNil(t, sess)

	recv := func() transport.Frame {
		select {
		case f := <-frames:
			return f
		case <-time.After(5 * time.Second):
			t.Fatal("no frame")
			return transport.Frame{}
		}
	}
	op := parseOpen(t, string(recv().Data))
	assert.Equal(t, sess.ID(), op.SID)
	assert.Empty(t, op.Upgrades)
	assert.Equal(t, "2", string(recv().Data))
	require.NoError(t, clientEnd.Send(transport.TextFrame("3"), transport.TextFrame("4echo")))
	assert.Equal(t, "4echo", string(recv().Data))
	assert.Equal(t, "echo", string(rec.next(t, "message").msg.Data))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.True(t, errors.Is(rec.next(t, "close").err, engineio.ErrServerShutdown))
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("client end not closed")
	}
}

type clientHandler struct {
	frames chan transport.Frame
	closed chan error
}

func (h clientHandler) HandleFrame(f transport.Frame) error { h.frames <- f; return nil }
func (h clientHandler) HandleClose(err error)               { h.closed <- err }

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{engineio.ErrPingTimeout, "ping timeout"},
		{engineio.ErrTransportClose, "transport close"},
		{errors.Join(engineio.ErrTransportClose, engineio.ErrParseError), "parse error"},
		{engineio.ErrForcedClose, "forced close"},
		{engineio.ErrServerShutdown, "server shutting down"},
		{errors.New("other"), "transport error"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, engineio.Reason(tt.err))
	}
}

func TestUpgradeWithoutHeldPoll(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.pollHandshake(t)
	c := ts.dial(t, "EIO=4&transport=websocket&sid="+sid, nil)
	c.send(t, transport.TextFrame("2probe"))
	assert.Equal(t, "3probe", string(c.read(t).Data))
	c.send(t, transport.TextFrame("5"))
	c.send(t, transport.TextFrame("4hello"))
	// The echo is the first frame after the upgrade: the noop meant for a
	// poll is not replayed on the WebSocket.
	assert.Equal(t, "4hello", string(c.read(t).Data))
}

func TestMaxConnections(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{MaxConnections: 1})
	sid := ts.pollHandshake(t)

	res := ts.do(t, http.MethodGet, "EIO=4&transport=polling", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Contains(t, res.body, "too many connections")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, ts.wsURL("EIO=4&transport=websocket"), nil)
	assert.Error(t, err, "a full server refuses WebSocket handshakes too")

	// The server carries on: once the first session ends, a new one fits.
	require.NoError(t, ts.eio.Session(sid).Close())
	ts.next(t, "close")
	ts.pollHandshake(t)
	assert.Equal(t, int64(2), ts.eio.Stats().Refused)
}

func TestStats(t *testing.T) {
	ts := newTestServer(t, &engineio.Options{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
	c := ts.dial(t, "EIO=4&transport=websocket", nil)
	parseOpen(t, c.readText(t))
	c.send(t, transport.TextFrame("4hello"))
	assert.Equal(t, "4hello", c.readText(t))
	ts.pollHandshake(t) // never answers pings: times out
	ev := ts.next(t, "close")
	require.ErrorIs(t, ev.err, engineio.ErrPingTimeout)

	st := ts.eio.Stats()
	assert.Equal(t, int64(2), st.SessionsOpened)
	assert.GreaterOrEqual(t, st.PacketsIn, int64(1))
	assert.GreaterOrEqual(t, st.BytesIn, int64(len("4hello")))
	assert.GreaterOrEqual(t, st.PacketsOut, int64(3)) // two open packets and the echo
	assert.GreaterOrEqual(t, st.Closed["ping timeout"], int64(1))
}
