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
		name    string
		add     int64
		release int64
		woken   bool // the waiters' channel is closed after Release
	}{
		{name: "drained under the bound", add: 150, release: 51, woken: true},
		{name: "still at the bound", add: 150, release: 50},
		{name: "drained to empty", add: 100, release: 100, woken: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(100)
			require.Nil(t, b.Writable(), "empty")
			assert.False(t, b.Full())
			b.Add(tt.add)
			require.True(t, b.Full())
			ch := b.Writable()
			require.NotNil(t, ch)
			assert.True(t, ch == b.Writable(), "one channel for all waiters")
			b.Release(tt.release)
			assert.Equal(t, tt.add-tt.release, b.Used())
			assert.Equal(t, tt.woken, flowtest.Closed(ch))
			assert.Equal(t, tt.woken, b.Writable() == nil)
		})
	}
	t.Run("Wake", func(t *testing.T) {
		b := NewBudget(100)
		b.Add(100)
		ch := b.Writable()
		b.Wake()
		assert.True(t, flowtest.Closed(ch))
		assert.NotNil(t, b.Writable(), "a new channel while still at the bound")
		b.Wake()
		b.Wake() // no waiter: nothing to close
	})
}

func TestWritableDoesNotAllocate(t *testing.T) {
	b := NewBudget(100)
	b.Add(50)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if b.Writable() != nil {
			t.Fatal("under the bound")
		}
	}))
}
