package namespace_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

// recordConn is a Conn that records the text of every frame it is sent.
type recordConn struct {
	mu     sync.Mutex
	texts  []string
	header http.Header // returned by Header when not nil
	calls  int         // Header calls
}

func (c *recordConn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range frames {
		c.texts = append(c.texts, string(f.Data))
	}
	return nil
}

func (c *recordConn) Close() error { return nil }

func (c *recordConn) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.texts...)
}

// headerConn is a recordConn that knows the handshake's header.
type headerConn struct{ recordConn }

func (c *headerConn) Header() http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.header.Clone()
}

// connectOne connects a client of conn to a fresh namespace and returns its
// socket, after setup ran in OnConnection.
func connectOne(t *testing.T, conn wiring.Conn, hs namespace.Handshake, auth string, setup func(s *namespace.Socket)) (wiring.Client, *namespace.Socket) {
	t.Helper()
	ns := newNS("/", &nsConfig{Logger: slog.New(slog.DiscardHandler)})
	var sock *namespace.Socket
	ns.OnConnection(func(s *namespace.Socket) {
		sock = s
		if setup != nil {
			setup(s)
		}
	})
	resolve := func(string, json.RawMessage) *namespace.Namespace { return ns }
	c := nsImpl.NewClient(conn, hs, resolve, &wiring.ClientOptions{ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, c.Receive(false, []byte("0"+auth)))
	require.NotNil(t, sock)
	return c, sock
}

func TestSocketHandlers(t *testing.T) {
	conn := &recordConn{}
	var got []string
	var e3 namespace.Listener
	c, s := connectOne(t, conn, namespace.Handshake{}, "", func(s *namespace.Socket) {
		for i := range 12 { // past the size where handlers are indexed
			name := fmt.Sprintf("e%d", i)
			s.On(name, func(e *namespace.Event) { got = append(got, name+":"+e.Name) })
		}
		e3 = s.On("e3", func(e *namespace.Event) { got = append(got, "second e3") }) // added, in order
		namespace.HandleAck(s, "typed", func(ctx context.Context, n int) (int, error) {
			require.NoError(t, ctx.Err())
			return n + 1, nil
		})
		s.OnAny(func(e *namespace.Event) { got = append(got, "any:"+e.Name) })
		s.Off("e5")
	})
	defer c.Closed(namespace.ReasonTransportClose)

	for _, in := range []string{`2["e0"]`, `2["e3"]`, `2["e5"]`, `2["e11"]`, `2["\u00651"]`, `2[7]`, `21["typed",41]`} {
		require.NoError(t, c.Receive(false, []byte(in)), in)
	}
	assert.Equal(t, []string{
		"any:e0", "e0:e0",
		"any:e3", "e3:e3", "second e3",
		"any:e5",
		"any:e11", "e11:e11",
		"any:e1", "e1:e1",
		"any:7",
		"any:typed",
	}, got)
	assert.Equal(t, `431[42]`, conn.sent()[len(conn.sent())-1])
	assert.Equal(t, 2, s.Listeners("e3"))

	// One listener removed by its Listener, the other stays.
	assert.True(t, e3.Off())
	assert.False(t, e3.Off(), "already removed")
	got = nil
	require.NoError(t, c.Receive(false, []byte(`2["e3"]`)))
	assert.Equal(t, []string{"any:e3", "e3:e3"}, got)

	// Few handlers again: scanned, not indexed.
	for i := range 12 {
		s.Off(fmt.Sprintf("e%d", i))
	}
	s.On("e2", func(e *namespace.Event) { got = append(got, "back") })
	got = nil
	require.NoError(t, c.Receive(false, []byte(`2["e2"]`)))
	require.NoError(t, c.Receive(false, []byte(`2["e4"]`)))
	assert.Equal(t, []string{"any:e2", "back", "any:e4"}, got)
}

func TestSocketAckOnce(t *testing.T) {
	conn := &recordConn{}
	var ack namespace.AckFunc
	c, _ := connectOne(t, conn, namespace.Handshake{}, "", func(s *namespace.Socket) {
		s.On("later", func(e *namespace.Event) { ack = e.Ack })
	})
	defer c.Closed(namespace.ReasonTransportClose)
	require.NoError(t, c.Receive(false, []byte(`25["later",{"k":[1,2]}]`)))
	require.NotNil(t, ack)
	require.NoError(t, ack("x", json.RawMessage(`{"a":1}`)))
	assert.ErrorIs(t, ack(), namespace.ErrAckSent)

	// An ack that cannot be encoded sends nothing, and counts as sent.
	require.NoError(t, c.Receive(false, []byte(`26["later"]`)))
	require.ErrorIs(t, ack(json.RawMessage(`{`)), socketio.ErrUnsupportedValue)
	assert.ErrorIs(t, ack(1), namespace.ErrAckSent)
	sent := conn.sent()
	assert.Equal(t, `435["x",{"a":1}]`, sent[len(sent)-1])
}

func TestSocketDoneAndContext(t *testing.T) {
	t.Run("asked before the disconnect", func(t *testing.T) {
		c, s := connectOne(t, &recordConn{}, namespace.Handshake{}, "", nil)
		done, ctx := s.Done(), s.Context()
		assert.Equal(t, done, s.Done(), "the same channel each time")
		assert.Equal(t, ctx, s.Context())
		select {
		case <-done:
			t.Fatal("done while connected")
		default:
		}
		require.NoError(t, ctx.Err())
		c.Closed(namespace.ReasonTransportClose)
		<-done
		<-ctx.Done()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
	})
	t.Run("asked after the disconnect", func(t *testing.T) {
		c, s := connectOne(t, &recordConn{}, namespace.Handshake{}, "", nil)
		c.Closed(namespace.ReasonTransportClose)
		<-s.Done()
		<-s.Context().Done()
		assert.False(t, s.Connected())
	})
	t.Run("asked by a middleware", func(t *testing.T) {
		ns := newNS("/", &nsConfig{Logger: slog.New(slog.DiscardHandler)})
		var done <-chan struct{}
		var ctx context.Context
		ns.Use(func(s *namespace.Socket) error {
			done, ctx = s.Done(), s.Context()
			return nil
		})
		resolve := func(string, json.RawMessage) *namespace.Namespace { return ns }
		c := nsImpl.NewClient(&recordConn{}, namespace.Handshake{}, resolve, nil)
		require.NoError(t, c.Receive(false, []byte("0")))
		require.NoError(t, ctx.Err(), "not cancelled before the socket connected")
		c.Closed(namespace.ReasonTransportClose)
		<-done
		<-ctx.Done()
	})
}

func TestSocketHandshake(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	base := namespace.Handshake{Address: "10.0.0.1", Time: at, Secure: true, URL: "/socket.io/?EIO=4&transport=websocket&x=1", XDomain: true}
	header := http.Header{"Origin": {"https://a.example"}, "X-Token": {"t"}}
	wantQuery := url.Values{"EIO": {"4"}, "transport": {"websocket"}, "x": {"1"}}

	t.Run("header given", func(t *testing.T) {
		hs := base
		hs.Header = header
		c, s := connectOne(t, &recordConn{}, hs, `{"token":"abc"}`, nil)
		defer c.Closed(namespace.ReasonTransportClose)
		got := s.Handshake()
		want := hs
		want.Auth = json.RawMessage(`{"token":"abc"}`)
		want.Query = wantQuery
		assert.Equal(t, want, got)
	})
	t.Run("header from the conn", func(t *testing.T) {
		conn := &headerConn{}
		conn.header = header
		c, s := connectOne(t, conn, base, "", nil)
		defer c.Closed(namespace.ReasonTransportClose)
		assert.Zero(t, conn.calls, "not asked at connect")
		got := s.Handshake()
		want := base
		want.Auth = json.RawMessage(`{}`)
		want.Header = header
		want.Query = wantQuery
		assert.Equal(t, want, got)
		assert.Equal(t, 1, conn.calls)

		// FetchSockets describes the handshake with the header too.
		remote, err := s.Namespace().FetchSockets(context.Background())
		require.NoError(t, err)
		require.Len(t, remote, 1)
		var described namespace.Handshake
		require.NoError(t, json.Unmarshal(remote[0].Handshake, &described))
		assert.Equal(t, header, described.Header)
		assert.Equal(t, 2, conn.calls)
	})
	t.Run("no header anywhere", func(t *testing.T) {
		c, s := connectOne(t, &recordConn{}, base, "", nil)
		defer c.Closed(namespace.ReasonTransportClose)
		assert.Nil(t, s.Handshake().Header)
	})
}

func TestClientOptionsShared(t *testing.T) {
	// Complete options are kept as they are; incomplete ones get defaults
	// without the caller's value changing.
	opts := &wiring.ClientOptions{EventRate: 2}
	ns := newNS("/", &nsConfig{Logger: slog.New(slog.DiscardHandler)})
	resolve := func(string, json.RawMessage) *namespace.Namespace { return ns }
	c := nsImpl.NewClient(&recordConn{}, namespace.Handshake{}, resolve, opts)
	c.Closed(namespace.ReasonTransportClose)
	assert.Equal(t, wiring.ClientOptions{EventRate: 2}, *opts)
}
