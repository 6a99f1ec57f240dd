package load

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// holdMargin is what HoldTarget leaves of the file limit for everything
// else a process has open (listeners, the control connection, pipes, the
// poller, Node's own descriptors).
const holdMargin = 100

// HoldTarget is how many idle connections the hold scenario tries: as
// many as both this process's file limit (own) and the server's (read from
// /proc/<pid>/limits when pid is not 0) allow, less a margin.
func HoldTarget(own, pid int) int {
	n := own
	if pid != 0 {
		if s, err := ProcMaxFiles(pid); err == nil && int(s) < n {
			n = int(s)
		}
	}
	return max(n-holdMargin, 1)
}

// A target from the issue, checked on the Go server's figure.
type target struct {
	text string
	met  func(goV, nodeV float64, haveNode bool) (bool, bool) // met, known
}

func atMost(limit float64, text string) target {
	return target{text: text, met: func(g, _ float64, _ bool) (bool, bool) { return g <= limit, true }}
}

func atLeast(limit float64, text string) target {
	return target{text: text, met: func(g, _ float64, _ bool) (bool, bool) { return g >= limit, true }}
}

// timesNode: the Go figure is at least k times Node's, in the same run
// (unknown without Node's).
func timesNode(k float64, text string) target {
	return target{text: text, met: func(g, n float64, ok bool) (bool, bool) { return g >= k*n, ok }}
}

// Targets of the issue, by scenario and metric name.
var targets = map[[2]string]target{
	{ScConnect, MRSSPerConn}:    atMost(4096, "≤ 4 KiB"),
	{ScHold, MHoldRSSPer}:       atMost(4096, "≤ 4 KiB"),
	{ScConnect, MCPUPerConnect}: atMost(250, "≤ 250 µs"),
	{ScHold, MCPUPerConnect}:    atMost(250, "≤ 250 µs"),
	{ScFanout, MCPUPerDeliv}:    atMost(1, "≤ 1 µs"),
	{ScFanout, MDeliveredRate}:  timesNode(5, "≥ 5× Node"),
	{ScPaced, MLatP99}:          atMost(10, "≤ 10 ms"),
	{ScPacedFew, MLatP99}:       atMost(10, "≤ 10 ms"),
	{ScEcho, MCPUPerRT}:         atMost(15, "≤ 15 µs"),
	{ScHold, MHeld}:             atLeast(19000, "≥ 19,000"),
	{ScChurn, MJoinRate1}:       timesNode(1, "≥ Node"),
	{ScChurn, MJoinRate2}:       timesNode(1, "≥ Node"),
	{ScChurn, MLeaveRate1}:      timesNode(1, "≥ Node"),
	{ScChurn, MLeaveRate2}:      timesNode(1, "≥ Node"),
}

// Table renders results side by side as a Markdown table: the first
// result is the reference for the ratio column (how many times better it
// is than the second) and for the targets.
func Table(rs []*Results) string {
	var b strings.Builder
	b.WriteString("| scenario | metric |")
	for _, r := range rs {
		fmt.Fprintf(&b, " %s |", r.Target)
	}
	two := len(rs) == 2
	if two {
		fmt.Fprintf(&b, " %s vs %s |", rs[0].Target, rs[1].Target)
	}
	b.WriteString(" target |\n|---|---|")
	for range rs {
		b.WriteString("---:|")
	}
	if two {
		b.WriteString("---:|")
	}
	b.WriteString("---|\n")
	if len(rs) == 0 {
		return b.String()
	}
	for _, m := range rs[0].Metrics {
		fmt.Fprintf(&b, "| %s | %s (%s) |", m.Scenario, m.Name, m.Unit)
		var other Metric
		haveOther := false
		for i, r := range rs {
			v, ok := r.Get(m.Scenario, m.Name)
			if !ok {
				b.WriteString(" – |")
				continue
			}
			if i == 1 {
				other, haveOther = v, true
			}
			fmt.Fprintf(&b, " %s |", formatRange(v))
		}
		if two {
			b.WriteString(" " + ratio(m, other, haveOther) + " |")
		}
		t := targets[[2]string{m.Scenario, m.Name}]
		if t.met != nil {
			met, known := t.met(m.Value, other.Value, haveOther)
			switch {
			case !known:
				fmt.Fprintf(&b, " %s |", t.text)
			case met:
				fmt.Fprintf(&b, " %s: met |", t.text)
			default:
				fmt.Fprintf(&b, " %s: **missed** |", t.text)
			}
		} else {
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	for _, r := range rs {
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "\nNote (%s): %s", r.Target, n)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// ratio says how many times better a is than b.
func ratio(a, b Metric, ok bool) string {
	if !ok || a.Unit == "count" || a.Value <= 0 || b.Value <= 0 || strings.HasPrefix(a.Name, "load generator") {
		return ""
	}
	r := b.Value / a.Value
	if !a.Lower {
		r = a.Value / b.Value
	}
	if r >= 1 {
		return strconv.FormatFloat(r, 'f', ratioPrec(r), 64) + "× better"
	}
	return strconv.FormatFloat(1/r, 'f', ratioPrec(1/r), 64) + "× worse"
}

func ratioPrec(r float64) int {
	if r >= 10 {
		return 0
	}
	return 1
}

// formatRange is format plus the range of the rounds behind a median.
func formatRange(m Metric) string {
	s := format(m)
	if m.N > 1 && m.Min != m.Max && m.Unit != "count" {
		lo, hi := m, m
		lo.Value, hi.Value = m.Min, m.Max
		s += " (" + format(lo) + "–" + format(hi) + ")"
	}
	return s
}

func format(m Metric) string {
	v := m.Value
	switch m.Unit {
	case "count", "B", "msg/s", "rt/s", "conn/s", "op/s":
		return thousands(int64(math.Round(v)))
	case "µs", "ms", "ms/s":
		switch {
		case v >= 100:
			return strconv.FormatFloat(v, 'f', 0, 64)
		case v >= 10:
			return strconv.FormatFloat(v, 'f', 1, 64)
		default:
			return strconv.FormatFloat(v, 'f', 2, 64)
		}
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Median merges repeated runs against one target: each metric becomes the
// median of its values (the lower middle one for an even count), in the
// order of the first run's metrics; notes are kept, labelled by run.
func Median(runs []*Results) *Results {
	if len(runs) == 0 {
		return nil
	}
	out := &Results{Target: runs[0].Target}
	seen := map[[2]string]bool{}
	for _, r := range runs {
		for _, m := range r.Metrics {
			k := [2]string{m.Scenario, m.Name}
			if seen[k] {
				continue
			}
			seen[k] = true
			var vals []float64
			for _, r2 := range runs {
				if v, ok := r2.Get(m.Scenario, m.Name); ok {
					vals = append(vals, v.Value)
				}
			}
			slices.Sort(vals)
			m.Value = vals[(len(vals)-1)/2]
			m.Min, m.Max, m.N = vals[0], vals[len(vals)-1], len(vals)
			out.Metrics = append(out.Metrics, m)
		}
	}
	for i, r := range runs {
		for _, n := range r.Notes {
			if len(runs) > 1 {
				n = fmt.Sprintf("run %d: %s", i+1, n)
			}
			out.Notes = append(out.Notes, n)
		}
	}
	return out
}
