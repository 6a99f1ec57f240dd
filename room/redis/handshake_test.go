package redis

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Go socket's handshake reaches the other nodes as socket.io's: "time"
// as JavaScript's Date string, "issued" in milliseconds.
func TestNodeHandshake(t *testing.T) {
	out := nodeHandshake(json.RawMessage(`{"auth":{"a":1},"time":"2026-12-06T02:53:00.123+01:00","address":"127.0.0.1"}`))
	var hs map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &hs))
	assert.JSONEq(t, `"Sun Dec 06 2026 01:53:00 GMT+0000 (Coordinated Universal Time)"`, string(hs["time"]))
	assert.Equal(t, "1796521980123", string(hs["issued"]))
	assert.JSONEq(t, `{"a":1}`, string(hs["auth"]))
	assert.JSONEq(t, `"127.0.0.1"`, string(hs["address"]))

	for _, in := range []string{`{}`, `null`, `[1]`, `{"time":"Sun Dec 06 2026"}`, `{"time":5}`, `not json`} {
		assert.Equal(t, in, string(nodeHandshake(json.RawMessage(in))), "left as it is: %s", in)
	}
	kept := nodeHandshake(json.RawMessage(`{"time":"2026-12-06T01:53:00Z","issued":7}`))
	assert.Contains(t, string(kept), `"issued":7`)
}
