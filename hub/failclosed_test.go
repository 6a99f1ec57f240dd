package hub_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/internal/logtest"
	"github.com/go-realtime/realtime/namespace"
)

// logged returns the attributes (and "level") of the records whose
// message contains msg.
func logged(logs *logtest.Handler, msg string) []map[string]string {
	var out []map[string]string
	for _, r := range logs.Matching(func(r logtest.Record) bool { return strings.Contains(r.Message, msg) }) {
		attrs := map[string]string{"level": r.Level.String()}
		maps.Copy(attrs, r.Attrs)
		out = append(out, attrs)
	}
	return out
}

// A middleware that panics refuses the connection: the client gets a
// generic CONNECT_ERROR, no connection handler runs, the socket is never
// registered, and the log names the namespace, the socket and the stack.
func TestMiddlewarePanicRefuses(t *testing.T) {
	logs := logtest.New()
	h := newHub(t, &hub.Options{Logger: logs.Logger()})
	private := h.Of("/private")
	var mu sync.Mutex
	var refusedDone []<-chan struct{}
	private.Use(func(s *namespace.Socket) error {
		mu.Lock()
		refusedDone = append(refusedDone, s.Done())
		mu.Unlock()
		var auth map[string]any
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		tok := auth["token"].(string) // panics without a string token: the bug this guards against
		if tok != "secret" {
			return &namespace.ConnectError{Message: "bad token"}
		}
		return nil
	})
	connected := make(chan string, 10)
	private.OnConnection(func(s *namespace.Socket) { connected <- s.ID() })

	tests := []struct {
		name string
		auth any
	}{
		{"no auth", nil},
		{"number token", map[string]any{"token": 42}},
		{"null token", map[string]any{"token": nil}},
		{"empty object", map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			c, err := hubtest.Dial(ctx, h, nil)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Connect(ctx, "/private", tt.auth)
			var ce *namespace.ConnectError
			require.ErrorAs(t, err, &ce, "a panicking middleware must refuse, not admit")
			assert.Equal(t, "Internal server error", ce.Message, "no panic text reaches the client")
			assert.Zero(t, private.Len(), "the refused socket is never registered")
		})
	}

	// A client with a good token still gets in: only its handler ran.
	_, s := connect(t, h, "/private", map[string]any{"token": "secret"})
	assert.Equal(t, s.ID(), <-connected)
	assert.Empty(t, connected, "no connection handler ran for a refused client")

	panics := logged(logs, "middleware panicked")
	require.Len(t, panics, len(tests))
	for _, attrs := range panics {
		assert.Equal(t, "ERROR", attrs["level"])
		assert.Equal(t, "/private", attrs["namespace"])
		assert.NotEmpty(t, attrs["socket"])
		assert.Contains(t, attrs["panic"], "interface conversion")
		assert.Contains(t, attrs["stack"], "failclosed_test.go")
	}
	assert.Empty(t, logged(logs, "disconnect handler panicked"))

	// Whatever a refused socket's middleware waits on ends.
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, refusedDone, len(tests)+1)
	for _, done := range refusedDone[:len(tests)] {
		select {
		case <-done:
		default:
			t.Fatal("Done of a refused socket is not closed")
		}
	}
}

// A catch-all handler that panics disconnects the socket and stops the
// event: the event's own handler does not run.
func TestAnyHandlerPanicStopsEvent(t *testing.T) {
	h := newHub(t, &hub.Options{Logger: slog.New(slog.DiscardHandler)})
	handled := make(chan string, 1)
	h.OnConnection(func(s *namespace.Socket) {
		s.OnAny(func(e *namespace.Event) {
			if e.Name == "forbidden" {
				panic("refused by the catch-all")
			}
		})
		s.On("forbidden", func(e *namespace.Event) { handled <- e.Name })
	})
	_, s := connect(t, h, "/", nil)
	require.NoError(t, s.Emit("forbidden"))
	<-s.Disconnected()
	assert.Equal(t, "io server disconnect", s.Reason())
	assert.Empty(t, handled, "the event handler ran after the catch-all panicked")
}

// A dynamic namespace matcher that panics refuses the name.
func TestDynamicMatcherPanicRefuses(t *testing.T) {
	logs := logtest.New()
	h := newHub(t, &hub.Options{Logger: logs.Logger()})
	h.OfFunc(func(name string, _ json.RawMessage) bool {
		if name == "/boom" {
			panic("matcher bug")
		}
		return false
	})
	h.OfRegexp(regexp.MustCompile(`^/ok$`))
	ctx := testCtx(t)
	c, err := hubtest.Dial(ctx, h, nil)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Connect(ctx, "/boom", nil)
	var ce *namespace.ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "Invalid namespace", ce.Message)
	_, err = c.Connect(ctx, "/ok", nil)
	require.NoError(t, err, "the connection and the other matchers still work")
	assert.Len(t, logged(logs, "matcher panicked"), 1)
}

// Every place that runs application code recovers a panic without turning
// it into a success: the socket is disconnected (connection and event
// handlers) and what came after the panic does not run; a panicking
// disconnect handler does not stop the others.
func TestHandlerPanicsFailClosed(t *testing.T) {
	tests := []struct {
		name    string
		install func(h *hub.Server, ran chan<- string)
		trigger func(t *testing.T, s *hubtest.Socket)
		reason  string
		ran     []string
	}{
		{
			name: "connection handler",
			install: func(h *hub.Server, ran chan<- string) {
				h.OnConnection(func(*namespace.Socket) { panic("connection bug") })
				h.OnConnection(func(*namespace.Socket) { ran <- "second connection handler" })
			},
			reason: "io server disconnect",
		},
		{
			name: "event handler with an ack",
			install: func(h *hub.Server, ran chan<- string) {
				h.OnConnection(func(s *namespace.Socket) {
					s.On("pay", func(e *namespace.Event) {
						panic("handler bug before the ack")
					})
				})
			},
			trigger: func(t *testing.T, s *hubtest.Socket) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() { <-s.Disconnected(); cancel() }()
				_, err := s.EmitWithAck(ctx, "pay")
				assert.Error(t, err, "no ack for an event whose handler panicked")
			},
			reason: "io server disconnect",
		},
		{
			name: "disconnect handler",
			install: func(h *hub.Server, ran chan<- string) {
				h.OnConnection(func(s *namespace.Socket) {
					s.OnDisconnect(func(string) { panic("disconnect bug") })
					s.OnDisconnect(func(reason string) { ran <- "second disconnect handler: " + reason })
					s.On("bye", func(*namespace.Event) { s.Disconnect(false) })
				})
			},
			trigger: func(t *testing.T, s *hubtest.Socket) { require.NoError(t, s.Emit("bye")) },
			reason:  "io server disconnect",
			ran:     []string{"second disconnect handler: server namespace disconnect"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, &hub.Options{Logger: slog.New(slog.DiscardHandler)})
			ran := make(chan string, 10)
			tt.install(h, ran)
			h.Of("/barrier")
			c, s := connect(t, h, "/", nil)
			if tt.trigger != nil {
				tt.trigger(t, s)
			}
			<-s.Disconnected()
			assert.Equal(t, tt.reason, s.Reason())
			// A client's packets are handled one after the other: once a
			// later CONNECT is answered, whatever the panic interrupted has
			// finished or will never run.
			_, err := c.Connect(testCtx(t), "/barrier", nil)
			require.NoError(t, err)
			var got []string
			for len(ran) > 0 {
				got = append(got, <-ran)
			}
			assert.Equal(t, tt.ran, got)
		})
	}
}
