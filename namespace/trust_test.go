package namespace

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-realtime/realtime/internal/socketio"
)

func TestTrustReceived(t *testing.T) {
	data := []byte(`["a",{"z":1},[2]]`)
	raw, err := socketio.SplitArgs(data)
	assert.NoError(t, err)
	echoed := json.RawMessage(raw[1])
	copyOf := json.RawMessage(`{"z":1}`) // equal bytes, not the received ones
	args := []any{echoed, copyOf, 3}

	got := trustReceived(args, raw)
	assert.Equal(t, socketio.Trusted(raw[1]), got[0], "the received argument is trusted")
	assert.Equal(t, copyOf, got[1], "other JSON is still checked")
	assert.Equal(t, 3, got[2])
	assert.IsType(t, json.RawMessage{}, args[0], "the caller's slice is left alone")

	plain := []any{"x", 1}
	assert.Equal(t, plain, trustReceived(plain, raw))
}
