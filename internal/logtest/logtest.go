// Package logtest captures log/slog records for tests:
//
//	logs := logtest.New()
//	srv := engineio.NewServer(h, &engineio.Options{Logger: logs.Logger()})
//	...
//	rec, ok := logs.Wait(5*time.Second, logtest.Message("engineio: origin refused"))
package logtest

import (
	"context"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Record is one captured log record, with its attributes (those given to
// the logger with With included; groups are flattened to "group.key")
// formatted as strings.
type Record struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

// Handler is a slog.Handler that keeps every record, at every level. It is
// safe for concurrent use.
type Handler struct {
	s      *store
	attrs  []slog.Attr
	prefix string // group prefix, "a.b."
}

type store struct {
	mu      sync.Mutex
	records []Record
	changed chan struct{} // closed and replaced on every record
}

// New returns an empty Handler.
func New() *Handler { return &Handler{s: &store{changed: make(chan struct{})}} }

// Logger returns a logger writing to h.
func (h *Handler) Logger() *slog.Logger { return slog.New(h) }

// Enabled reports true: every level is kept.
func (h *Handler) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps r.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	rec := Record{Level: r.Level, Message: r.Message, Attrs: map[string]string{}}
	for _, a := range h.attrs {
		addAttr(rec.Attrs, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(rec.Attrs, h.prefix, a)
		return true
	})
	h.s.mu.Lock()
	h.s.records = append(h.s.records, rec)
	close(h.s.changed)
	h.s.changed = make(chan struct{})
	h.s.mu.Unlock()
	return nil
}

func addAttr(m map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			addAttr(m, prefix+a.Key+".", g)
		}
		return
	}
	m[prefix+a.Key] = v.String()
}

// WithAttrs returns a handler sharing h's records that adds attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.prefix, attrs)...)
	return &c
}

func prefixed(prefix string, attrs []slog.Attr) []slog.Attr {
	if prefix == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: prefix + a.Key, Value: a.Value}
	}
	return out
}

// WithGroup returns a handler sharing h's records that puts the attributes
// that follow under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

// Records returns the records kept so far, oldest first.
func (h *Handler) Records() []Record {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return append([]Record(nil), h.s.records...)
}

// Matching returns the records kept so far for which match is true.
func (h *Handler) Matching(match func(Record) bool) []Record {
	var out []Record
	for _, r := range h.Records() {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// Wait returns the first record for which match is true, waiting for it
// at most timeout (which only turns a hang into a failure: ok is false).
func (h *Handler) Wait(timeout time.Duration, match func(Record) bool) (rec Record, ok bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		h.s.mu.Lock()
		for _, r := range h.s.records {
			if match(r) {
				h.s.mu.Unlock()
				return r, true
			}
		}
		changed := h.s.changed
		h.s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return Record{}, false
		}
	}
}

// Message matches the records whose message starts with prefix.
func Message(prefix string) func(Record) bool {
	return func(r Record) bool { return strings.HasPrefix(r.Message, prefix) }
}

// CaptureDefault makes slog.Default() log to a new Handler until t ends,
// and returns it: a test can then check that code given a logger of its
// own does not fall back on the default. Such a test must not run in
// parallel with others (slog.Default is the process's).
func CaptureDefault(t testing.TB) *Handler {
	prev, out, flags := slog.Default(), log.Writer(), log.Flags()
	h := New()
	slog.SetDefault(h.Logger())
	t.Cleanup(func() {
		slog.SetDefault(prev)
		// SetDefault sent the log package's output to h; give it back.
		log.SetOutput(out)
		log.SetFlags(flags)
	})
	return h
}
