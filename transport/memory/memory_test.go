package memory_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flowtest"
	"github.com/go-realtime/realtime/transport/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink records what a Conn delivers.
type sink struct {
	frames chan transport.Frame
	closed chan error
	fail   error // returned from HandleFrame when set
}

func newSink() *sink {
	return &sink{frames: make(chan transport.Frame, 10000), closed: make(chan error, 1)}
}

func (s *sink) HandleFrame(f transport.Frame) error {
	if s.fail != nil {
		return s.fail
	}
	s.frames <- f
	return nil
}
func (s *sink) HandleClose(err error) { s.closed <- err }

func (s *sink) frame(t *testing.T) transport.Frame {
	t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no frame")
		return transport.Frame{}
	}
}

func (s *sink) closeErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.closed:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("no close")
		return nil
	}
}

func TestPipeDeliversBothWaysInOrder(t *testing.T) {
	a, b := memory.Pipe(transport.Params{})
	sa, sb := newSink(), newSink()
	// Frames sent before Start wait for it.
	require.NoError(t, a.Send(transport.TextFrame("early")))
	a.Start(sa)
	b.Start(sb)
	assert.Equal(t, "early", string(sb.frame(t).Data))

	shared := transport.BinaryFrame([]byte{1, 2, 3})
	require.NoError(t, a.Send(shared, transport.TextFrame("x")))
	require.NoError(t, b.Send(transport.TextFrame("y")))
	got := sb.frame(t)
	assert.Equal(t, shared, got)
	got.Data[0] = 9 // the receiver owns its copy
	assert.Equal(t, byte(1), shared.Data[0])
	assert.Equal(t, "x", string(sb.frame(t).Data))
	assert.Equal(t, "y", string(sa.frame(t).Data))
	assert.Equal(t, memory.Name, a.Name())

	require.NoError(t, a.Close())
	assert.NoError(t, sa.closeErr(t))
	assert.ErrorIs(t, sb.closeErr(t), memory.ErrPeerClosed)
	assert.ErrorIs(t, a.Send(transport.TextFrame("late")), transport.ErrClosed)
	assert.ErrorIs(t, b.Send(transport.TextFrame("late")), transport.ErrClosed)
	require.NoError(t, a.Close()) // idempotent
}

func TestPipeConcurrentSendersKeepOrder(t *testing.T) {
	a, b := memory.Pipe(transport.Params{MaxQueueBytes: 64 << 20})
	sb := newSink()
	b.Start(sb)
	a.Start(newSink())
	const senders, each = 4, 500
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				assert.NoError(t, a.Send(transport.TextFrame(fmt.Sprintf("%d:%d", s, i))))
			}
		}()
	}
	wg.Wait()
	next := make([]int, senders)
	for n := 0; n < senders*each; n++ {
		var s, i int
		_, err := fmt.Sscanf(string(sb.frame(t).Data), "%d:%d", &s, &i)
		require.NoError(t, err)
		assert.Equal(t, next[s], i)
		next[s]++
	}
	require.NoError(t, a.Close())
}

func TestPipeErrors(t *testing.T) {
	tests := []struct {
		name   string
		params transport.Params
		fail   error
		send   []transport.Frame
		want   error
	}{
		{"too large", transport.Params{MaxPayload: 4}, nil, []transport.Frame{transport.TextFrame("12345")}, transport.ErrTooLarge},
		{"handler error", transport.Params{}, errors.New("bad packet"), []transport.Frame{transport.TextFrame("x")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := memory.Pipe(tt.params)
			sa, sb := newSink(), newSink()
			sb.fail = tt.fail
			a.Start(sa)
			b.Start(sb)
			require.NoError(t, a.Send(tt.send...))
			err := sb.closeErr(t)
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			if tt.fail != nil {
				assert.ErrorIs(t, err, tt.fail)
			}
			assert.ErrorIs(t, sa.closeErr(t), memory.ErrPeerClosed)
		})
	}
}

func TestPipeQueueFull(t *testing.T) {
	a, b := memory.Pipe(transport.Params{MaxQueueBytes: 2 * (1 + transport.FrameOverhead)})
	sa := newSink()
	a.Start(sa)
	// b is never started, so nothing drains its queue.
	require.NoError(t, a.Send(transport.TextFrame("1"), transport.TextFrame("2")))
	err := a.Send(transport.TextFrame("3"))
	assert.ErrorIs(t, err, transport.ErrQueueFull)
	assert.ErrorIs(t, sa.closeErr(t), memory.ErrPeerClosed)
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("b not done")
	}
}

