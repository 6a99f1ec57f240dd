package flow

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flowtest"
)

func TestSize(t *testing.T) {
	assert.Zero(t, Size(nil))
	assert.EqualValues(t, transport.FrameOverhead, FrameSize(transport.TextFrame("")))
	assert.EqualValues(t, 3+5+2*transport.FrameOverhead, Size([]transport.Frame{transport.TextFrame("abc"), transport.BinaryFrame(make([]byte, 5))}))
}

func TestBudget(t *testing.T) {
	for _, tt := range []struct {
		name     string
		max      int64
		add      int64
		full     bool // Send refused
		waits    bool // Writable returns a channel
		release  int64
		woken    bool // that channel is closed by Release
		writable bool // Writable returns nil after Release
	}{
		{name: "empty", max: 100, add: 0},
		{name: "under half", max: 100, add: 49},
		{name: "half: producers wait, Send is accepted", max: 100, add: 50, waits: true, release: 1, woken: true, writable: true},
		{name: "at the bound", max: 100, add: 100, full: true, waits: true, release: 50, woken: false},
		{name: "over the bound, drained under half", max: 100, add: 150, full: true, waits: true, release: 101, woken: true, writable: true},
		{name: "odd bound: half rounds up", max: 3, add: 2, waits: true, release: 1, woken: true, writable: true},
		{name: "bound of one byte", max: 1, add: 1, full: true, waits: true, release: 1, woken: true, writable: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(tt.max)
			require.Nil(t, b.Writable(), "empty")
			b.Add(tt.add)
			assert.Equal(t, tt.full, b.Full(), "Full")
			ch := b.Writable()
			require.Equal(t, tt.waits, ch != nil, "Writable waits")
			if ch == nil {
				return
			}
			assert.True(t, ch == b.Writable(), "one channel for all waiters")
			b.Release(tt.release)
			assert.Equal(t, tt.add-tt.release, b.Used())
			assert.Equal(t, tt.woken, flowtest.Closed(ch), "woken")
			assert.Equal(t, tt.writable, b.Writable() == nil, "writable after Release")
		})
	}
	t.Run("Wake", func(t *testing.T) {
		b := NewBudget(100)
		b.Add(100)
		ch := b.Writable()
		b.Wake()
		assert.True(t, flowtest.Closed(ch))
		assert.NotNil(t, b.Writable(), "a new channel while still over half the bound")
		b.Wake()
		b.Wake() // no waiter: nothing to close
	})
}

func TestWritableDoesNotAllocate(t *testing.T) {
	b := NewBudget(100)
	b.Add(49)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if b.Writable() != nil {
			t.Fatal("under half the bound")
		}
	}))
}
