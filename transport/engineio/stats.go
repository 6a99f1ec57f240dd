package engineio

import (
	"sync/atomic"

	"github.com/go-realtime/realtime/transport"
)

// Stats are the server's counters since it started, and its current
// sessions. Read them with [Server.Stats].
type Stats struct {
	// Sessions open now, and opened in all.
	Sessions       int64 `json:"sessions"`
	SessionsOpened int64 `json:"sessionsOpened"`
	// Refused handshakes: bad requests, refused origins, server full.
	Refused int64 `json:"refused"`
	// Upgrades from polling to WebSocket completed.
	Upgrades int64 `json:"upgrades"`
	// Packets and payload bytes received from and sent to clients
	// (heartbeats included).
	PacketsIn  int64 `json:"packetsIn"`
	BytesIn    int64 `json:"bytesIn"`
	PacketsOut int64 `json:"packetsOut"`
	BytesOut   int64 `json:"bytesOut"`
	// Overflows counts sessions closed because the client did not read
	// fast enough (its bounded send queue overflowed).
	Overflows int64 `json:"overflows"`
	// Dropped counts volatile frames dropped ([Session.TrySend]) for
	// clients that were not ready for them.
	Dropped int64 `json:"dropped"`
	// Closed counts closed sessions by Reason ("ping timeout", ...).
	Closed map[string]int64 `json:"closed"`
}

// counters are updated with atomics on the hot paths.
type counters struct {
	opened, refused, upgrades, overflows, dropped atomic.Int64
	packetsIn, bytesIn                            atomic.Int64
	packetsOut, bytesOut                          atomic.Int64
	closedTransportClose, closedError             atomic.Int64
	closedPing, closedParse                       atomic.Int64
	closedForced, closedShutdown                  atomic.Int64
}

// sent counts frames handed to a transport.
func (c *counters) sent(frames []transport.Frame) {
	c.packetsOut.Add(int64(len(frames)))
	n := 0
	for _, f := range frames {
		n += len(f.Data)
	}
	c.bytesOut.Add(int64(n))
}

func (c *counters) closed(reason error) {
	switch Reason(reason) {
	case "transport close":
		c.closedTransportClose.Add(1)
	case "ping timeout":
		c.closedPing.Add(1)
	case "parse error":
		c.closedParse.Add(1)
	case "forced close":
		c.closedForced.Add(1)
	case "server shutting down":
		c.closedShutdown.Add(1)
	default:
		c.closedError.Add(1)
	}
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.counters
	return Stats{
		Sessions:       int64(s.Len()),
		SessionsOpened: c.opened.Load(),
		Refused:        c.refused.Load(),
		Upgrades:       c.upgrades.Load(),
		Overflows:      c.overflows.Load(),
		Dropped:        c.dropped.Load(),
		PacketsIn:      c.packetsIn.Load(),
		BytesIn:        c.bytesIn.Load(),
		PacketsOut:     c.packetsOut.Load(),
		BytesOut:       c.bytesOut.Load(),
		Closed: map[string]int64{
			"transport close":      c.closedTransportClose.Load(),
			"transport error":      c.closedError.Load(),
			"ping timeout":         c.closedPing.Load(),
			"parse error":          c.closedParse.Load(),
			"forced close":         c.closedForced.Load(),
			"server shutting down": c.closedShutdown.Load(),
		},
	}
}
