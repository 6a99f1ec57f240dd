package redis_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/room/redis"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
)

// ackClient is a minimal client on the in-memory transport that answers
// every event asking for an ack with 1, without decoding it: crowds of
// them cost the test little.
type ackClient struct {
	conn   *memory.Conn
	ready  chan struct{}
	before func() // called before each answer (may be nil)
}

func (c *ackClient) HandleFrame(f transport.Frame) error {
	d := f.Data
	switch {
	case len(d) == 0:
	case d[0] == '0': // Engine.IO open: join the main namespace
		return c.conn.Send(transport.TextFrame("40"))
	case d[0] == '2':
		return c.conn.Send(transport.TextFrame("3"))
	case bytes.HasPrefix(d, []byte(`42["ready"`)):
		close(c.ready)
	case len(d) > 2 && d[0] == '4' && d[1] == '2' && d[2] >= '0' && d[2] <= '9':
		i := bytes.IndexByte(d, '[')
		if i < 0 {
			return nil
		}
		if c.before != nil {
			c.before()
		}
		return c.conn.Send(transport.TextFrame("43" + string(d[2:i]) + "[1]"))
	}
	return nil
}

func (c *ackClient) HandleClose(error) {}

// ackCrowd connects n ackClients to h and waits until each is ready.
func ackCrowd(t testing.TB, h *hub.Server, n int, before func()) {
	t.Helper()
	ctx := testCtx(t)
	for range n {
		serverEnd, clientEnd := memory.Pipe(transport.Params{})
		c := &ackClient{conn: clientEnd, ready: make(chan struct{}), before: before}
		clientEnd.Start(c)
		t.Cleanup(func() { _ = clientEnd.Close() })
		h.ServeConn(serverEnd, nil)
		select {
		case <-c.ready:
		case <-ctx.Done():
			t.Fatal("a client did not connect")
		}
	}
}

// Issue 17: 4,000 clients over two Go nodes and a Node.js node answer a
// broadcast with ack, and every ack reaches the requester, Go or Node,
// also when Redis stops taking writes for 500ms while the acks flow.
func TestAcksAtScale(t *testing.T) {
	srv := startRedis(t)
	opts := &redis.Options{RequestTimeout: 10 * time.Second}
	ha, hb := newNode(t, srv, opts), newNode(t, srv, opts)
	web := httptest.NewServer(ha)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, web.URL)

	var stall atomic.Pointer[func()]
	ackCrowd(t, ha, 1334, nil)
	ackCrowd(t, hb, 1333, func() {
		if f := stall.Swap(nil); f != nil {
			(*f)()
		}
	})
	var n int
	d.call(&n, "connectMany", map[string]any{"target": "node", "count": 1333})
	require.Equal(t, 1333, n)
	ctrl := srv.Client(t)

	ask := func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		replies, err := ha.Of("/").EmitWithAck(ctx, "question")
		require.NoError(t, err)
		assert.Len(t, replies, 4000, "acks to the Go requester")
		t.Logf("Go requester: %d acks in %v", len(replies), time.Since(start))
	}
	askNode := func(t *testing.T) {
		var res struct {
			Count int     `json:"count"`
			MS    float64 `json:"ms"`
		}
		d.call(&res, "emitWithAckCount", map[string]any{"timeout": 10000})
		assert.Equal(t, 4000, res.Count, "acks to the Node requester")
		t.Logf("Node requester: %d acks in %.0fms", res.Count, res.MS)
	}
	// The first answer on hb pauses Redis' writes for 500ms: hb's acks
	// pile up meanwhile.
	armStall := func(t *testing.T) {
		f := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			assert.NoError(t, ctrl.Do(ctx, "CLIENT", "PAUSE", "500", "WRITE").Err())
		}
		stall.Store(&f)
	}

	t.Run("Go requester", ask)
	t.Run("Node requester", askNode)
	t.Run("Go requester through a 500ms write stall", func(t *testing.T) { armStall(t); ask(t) })
	t.Run("Node requester through a 500ms write stall", func(t *testing.T) { armStall(t); askNode(t) })
	st := adapterOf(hb.Of("/")).Stats()
	assert.Zero(t, st.AnswersDropped+st.PublishFailed+st.Refused, "nothing dropped: %+v", st)
	assert.Less(t, st.Batches, st.Published/4, "acks go in pipelines: %+v", st)
}
