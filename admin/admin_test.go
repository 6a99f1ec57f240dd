package admin_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/go-realtime/realtime/admin"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/internal/leaktest"
	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/namespace"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leaktest.Options()...)
}

// wait bounds every expectation; generous for a loaded machine.
const wait = 20 * time.Second

func testHash(t testing.TB, password string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

// setup returns a hub instrumented with opts (Auth NoAuth when unset)
// whose main namespace joins every socket to "lobby" and echoes "ping" as
// "pong".
func setup(t *testing.T, opts admin.Options) (*hub.Server, *admin.Instrumentation) {
	t.Helper()
	h := hub.New(nil)
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("lobby")
		s.On("ping", func(e *namespace.Event) { _ = s.Emit("pong", e.Args.Values()...) })
	})
	if opts.Auth == nil {
		opts.Auth = admin.NoAuth{}
	}
	if opts.Logger == nil {
		opts.Logger = logtest.New().Logger()
	}
	ins, err := admin.Instrument(h, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, ins.Close())
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	return h, ins
}

func dial(t *testing.T, h hub.Hub, nsp string, auth any) (*hubtest.Socket, error) {
	t.Helper()
	_, s, err := dialConn(t, h, nsp, auth)
	return s, err
}

// dialConn is dial returning the connection too, for Sync.
func dialConn(t *testing.T, h hub.Hub, nsp string, auth any) (*hubtest.Conn, *hubtest.Socket, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Connect(ctx, nsp, auth)
	return c, s, err
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

type config struct {
	SupportedFeatures []string `json:"supportedFeatures"`
}

type sock struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	Nsp       string          `json:"nsp"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Issued  int64             `json:"issued"`
		Time    string            `json:"time"`
	} `json:"handshake"`
}

func decode[T any](t *testing.T, e *hubtest.Event, i int) T {
	t.Helper()
	var v T
	require.NoError(t, e.Args.Decode(i, &v))
	return v
}

func find(socks []sock, id string) *sock {
	for i := range socks {
		if socks[i].ID == id {
			return &socks[i]
		}
	}
	return nil
}

func TestInstrumentOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts admin.Options
		want error
	}{
		{"no auth given", admin.Options{}, admin.ErrNoAuth},
		{"password not hashed", admin.Options{Auth: admin.BasicAuth{Username: "admin", PasswordHash: "secret"}}, admin.ErrBadHash},
		{"unknown mode", admin.Options{Auth: admin.NoAuth{}, Mode: "debug"}, admin.ErrBadMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := admin.Instrument(hub.New(nil), tc.opts)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestBasicAuth(t *testing.T) {
	h, _ := setup(t, admin.Options{Auth: admin.BasicAuth{Username: "admin", PasswordHash: testHash(t, "s3cret")}})
	for _, tc := range []struct {
		name string
		auth any
	}{
		{"no credentials", nil},
		{"wrong password", map[string]string{"username": "admin", "password": "nope"}},
		{"wrong username", map[string]string{"username": "root", "password": "s3cret"}},
		{"unknown session", map[string]string{"sessionId": "0123456789abcdef"}},
		{"credentials not strings", map[string]any{"username": 1, "password": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dial(t, h, "/admin", tc.auth)
			var ce *namespace.ConnectError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "invalid credentials", ce.Message)
		})
	}

	t.Run("password then session id", func(t *testing.T) {
		ui, err := dial(t, h, "/admin", map[string]string{"username": "admin", "password": "s3cret"})
		require.NoError(t, err)
		ev, err := ui.Expect(ctxT(t), "session")
		require.NoError(t, err)
		session := decode[string](t, ev, 0)
		require.NotEmpty(t, session)
		_, err = ui.Expect(ctxT(t), "config")
		require.NoError(t, err)

		again, err := dial(t, h, "/admin", map[string]string{"sessionId": session})
		require.NoError(t, err)
		_, err = again.Expect(ctxT(t), "config")
		require.NoError(t, err)
		require.NoError(t, again.ExpectNone("session", 50*time.Millisecond))
	})
}

func TestConfig(t *testing.T) {
	all := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	for _, tc := range []struct {
		name string
		opts admin.Options
		want []string
	}{
		{"development", admin.Options{}, all},
		{"read-only", admin.Options{ReadOnly: true}, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}},
		{"production", admin.Options{Mode: admin.Production}, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := setup(t, tc.opts)
			ui, err := dial(t, h, "/admin", nil)
			require.NoError(t, err)
			ev, err := ui.Expect(ctxT(t), "config")
			require.NoError(t, err)
			assert.Equal(t, tc.want, decode[config](t, ev, 0).SupportedFeatures)
			if tc.opts.Mode == admin.Production {
				require.NoError(t, ui.ExpectNone("all_sockets", 100*time.Millisecond))
			} else {
				_, err := ui.Expect(ctxT(t), "all_sockets")
				require.NoError(t, err)
			}
		})
	}
}

// TestFeed follows a user socket through the UI: listed with its rooms,
// then its events, room changes and disconnection.
func TestFeed(t *testing.T) {
	h, _ := setup(t, admin.Options{})
	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)

	ui, err := dial(t, h, "/admin", nil)
	require.NoError(t, err)
	ev, err := ui.Expect(ctxT(t), "all_sockets")
	require.NoError(t, err)
	listed := decode[[]sock](t, ev, 0)
	s := find(listed, user.ID())
	require.NotNil(t, s, "the user's socket is listed: %+v", listed)
	assert.Equal(t, "/", s.Nsp)
	assert.ElementsMatch(t, []string{user.ID(), "lobby"}, s.Rooms)
	assert.Equal(t, "memory", s.Transport)
	assert.Len(t, s.ClientID, 12)
	assert.Equal(t, "127.0.0.1", s.Handshake.Address)
	assert.NotZero(t, s.Handshake.Issued)
	assert.JSONEq(t, `{}`, string(s.Data))
	require.NotNil(t, find(listed, ui.ID()), "the UI's own socket is listed, as socket.io does")

	// Events both ways.
	require.NoError(t, user.Emit("ping", map[string]int{"n": 1}))
	ev, err = ui.ExpectMatch(ctxT(t), "event_received", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"`+user.ID()+`"` })
	require.NoError(t, err)
	assert.Equal(t, "/", decode[string](t, ev, 0))
	assert.JSONEq(t, `["ping",{"n":1}]`, string(ev.Args.Raw(2)))
	_, err = time.Parse(time.RFC3339, decode[string](t, ev, 3))
	require.NoError(t, err, "the timestamp is a JSON Date")
	ev, err = ui.Expect(ctxT(t), "event_sent")
	require.NoError(t, err)
	assert.JSONEq(t, `["pong",{"n":1}]`, string(ev.Args.Raw(2)))

	// A new socket: connected with its rooms, then room changes.
	other, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	ev, err = ui.ExpectMatch(ctxT(t), "socket_connected", func(e *hubtest.Event) bool {
		var s sock
		return e.Args.Decode(0, &s) == nil && s.ID == other.ID()
	})
	require.NoError(t, err)
	assert.Contains(t, decode[sock](t, ev, 0).Rooms, "lobby")
	h.Of("/").Socket(other.ID()).Join("room one")
	ev, err = ui.ExpectMatch(ctxT(t), "room_joined", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"room one"` })
	require.NoError(t, err)
	assert.Equal(t, other.ID(), decode[string](t, ev, 2))
	h.Of("/").Socket(other.ID()).Leave("room one")
	ev, err = ui.ExpectMatch(ctxT(t), "room_left", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"room one"` })
	require.NoError(t, err)
	assert.Equal(t, other.ID(), decode[string](t, ev, 2))

	require.NoError(t, other.Disconnect())
	ev, err = ui.ExpectMatch(ctxT(t), "socket_disconnected", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"`+other.ID()+`"` })
	require.NoError(t, err)
	assert.Equal(t, "client namespace disconnect", decode[string](t, ev, 2))
}

// TestActions drives the UI's actions and checks what they did.
func TestActions(t *testing.T) {
	logs := logtest.New()
	h, _ := setup(t, admin.Options{Logger: logs.Logger()})
	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	uiConn, ui, err := dialConn(t, h, "/admin", nil)
	require.NoError(t, err)
	_, err = ui.Expect(ctxT(t), "config")
	require.NoError(t, err)
	srv := h.Of("/").Socket(user.ID())
	require.NotNil(t, srv)

	require.NoError(t, ui.Emit("join", "/", "room two", user.ID()))
	_, err = ui.ExpectMatch(ctxT(t), "room_joined", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"room two"` })
	require.NoError(t, err)
	assert.Contains(t, srv.Rooms(), "room two")

	require.NoError(t, ui.Emit("leave", "/", "room two")) // every socket of "/"
	_, err = ui.ExpectMatch(ctxT(t), "room_left", func(e *hubtest.Event) bool { return string(e.Args.Raw(1)) == `"room two"` })
	require.NoError(t, err)
	assert.NotContains(t, srv.Rooms(), "room two")

	require.NoError(t, ui.Emit("emit", "/", "lobby", "news", "hello", 42))
	ev, err := user.Expect(ctxT(t), "news")
	require.NoError(t, err)
	assert.Equal(t, 2, ev.Args.Len())
	assert.JSONEq(t, `"hello"`, string(ev.Args.Raw(0)))
	assert.JSONEq(t, `42`, string(ev.Args.Raw(1)))

	// A namespace this node does not have is not created.
	require.NoError(t, ui.Emit("join", "/nowhere", "r"))
	require.NoError(t, uiConn.Sync(ctxT(t)))
	require.NoError(t, ui.Emit("_disconnect", "/", false, user.ID()))
	select {
	case <-user.Disconnected():
	case <-time.After(wait):
		t.Fatal("the user's socket was not disconnected")
	}
	assert.Equal(t, "io server disconnect", user.Reason())
	assert.False(t, slices.ContainsFunc(h.Namespaces(), func(ns *namespace.Namespace) bool { return ns.Name() == "/nowhere" }))
	assert.NotEmpty(t, logs.Matching(logtest.Message("admin: the UI named a namespace this node does not have")))
}

