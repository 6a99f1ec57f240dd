package load_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/bench/internal/load"
)

func results(target string, cpu, rate float64) *load.Results {
	return &load.Results{Target: target, Metrics: []load.Metric{
		{Scenario: load.ScFanout, Name: load.MCPUPerDeliv, Unit: "µs", Value: cpu, Lower: true},
		{Scenario: load.ScFanout, Name: load.MDeliveredRate, Unit: "msg/s", Value: rate},
	}}
}

func TestMedian(t *testing.T) {
	m := load.Median([]*load.Results{results("go", 3, 100), results("go", 1, 300), results("go", 2, 200)})
	require.NotNil(t, m)
	cpu, ok := m.Get(load.ScFanout, load.MCPUPerDeliv)
	require.True(t, ok)
	assert.Equal(t, 2.0, cpu.Value)
	assert.Equal(t, 1.0, cpu.Min)
	assert.Equal(t, 3.0, cpu.Max)
	assert.Equal(t, 3, cpu.N)
	assert.Nil(t, load.Median(nil))
}

func TestTable(t *testing.T) {
	goRes := load.Median([]*load.Results{results("go", 0.9, 600_000), results("go", 1.1, 500_000)})
	nodeRes := results("node", 9, 100_000)
	nodeRes.Notes = []string{"something odd"}
	tab := load.Table([]*load.Results{goRes, nodeRes})
	lines := strings.Split(tab, "\n")
	require.GreaterOrEqual(t, len(lines), 4)
	assert.Equal(t, "| scenario | metric | go | node | go vs node | target |", lines[0])
	// Median of two is the lower one; the range follows.
	assert.Equal(t, "| fanout | server CPU per delivery (µs) | 0.90 (0.90–1.10) | 9.00 | 10× better | ≤ 1 µs: met |", lines[2])
	assert.Equal(t, "| fanout | delivered msgs/s (msg/s) | 500,000 (500,000–600,000) | 100,000 | 5.0× better | ≥ 5× Node: met |", lines[3])
	assert.Contains(t, tab, "Note (node): something odd")

	slow := load.Table([]*load.Results{results("go", 2, 400_000), results("node", 1, 100_000)})
	assert.Contains(t, slow, "| 2.00 | 1.00 | 2.0× worse | ≤ 1 µs: **missed** |")
	assert.Contains(t, slow, "≥ 5× Node: **missed**")
}

func TestHoldTarget(t *testing.T) {
	assert.Equal(t, 19900, load.HoldTarget(20000, 0))
	assert.Equal(t, 1, load.HoldTarget(50, 0))
}
