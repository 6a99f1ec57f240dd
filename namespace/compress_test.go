package namespace_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

// framesConn is a Conn that keeps the frames it is sent.
type framesConn struct {
	mu     sync.Mutex
	frames []transport.Frame
	more   chan struct{} // gets a value after a Send, when not full
}

func (c *framesConn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, frames...)
	if c.more != nil {
		select {
		case c.more <- struct{}{}:
		default:
		}
	}
	return nil
}

func (c *framesConn) Close() error { return nil }

// take returns the frames sent since the last call.
func (c *framesConn) take() []transport.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.frames
	c.frames = nil
	return out
}

// noCompress returns the NoCompress flag of each frame.
func noCompress(frames []transport.Frame) []bool {
	out := make([]bool, len(frames))
	for i, f := range frames {
		out[i] = f.NoCompress
	}
	return out
}

func TestSocketCompress(t *testing.T) {
	conn := &framesConn{more: make(chan struct{}, 1)}
	c, s := connectOne(t, conn, namespace.Handshake{}, "", nil)
	defer c.Closed(namespace.ReasonTransportClose)
	conn.take() // CONNECT

	require.NoError(t, s.Emit("a", []byte{1}))
	assert.Equal(t, []bool{false, false}, noCompress(conn.take()), "Emit")

	require.NoError(t, s.Compress(false).Emit("a", []byte{1}))
	sent := conn.take()
	assert.Equal(t, []bool{true, true}, noCompress(sent), "Compress(false).Emit, with its attachment")
	assert.Equal(t, `451-["a",{"_placeholder":true,"num":0}]`, string(sent[0].Data))

	require.NoError(t, s.Compress(false).Compress(true).Emit("a"))
	assert.Equal(t, []bool{false}, noCompress(conn.take()), "Compress(false).Compress(true).Emit")
	require.NoError(t, s.Compress(true).Emit("a"))
	assert.Equal(t, []bool{false}, noCompress(conn.take()), "Compress(true).Emit")

	// With an ack: the packet is flagged, the reply comes back.
	type result struct {
		args namespace.Args
		err  error
	}
	select { // the signal of the emits above
	case <-conn.more:
	default:
	}
	done := make(chan result, 1)
	go func() {
		a, err := s.Compress(false).EmitWithAck(context.Background(), "q", 1)
		done <- result{a, err}
	}()
	<-conn.more
	sent = conn.take()
	require.Len(t, sent, 1)
	ask := sent[0]
	assert.True(t, ask.NoCompress)
	require.Regexp(t, `^42(\d+)\["q",1\]$`, string(ask.Data))
	id := string(ask.Data[2 : len(ask.Data)-len(`["q",1]`)])
	require.NoError(t, c.Receive(false, []byte(`3`+id+`["ok"]`)))
	res := <-done
	require.NoError(t, res.err)
	var got string
	require.NoError(t, res.args.Decode(0, &got))
	assert.Equal(t, "ok", got)
}

func TestBroadcastCompress(t *testing.T) {
	conn := &framesConn{}
	c, s := connectOne(t, conn, namespace.Handshake{}, "", nil)
	defer c.Closed(namespace.ReasonTransportClose)
	conn.take() // CONNECT
	ns := s.Namespace()

	require.NoError(t, ns.All().Emit("b", []byte{2}))
	assert.Equal(t, []bool{false, false}, noCompress(conn.take()), "Emit")
	require.NoError(t, ns.All().Compress(false).Emit("b", []byte{2}))
	assert.Equal(t, []bool{true, true}, noCompress(conn.take()), "Compress(false).Emit")
	require.NoError(t, ns.To(s.ID()).Compress(false).Volatile().Emit("b"))
	assert.Equal(t, []bool{true}, noCompress(conn.take()), "Compress(false).Volatile().Emit")
	require.NoError(t, ns.All().Compress(false).Compress(true).Emit("b"))
	assert.Equal(t, []bool{false}, noCompress(conn.take()), "Compress(false).Compress(true).Emit")
}
