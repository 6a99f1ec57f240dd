package bench_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/go-realtime/realtime/admin"
	"github.com/go-realtime/realtime/hub"
)

// adminModes are the ways BenchmarkAdmin runs the hub: without the admin
// instrumentation, and with it in each mode, with and without a UI
// connected (in development mode the events feed runs only while one is).
var adminModes = []struct {
	name string
	mode admin.Mode // "" for off
	ui   bool       // a UI (a sink client) is connected to /admin
}{
	{"off", "", false},
	{"production", admin.Production, false},
	{"development", admin.Development, false},
	{"development+ui", admin.Development, true},
}

// adminHub returns a hub instrumented as m says.
func adminHub(b *testing.B, mode admin.Mode) *hub.Server {
	h := hub.New(nil)
	if mode != "" {
		ins, err := admin.Instrument(h, admin.Options{Auth: admin.NoAuth{}, Mode: mode,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = ins.Close() })
	}
	return h
}

// connectUI connects a sink client to the admin namespace.
func connectUI(b *testing.B, h *hub.Server) {
	c := newSink()
	h.ServeConn(c, nil)
	c.receive(b, "40/admin,")
	b.Cleanup(func() { _ = c.Close() })
}

// BenchmarkAdmin is BenchmarkBroadcast (1000 recipients) and
// BenchmarkConnect with the admin instrumentation off and on: what
// package admin costs the hot paths (BENCHMARKS.md, "Admin UI").
func BenchmarkAdmin(b *testing.B) {
	for _, m := range adminModes {
		b.Run("broadcast/admin="+m.name, func(b *testing.B) {
			const n = 1000
			h := adminHub(b, m.mode)
			if m.ui {
				connectUI(b, h)
			}
			sh := newSinkHubOn(b, h, n, nil)
			p := startPerRecipient(b, n)
			for b.Loop() {
				if err := sh.h.To("r").Emit("msg", payload); err != nil {
					b.Fatal(err)
				}
			}
			p.stop()
		})
	}
	for _, m := range adminModes {
		b.Run("connect/admin="+m.name, func(b *testing.B) {
			h := adminHub(b, m.mode)
			if m.ui {
				connectUI(b, h)
			}
			benchConnect(b, h)
		})
	}
}
