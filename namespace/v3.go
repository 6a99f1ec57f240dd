package namespace

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/go-realtime/realtime/internal/socketio"
)

// What differs for a client of Socket.IO protocol 4 (socket.io-client
// 2.x over Engine.IO revision 3, accepted with the hub's AllowEIO3), as
// socket.io 4.8 handles it; see Client.v3ID.

// splitV3Namespace strips the query from the namespace of p, which a
// protocol 4 client may append to it ("/chat?token=abc"), and returns the
// query as the auth of a CONNECT: a JSON object of its parameters, a
// string each, or an array of strings for a parameter given more than
// once (socket.io 4.8 parses it with Node's url.parse). Without a query it
// returns nil (Handshake.Auth is then {}).
func splitV3Namespace(p *socketio.Packet) json.RawMessage {
	name, query, found := strings.Cut(p.Namespace, "?")
	if !found {
		return nil
	}
	if name == "" {
		name = "/"
	}
	p.Namespace = name
	if p.Type != socketio.Connect {
		return nil
	}
	values, _ := url.ParseQuery(query) // what parses, as Node keeps what it can
	obj := make(map[string]any, len(values))
	for k, v := range values {
		if len(v) == 1 {
			obj[k] = v[0]
		} else {
			obj[k] = v
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	return b
}

// v3SocketID is the id socket.io 4.8 gives a protocol 4 client's socket,
// the one socket.io-client 2.x computes on its side: the Engine.IO session
// id in "/", "<namespace>#<session id>" elsewhere.
func v3SocketID(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}

// payloadV3 is the CONNECT_ERROR payload for a protocol 4 client: the
// error's Data when it has some, else its message (a JSON string), as
// socket.io 4.8 sends err.data || err.message (so Data that JavaScript
// takes as false, such as "", 0 or false, gives way to the message too).
func (e *ConnectError) payloadV3() []byte {
	if e.Data != nil {
		b, err := json.Marshal(e.Data)
		if err == nil && !jsFalsy(b) {
			return b
		}
	}
	b, _ := json.Marshal(e.Message)
	return b
}

// jsFalsy reports whether JSON value b is one JavaScript takes as false.
func jsFalsy(b []byte) bool {
	switch string(b) {
	case "null", "false", `""`, "0":
		return true
	}
	return false
}
