package engineio

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefusalsRateLimit: each refused origin is logged once a minute, for
// at most maxRefusedOrigins origins at a time; beyond them one summary a
// minute, and the memory kept stays bounded.
func TestRefusalsRateLimit(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := &refusals{now: func() time.Time { return now }}
	tick := func(d time.Duration) { now = now.Add(d) }

	assert.Equal(t, noteOrigin, l.note("https://a.example"))
	assert.Equal(t, noteNone, l.note("https://a.example"))
	assert.Equal(t, noteOrigin, l.note("https://b.example"))
	tick(refusalEvery - time.Second)
	assert.Equal(t, noteNone, l.note("https://a.example"), "within the minute")
	tick(time.Second)
	assert.Equal(t, noteOrigin, l.note("https://a.example"), "a minute later")
	assert.Equal(t, noteOrigin, l.note("https://b.example"))

	for i := len(l.logged); i < maxRefusedOrigins; i++ {
		assert.Equal(t, noteOrigin, l.note("https://"+strconv.Itoa(i)+".evil"))
	}
	assert.Equal(t, noteMany, l.note("https://one-too-many.evil"))
	for i := range 1000 {
		assert.Equal(t, noteNone, l.note("https://more-"+strconv.Itoa(i)+".evil"))
	}
	assert.Len(t, l.logged, maxRefusedOrigins)
	assert.Equal(t, noteNone, l.note("https://a.example"), "still remembered")

	tick(refusalEvery)
	assert.Equal(t, noteOrigin, l.note("https://new.example"), "expired entries make room")
	assert.LessOrEqual(t, len(l.logged), maxRefusedOrigins)
	tick(refusalEvery)
	for i := range 2 * maxRefusedOrigins {
		l.note("https://again-" + strconv.Itoa(i) + ".evil")
	}
	assert.Len(t, l.logged, maxRefusedOrigins)
	assert.Equal(t, time.Duration(0), now.Sub(l.many), "a new summary a minute after the last")
}
