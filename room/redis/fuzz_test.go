package redis

import (
	"encoding/json"
	"github.com/go-realtime/realtime/internal/msgpack"
	"testing"
)

// FuzzBroadcastMessage feeds arbitrary bytes to the decoding of broadcast
// messages, requests and responses: no panic, no hang.
func FuzzBroadcastMessage(f *testing.F) {
	for _, s := range []string{notepackBroadcast, notepackAck, "93a0c0c0", "85a3756964a178a9726571756573744964a3616263a47479706507a67061636b657480a46f70747380"} {
		b, _ := hexDecode(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := msgpack.NewReader(data, 0)
		if n, err := r.ArrayLen(); err == nil && n >= 3 {
			if _, err := r.ScalarString(); err == nil {
				if _, err := readPacket(&r); err == nil {
					_, _ = readOpts(&r)
				}
			}
		}
		_, _ = readMsgpackResponse(data)
		var req jsonRequest
		_ = json.Unmarshal(data, &req)
	})
}