func TestReadOnlyIgnoresActions(t *testing.T) {
	h, _ := setup(t, admin.Options{ReadOnly: true})
	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	uiConn, ui, err := dialConn(t, h, "/admin", nil)
	require.NoError(t, err)
	require.NoError(t, ui.Emit("_disconnect", "/", true, user.ID()))
	require.NoError(t, ui.Emit("emit", "/", "", "news", "x"))
	require.NoError(t, uiConn.Sync(ctxT(t))) // the UI's events are handled
	require.NoError(t, user.Emit("ping", 1))
	ev, err := user.Next(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "pong", ev.Name, "nothing reached the user before")
	assert.True(t, h.Of("/").Socket(user.ID()).Connected())
}

// TestServerStats checks the stats message and its aggregated figures.
func TestServerStats(t *testing.T) {
	h, _ := setup(t, admin.Options{ServerID: "node-a", StatsInterval: 50 * time.Millisecond, Mode: admin.Production})
	ui, err := dial(t, h, "/admin", nil)
	require.NoError(t, err)
	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	require.NoError(t, user.Emit("ping", 1))
	type stats struct {
		ServerID            string  `json:"serverId"`
		Hostname            string  `json:"hostname"`
		PID                 int     `json:"pid"`
		Uptime              float64 `json:"uptime"`
		ClientsCount        int     `json:"clientsCount"`
		PollingClientsCount int     `json:"pollingClientsCount"`
		AggregatedEvents    []struct {
			Timestamp int64  `json:"timestamp"`
			Type      string `json:"type"`
			Count     int    `json:"count"`
		} `json:"aggregatedEvents"`
		Namespaces []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
	}
	types := map[string]bool{}
	var last stats
	for !types["rawConnection"] || !types["packetsIn"] || !types["bytesOut"] {
		ev, err := ui.Expect(ctxT(t), "server_stats")
		require.NoError(t, err)
		last = decode[stats](t, ev, 0)
		for _, a := range last.AggregatedEvents {
			types[a.Type] = true
			assert.Positive(t, a.Count)
			assert.Zero(t, a.Timestamp%1000, "whole seconds")
		}
	}
	assert.Equal(t, "node-a", last.ServerID)
	assert.NotEmpty(t, last.Hostname)
	assert.Positive(t, last.PID)
	assert.Positive(t, last.Uptime)
	assert.Equal(t, 2, last.ClientsCount)
	assert.Contains(t, last.Namespaces, struct {
		Name         string `json:"name"`
		SocketsCount int    `json:"socketsCount"`
	}{"/", 1})
}