// Writable reports the peer's queue at half its bound until the peer takes
// frames from it; Send still accepts frames up to the bound.
func TestPipeWritable(t *testing.T) {
	const bound = 10 * (100 + transport.FrameOverhead)
	a, b := memory.Pipe(transport.Params{MaxQueueBytes: bound})
	a.Start(newSink())
	fr := transport.TextFrame(strings.Repeat("x", 100))
	sent := 0
	for ; a.Writable() == nil; sent++ {
		require.Less(t, sent, 100, "Writable never reports the bound")
		require.NoError(t, a.Send(fr))
	}
	assert.Equal(t, 5, sent, "half the bound")
	ch := a.Writable()
	assert.False(t, flowtest.Closed(ch), "b takes nothing before Start")
	assert.True(t, ch == a.Writable(), "waiters share one channel")
	assert.Nil(t, b.Writable(), "a's own queue is empty")
	for ; sent < 10; sent++ {
		require.NoError(t, a.Send(fr), "under the bound")
	}

	sb := newSink()
	b.Start(sb)
	flowtest.Recv(t, ch, "the Writable channel")
	for range sent {
		assert.Equal(t, fr, sb.frame(t))
	}
	assert.Nil(t, a.Writable())
	require.NoError(t, a.Close())
}

// TrySend queues frames only into an empty queue, and queues nothing
// otherwise.
func TestPipeTrySend(t *testing.T) {
	a, b := memory.Pipe(transport.Params{})
	a.Start(newSink())
	assert.True(t, a.TrySend(transport.TextFrame("v1")), "empty queue")
	assert.False(t, a.TrySend(transport.TextFrame("v2")), "v1 waits")
	require.NoError(t, a.Send(transport.TextFrame("sent")))
	sb := newSink()
	b.Start(sb)
	assert.Equal(t, "v1", string(sb.frame(t).Data))
	assert.Equal(t, "sent", string(sb.frame(t).Data))
	assert.True(t, a.TrySend(transport.TextFrame("v3")), "everything taken")
	assert.Equal(t, "v3", string(sb.frame(t).Data))
	require.NoError(t, a.Close())
	assert.False(t, a.TrySend(transport.TextFrame("late")), "closed")
}

// A flood of empty frames is bounded too: each counts FrameOverhead.
func TestPipeFloodOfEmptyFrames(t *testing.T) {
	const bound = 4 * transport.FrameOverhead
	a, _ := memory.Pipe(transport.Params{MaxQueueBytes: bound})
	sa := newSink()
	a.Start(sa)
	var err error
	accepted := 0
	for ; accepted < 1000; accepted++ {
		if err = a.Send(transport.TextFrame("")); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, transport.ErrQueueFull)
	assert.Equal(t, 4, accepted)
	assert.ErrorIs(t, sa.closeErr(t), memory.ErrPeerClosed)
}

// Whatever closes the pipe wakes the producers waiting on Writable.
func TestPipeWritableWokenOnClose(t *testing.T) {
	for _, tt := range []struct {
		name  string
		close func(t *testing.T, a, b *memory.Conn)
	}{
		{"Close", func(t *testing.T, a, _ *memory.Conn) { require.NoError(t, a.Close()) }},
		{"peer Close", func(t *testing.T, _, b *memory.Conn) { require.NoError(t, b.Close()) }},
		{"Send at the bound", func(t *testing.T, a, _ *memory.Conn) {
			require.ErrorIs(t, a.Send(transport.TextFrame("x")), transport.ErrQueueFull)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := memory.Pipe(transport.Params{MaxQueueBytes: 100})
			require.NoError(t, a.Send(transport.TextFrame(strings.Repeat("x", 100))))
			ch := a.Writable()
			require.NotNil(t, ch)
			tt.close(t, a, b)
			assert.True(t, flowtest.Closed(ch), "waiters not woken")
			assert.Nil(t, a.Writable())
			assert.ErrorIs(t, a.Send(transport.TextFrame("late")), transport.ErrClosed)
		})
	}
}
