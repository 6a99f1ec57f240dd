package logtest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandler(t *testing.T) {
	h := New()
	log := h.Logger().With("a", 1).WithGroup("g").With("b", "two")
	log.Debug("first", "c", true, slog.Group("d", "e", 3))
	h.Logger().Warn("second")

	recs := h.Records()
	require.Len(t, recs, 2)
	assert.Equal(t, Record{Level: slog.LevelDebug, Message: "first", Attrs: map[string]string{
		"a": "1", "g.b": "two", "g.c": "true", "g.d.e": "3",
	}}, recs[0])
	assert.Equal(t, slog.LevelWarn, recs[1].Level)
	assert.Len(t, h.Matching(Message("sec")), 1)
	assert.Empty(t, h.Matching(Message("third")))

	got := make(chan Record, 1)
	go func() {
		r, ok := h.Wait(10*time.Second, Message("third"))
		assert.True(t, ok)
		got <- r
	}()
	h.Logger().Info("third")
	assert.Equal(t, "third", (<-got).Message)
	_, ok := h.Wait(time.Millisecond, Message("never"))
	assert.False(t, ok)
}

func TestCaptureDefault(t *testing.T) {
	before := slog.Default()
	var h *Handler
	t.Run("captured", func(t *testing.T) {
		h = CaptureDefault(t)
		slog.Info("to the default")
	})
	assert.Len(t, h.Matching(Message("to the default")), 1)
	assert.Same(t, before, slog.Default(), "restored")
	slog.Info("after")
	assert.Empty(t, h.Matching(Message("after")))
}