// TestFeedBound runs a feed too small for any record: every record is
// dropped and counted, the hub works on, and the UI gets the list of
// sockets again after a connection it missed.
func TestFeedBound(t *testing.T) {
	h, ins := setup(t, admin.Options{FeedBytes: 100})
	ui, err := dial(t, h, "/admin", nil)
	require.NoError(t, err)
	_, err = ui.Expect(ctxT(t), "all_sockets")
	require.NoError(t, err)

	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	ev, err := ui.ExpectMatch(ctxT(t), "all_sockets", func(e *hubtest.Event) bool {
		var socks []sock
		return e.Args.Decode(0, &socks) == nil && find(socks, user.ID()) != nil
	})
	require.NoError(t, err)
	assert.Contains(t, find(decode[[]sock](t, ev, 0), user.ID()).Rooms, "lobby")

	dropped := ins.Dropped()
	require.NoError(t, user.Emit("ping", strings.Repeat("x", 1000)))
	_, err = user.Expect(ctxT(t), "pong")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ins.Dropped()-dropped, int64(2), "the event received and the event sent")
	require.NoError(t, ui.ExpectNone("event_received", 50*time.Millisecond))
	require.NoError(t, ui.ExpectNone("socket_connected", 0))
}

func TestCloseRefusesUIs(t *testing.T) {
	h, ins := setup(t, admin.Options{})
	ui, err := dial(t, h, "/admin", nil)
	require.NoError(t, err)
	require.NoError(t, ins.Close())
	select {
	case <-ui.Disconnected():
	case <-time.After(wait):
		t.Fatal("the UI was not disconnected")
	}
	_, err = dial(t, h, "/admin", nil)
	var ce *namespace.ConnectError
	require.ErrorAs(t, err, &ce)
}

