package admin

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/room"
)

// Socket descriptions as other nodes send them (FetchSockets): a Go
// node's (namespace.Handshake's JSON) and a socket.io node's (its
// handshake object; socket.data carries instrument()'s _admin).
var (
	goHandshake = `{"auth":{},"headers":{"User-Agent":["ua"],"X-Forwarded-For":["10.0.0.9"]},"query":{"EIO":["4"],"t":["a","b"]},` +
		`"address":"127.0.0.1","time":"2026-12-06T03:08:42.5Z","secure":false,"url":"/socket.io/?EIO=4","xdomain":true}`
	nodeHandshake = `{"headers":{"user-agent":"node","cf-connecting-ip":"1.2.3.4"},"query":{"EIO":"4","transport":"polling"},` +
		`"address":"::1","time":"Sun Dec 06 2026 03:08:42 GMT+0000 (Coordinated Universal Time)","issued":1796526522000,` +
		`"secure":true,"url":"/socket.io/?EIO=4&transport=polling","xdomain":false,"auth":{"token":"x"}}`
)

func TestSerializeRemote(t *testing.T) {
	known := map[string]map[string]details{"/": {"go1": {ClientID: "abcdefabcdef", Transport: "websocket"}}}
	for _, tc := range []struct {
		name string
		info room.SocketInfo
		want socketJSON
	}{
		{"go node", room.SocketInfo{ID: "go1", Rooms: []string{"go1", "r"}, Handshake: json.RawMessage(goHandshake), Data: json.RawMessage(`{"user":"bob"}`)},
			socketJSON{ID: "go1", ClientID: "abcdefabcdef", Transport: "websocket", Nsp: "/", Data: json.RawMessage(`{"user":"bob"}`), Rooms: []string{"go1", "r"},
				Handshake: handshakeJSON{Address: "10.0.0.9", Headers: map[string]string{"user-agent": "ua", "x-forwarded-for": "10.0.0.9"},
					Query: map[string]any{"EIO": "4", "t": []string{"a", "b"}}, Issued: 1796526522500, Time: "Sun Dec 06 2026 03:08:42 GMT+0000 (UTC)",
					URL: "/socket.io/?EIO=4", XDomain: true}}},
		{"socket.io node", room.SocketInfo{ID: "n1", Rooms: []string{"n1"}, Handshake: json.RawMessage(nodeHandshake),
			Data: json.RawMessage(`{"_admin":{"clientId":"0123456789ab","transport":"polling"},"user":"alice"}`)},
			socketJSON{ID: "n1", ClientID: "0123456789ab", Transport: "polling", Nsp: "/", Data: json.RawMessage(`{"user":"alice"}`), Rooms: []string{"n1"},
				Handshake: handshakeJSON{Address: "1.2.3.4", Headers: map[string]string{"user-agent": "node", "cf-connecting-ip": "1.2.3.4"},
					Query: map[string]any{"EIO": "4", "transport": "polling"}, Issued: 1796526522000,
					Time: "Sun Dec 06 2026 03:08:42 GMT+0000 (Coordinated Universal Time)", Secure: true,
					URL: "/socket.io/?EIO=4&transport=polling"}}},
		{"nothing known", room.SocketInfo{ID: "x", Data: json.RawMessage(`null`)},
			socketJSON{ID: "x", Nsp: "/", Data: json.RawMessage(`{}`), Rooms: []string{},
				Handshake: handshakeJSON{Headers: map[string]string{}, Query: map[string]any{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := serializeRemote(tc.info, "/", known)
			assert.JSONEq(t, string(tc.want.Data), string(got.Data))
			got.Data, tc.want.Data = nil, nil
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzSerializeRemote: whatever another node sends, describing its socket
// neither panics nor yields JSON the UI cannot read.
func FuzzSerializeRemote(f *testing.F) {
	f.Add(goHandshake, `{"user":"bob"}`)
	f.Add(nodeHandshake, `{"_admin":{"clientId":"0123456789ab","transport":"polling"}}`)
	f.Add(`{"headers":{"a":[1]},"query":{"q":{}},"time":5}`, `{"_admin":7}`)
	f.Add(`[]`, `"text"`)
	f.Add(`{}`, `not JSON`) // found by the fuzzer: broke the whole list
	f.Fuzz(func(t *testing.T, hs, data string) {
		out := serializeRemote(room.SocketInfo{ID: "id", Handshake: json.RawMessage(hs), Data: json.RawMessage(data)}, "/", nil)
		_, err := json.Marshal(out)
		require.NoError(t, err)
	})
}
