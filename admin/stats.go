package admin

import (
	"os"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// processStart stands for the process's start, for the uptime.
var processStart = time.Now()

// serverStats is socket.io-admin-ui's ServerStats.
type serverStats struct {
	ServerID            string            `json:"serverId"`
	Hostname            string            `json:"hostname"`
	PID                 int               `json:"pid"`
	Uptime              float64           `json:"uptime"` // seconds
	ClientsCount        int64             `json:"clientsCount"`
	PollingClientsCount int               `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []namespaceStats  `json:"namespaces"`
}

// aggregatedEvent counts what happened in one second (socket.io-admin-ui's
// NamespaceEvent).
type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"` // ms since the epoch, whole seconds
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int64  `json:"count"`
}

type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int64  `json:"socketsCount"`
}

// runStats sends the server stats now and every StatsInterval. The
// aggregated figures are the differences of the hub's counters (Stats),
// which it keeps anyway: nothing is counted for the UI on the hot paths.
func (ins *Instrumentation) runStats() {
	defer ins.wg.Done()
	host, _ := os.Hostname()
	prev := ins.h.Stats()
	ins.emit("server_stats", ins.stats(host, prev, prev))
	t := time.NewTicker(ins.opts.StatsInterval)
	defer t.Stop()
	var dropped int64
	for {
		select {
		case <-ins.ctx.Done():
			return
		case <-t.C:
		}
		ins.announce()
		ins.updateWatching() // an announcement may have expired
		cur := ins.h.Stats()
		ins.emit("server_stats", ins.stats(host, prev, cur))
		prev = cur
		if d := ins.Dropped(); d > dropped {
			ins.logger.Warn("admin: the UI's feed fell behind: records dropped", "dropped", d-dropped, "total", d)
			dropped = d
		}
	}
}

// stats is the server_stats message for the counters cur, the previous
// ones being prev.
func (ins *Instrumentation) stats(host string, prev, cur hub.Stats) serverStats {
	ts := time.Now().Truncate(time.Second).UnixMilli()
	agg := []aggregatedEvent{}
	add := func(typ, sub string, n int64) {
		if n > 0 {
			agg = append(agg, aggregatedEvent{Timestamp: ts, Type: typ, SubType: sub, Count: n})
		}
	}
	add("rawConnection", "", cur.SessionsOpened-prev.SessionsOpened)
	for reason, n := range cur.Closed {
		add("rawDisconnection", reason, n-prev.Closed[reason])
	}
	add("packetsIn", "", cur.PacketsIn-prev.PacketsIn)
	add("bytesIn", "", cur.BytesIn-prev.BytesIn)
	add("packetsOut", "", cur.PacketsOut-prev.PacketsOut)
	add("bytesOut", "", cur.BytesOut-prev.BytesOut)

	nss := ins.h.Namespaces()
	out := serverStats{
		ServerID: ins.serverID, Hostname: host, PID: os.Getpid(),
		Uptime:       time.Since(processStart).Seconds(),
		ClientsCount: cur.Sessions, AggregatedEvents: agg,
		Namespaces: make([]namespaceStats, 0, len(nss)),
	}
	polling := map[namespace.EngineConn]struct{}{}
	for _, ns := range nss {
		socks := ns.Sockets()
		out.Namespaces = append(out.Namespaces, namespaceStats{Name: ns.Name(), SocketsCount: int64(len(socks))})
		for _, s := range socks {
			if c := s.Conn(); c.Transport() == "polling" {
				polling[c] = struct{}{}
			}
		}
	}
	out.PollingClientsCount = len(polling)
	return out
}