// TestNoHooksOnSockets checks that the feed puts nothing on the sockets,
// watched or not, and reports events only while a UI watches.
func TestNoHooksOnSockets(t *testing.T) {
	h, ins := setup(t, admin.Options{StatsInterval: 20 * time.Millisecond, FeedRate: 1})
	socks := make(chan *namespace.Socket, 1)
	h.OnConnection(func(s *namespace.Socket) { socks <- s })
	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	srv := <-socks
	uiGone := make(chan struct{})
	h.Of("/admin").OnConnection(func(s *namespace.Socket) {
		s.OnDisconnect(func(string) { close(uiGone) }) // after the instrumentation's own
	})

	ui, err := dial(t, h, "/admin", nil)
	require.NoError(t, err)
	_, err = ui.Expect(ctxT(t), "all_sockets")
	require.NoError(t, err)
	assert.Empty(t, srv.ListenersAnyOutgoing(), "a UI watches: still no hooks on the socket")
	assert.Empty(t, srv.ListenersAny())
	require.NoError(t, user.Emit("ping", 1))
	_, err = ui.Expect(ctxT(t), "event_received")
	require.NoError(t, err)

	require.NoError(t, ui.Disconnect())
	select {
	case <-uiGone:
	case <-ctxT(t).Done():
		t.Fatal("the UI's socket did not disconnect")
	}
	// No UI: nothing is reported, nor counted against FeedRate.
	dropped := ins.Dropped()
	for i := range 5 {
		require.NoError(t, user.Emit("ping", i))
		_, err := user.Expect(ctxT(t), "pong")
		require.NoError(t, err)
	}
	require.NoError(t, h.Of("/").Emit("news", 1))
	_, err = user.Expect(ctxT(t), "news")
	require.NoError(t, err)
	assert.Equal(t, dropped, ins.Dropped(), "no UI: the events are not looked at")
}

// TestFeedRate bounds the events reported per second.
func TestFeedRate(t *testing.T) {
	h, ins := setup(t, admin.Options{FeedRate: 3})
	user, err := dial(t, h, "/", nil)
	require.NoError(t, err)
	ui, err := dial(t, h, "/admin", nil)
	require.NoError(t, err)
	_, err = ui.Expect(ctxT(t), "all_sockets")
	require.NoError(t, err)
	dropped := ins.Dropped()
	start := time.Now().Unix()
	for i := range 10 {
		require.NoError(t, user.Emit("ping", i)) // 10 received, 10 pongs sent
	}
	for range 10 {
		_, err := user.Expect(ctxT(t), "pong")
		require.NoError(t, err)
	}
	// At most 3 per second were reported.
	seconds := time.Now().Unix() - start + 2 // the rate's windows this span overlaps, at most
	assert.GreaterOrEqual(t, ins.Dropped()-dropped, 20-3*seconds)
}
