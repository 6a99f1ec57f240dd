package hub_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

func TestEventRateLimit(t *testing.T) {
	h := newHub(t, &hub.Options{EventRate: 5, EventBurst: 5})
	reasons := make(chan string, 4)
	h.OnConnection(func(s *namespace.Socket) {
		s.On("ping", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack("pong")
			}
		})
		s.OnDisconnect(func(reason string) { reasons <- reason })
	})
	ctx := testCtx(t)
	_, flooder := connect(t, h, "/", nil)
	_, calm := connect(t, h, "/", nil)
	for i := 0; i < 50; i++ {
		if flooder.Emit("ping") != nil {
			break
		}
	}
	<-flooder.Disconnected()
	assert.Equal(t, "io server disconnect", flooder.Reason())
	assert.Equal(t, namespace.ReasonRateLimit, <-reasons)
	assert.Equal(t, int64(1), h.Stats().RateLimited)
	// The server carries on for everyone else.
	reply, err := calm.EmitWithAck(ctx, "ping")
	require.NoError(t, err)
	assert.Equal(t, `"pong"`, string(reply.Raw(0)))
}

func TestPacketLimits(t *testing.T) {
	tests := []struct {
		name   string
		frames []transport.Frame
	}{
		{"too many attachments", append([]transport.Frame{transport.TextFrame(`4511-["x"]`)},
			transport.BinaryFrame([]byte{1}))},
		{"nesting too deep", []transport.Frame{transport.TextFrame(`42["x",` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]`)}},
		{"attachment without a packet", []transport.Frame{transport.BinaryFrame([]byte{1})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, nil)
			h.OnConnection(func(s *namespace.Socket) {
				s.On("ping", func(e *namespace.Event) {
					if e.Ack != nil {
						_ = e.Ack("pong")
					}
				})
			})
			conn, _ := connect(t, h, "/", nil)
			_, other := connect(t, h, "/", nil)
			require.NoError(t, conn.Send(tt.frames...))
			select {
			case <-conn.Done():
			case <-testCtx(t).Done():
				t.Fatal("connection not closed")
			}
			_, err := other.EmitWithAck(testCtx(t), "ping")
			assert.NoError(t, err, "other clients carry on")
		})
	}
}

func TestMaxConnectionsHub(t *testing.T) {
	h := newHub(t, &hub.Options{MaxConnections: 1})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, _ := connect(t, h, "/", nil)
	res, err := http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.NoError(t, c.Close())
	<-c.Done()
	require.Eventually(t, func() bool { return h.Stats().Sessions == 0 }, testTimeout, pollEvery)
	_, err = hubtest.Dial(testCtx(t), h, nil)
	assert.NoError(t, err)
}

func TestMetricsHandler(t *testing.T) {
	h := newHub(t, nil)
	h.Of("/chat")
	connect(t, h, "/chat", nil)
	srv := httptest.NewServer(hub.MetricsHandler(h))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	assert.Contains(t, text, "# TYPE realtime_connections gauge\nrealtime_connections 1\n")
	assert.Contains(t, text, `realtime_sockets{namespace="/chat"} 1`)
	assert.Contains(t, text, `realtime_disconnects_total{reason="ping timeout"} 0`)
	assert.Contains(t, text, "realtime_packets_out_total ")
}
