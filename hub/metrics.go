package hub

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-realtime/realtime/transport/engineio"
)

// Stats are the hub's counters and gauges: the Engine.IO layer's
// (connections, packets and bytes in and out, overflows, volatile packets
// dropped, close reasons) and the sockets connected to each namespace.
type Stats struct {
	engineio.Stats
	// Sockets connected now, by namespace.
	Sockets map[string]int64 `json:"sockets"`
	// RateLimited counts sockets disconnected for sending events too fast.
	RateLimited int64 `json:"rateLimited"`
}

// Metrics is what the hub exposes for monitoring; *Server implements it.
// To publish with expvar:
//
//	expvar.Publish("realtime", expvar.Func(func() any { return h.Stats() }))
type Metrics interface {
	Stats() Stats
}

var _ Metrics = (*Server)(nil)

// Stats returns the hub's current counters and gauges.
func (s *Server) Stats() Stats {
	st := Stats{Stats: s.eio.Stats(), Sockets: map[string]int64{}, RateLimited: s.rateLimited.Load()}
	for _, ns := range s.all() {
		st.Sockets[ns.Name()] = int64(ns.Len())
	}
	return st
}

// MetricsHandler serves Stats in the Prometheus text exposition format,
// with no dependency on a Prometheus library:
//
//	mux.Handle("/metrics", hub.MetricsHandler(h))
func MetricsHandler(m Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := m.Stats()
		var b strings.Builder
		metric := func(name, typ, help string, v int64) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
		}
		metric("realtime_connections", "gauge", "Engine.IO sessions open now.", st.Sessions)
		metric("realtime_connections_opened_total", "counter", "Engine.IO sessions opened.", st.SessionsOpened)
		metric("realtime_handshakes_refused_total", "counter", "Handshakes refused (origin, server full, shutdown).", st.Refused)
		metric("realtime_upgrades_total", "counter", "Polling sessions upgraded to WebSocket.", st.Upgrades)
		metric("realtime_packets_in_total", "counter", "Engine.IO packets received.", st.PacketsIn)
		metric("realtime_bytes_in_total", "counter", "Payload bytes received.", st.BytesIn)
		metric("realtime_packets_out_total", "counter", "Engine.IO packets sent.", st.PacketsOut)
		metric("realtime_bytes_out_total", "counter", "Payload bytes sent.", st.BytesOut)
		metric("realtime_overflows_total", "counter", "Sessions closed because the client read too slowly.", st.Overflows)
		metric("realtime_dropped_total", "counter", "Volatile frames dropped for clients not ready for them.", st.Dropped)
		metric("realtime_rate_limited_total", "counter", "Sockets disconnected for sending events too fast.", st.RateLimited)
		fmt.Fprintf(&b, "# HELP realtime_disconnects_total Sessions closed, by reason.\n# TYPE realtime_disconnects_total counter\n")
		reasons := make([]string, 0, len(st.Closed))
		for r := range st.Closed {
			reasons = append(reasons, r)
		}
		slices.Sort(reasons)
		for _, r := range reasons {
			fmt.Fprintf(&b, "realtime_disconnects_total{reason=%q} %d\n", r, st.Closed[r])
		}
		fmt.Fprintf(&b, "# HELP realtime_sockets Sockets connected now, by namespace.\n# TYPE realtime_sockets gauge\n")
		names := make([]string, 0, len(st.Sockets))
		for n := range st.Sockets {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(&b, "realtime_sockets{namespace=%q} %d\n", n, st.Sockets[n])
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(b.String()))
	})
}
