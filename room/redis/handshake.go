package redis

import (
	"encoding/json"
	"strconv"
	"time"
)

// jsDateLayout is JavaScript's Date.prototype.toString, in UTC (the zone
// name is the one V8 prints for UTC).
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"

// nodeHandshake rewrites a Go socket's handshake as socket.io builds it,
// for the nodes that read it (Node.js code reads handshake.issued as a
// number of milliseconds and handshake.time as new Date().toString()):
// "time" in RFC 3339 becomes the JavaScript string and "issued" is added
// from it when missing. Anything else is passed as it is.
func nodeHandshake(raw json.RawMessage) json.RawMessage {
	var hs map[string]json.RawMessage
	if json.Unmarshal(raw, &hs) != nil || hs == nil {
		return raw
	}
	var s string
	if json.Unmarshal(hs["time"], &s) != nil {
		return raw
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return raw
	}
	hs["time"], _ = json.Marshal(t.UTC().Format(jsDateLayout))
	if _, ok := hs["issued"]; !ok {
		hs["issued"] = json.RawMessage(strconv.FormatInt(t.UnixMilli(), 10))
	}
	out, err := json.Marshal(hs)
	if err != nil {
		return raw
	}
	return out
}
