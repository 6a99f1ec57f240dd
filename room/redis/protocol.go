package redis

import (
	"encoding/json"
	"github.com/go-realtime/realtime/internal/msgpack"
	"unsafe"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/room"
)

// Request types, as numbered by @socket.io/redis-adapter.
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// Socket.IO packet types used in broadcast messages.
const (
	packetEvent       = 2
	packetBinaryEvent = 5
)

// roomList is a JSON list of rooms; socket.io rooms may be numbers, which
// are read as their text. It encodes as [] when empty, never null.
type roomList []string

func (l *roomList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			s = string(r) // a number (or other scalar) room
		}
		out = append(out, s)
	}
	*l = out
	return nil
}

func (l roomList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]string(l))
}

// wireOpts select sockets in a request.
type wireOpts struct {
	Rooms  roomList `json:"rooms"`
	Except roomList `json:"except"`
}

func (o *wireOpts) options() room.Options {
	if o == nil {
		return room.Options{}
	}
	return room.Options{Rooms: o.Rooms, Except: o.Except}
}

func toWire(opts room.Options) *wireOpts {
	return &wireOpts{Rooms: roomList(opts.Rooms), Except: roomList(opts.Except)}
}

// jsonRequest is every JSON request, sent or received.
type jsonRequest struct {
	UID       string          `json:"uid"`
	RequestID string          `json:"requestId,omitempty"`
	Type      int             `json:"type"`
	Opts      *wireOpts       `json:"opts,omitempty"`
	Rooms     *roomList       `json:"rooms,omitempty"`
	Close     bool            `json:"close,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	// Packet is a broadcast sent as JSON (by a Node adapter configured
	// with a JSON parser): no binary.
	Packet *struct {
		Type int             `json:"type"`
		Data json.RawMessage `json:"data"`
		Nsp  string          `json:"nsp"`
	} `json:"packet,omitempty"`
	// The single-socket forms of REMOTE_JOIN/LEAVE/DISCONNECT of older
	// adapters.
	SID  string          `json:"sid,omitempty"`
	Room json.RawMessage `json:"room,omitempty"`
}

// jsonResponse is every JSON response received.
type jsonResponse struct {
	Type        int             `json:"type"`
	RequestID   string          `json:"requestId"`
	Sockets     json.RawMessage `json:"sockets"`
	Rooms       roomList        `json:"rooms"`
	ClientCount int             `json:"clientCount"`
	Data        json.RawMessage `json:"data"`
	// Args carries all of a Go node's answer arguments (Node.js nodes
	// answer with one, in Data).
	Args json.RawMessage `json:"args"`
}

// wireSocket describes a socket in a REMOTE_FETCH response.
type wireSocket struct {
	ID        string          `json:"id"`
	Handshake json.RawMessage `json:"handshake"`
	Rooms     roomList        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
}

func rawOr(v json.RawMessage, def string) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage(def)
	}
	return v
}

// firstArg splits a JSON array of answer arguments into the first one
// (what a Node.js node reads) and whether the array holds exactly one.
func firstArg(args json.RawMessage) (first json.RawMessage, single bool) {
	var buf [2][]byte
	all, err := socketio.AppendArgs(buf[:0], args)
	if err != nil || len(all) == 0 {
		return nil, false
	}
	return all[0], len(all) == 1
}

// answerArgs turns a received answer into the JSON array of its
// arguments: Args when a Go node sent it, else [Data], else [].
func answerArgs(args, data json.RawMessage) json.RawMessage {
	switch {
	case len(args) > 0:
		return args
	case len(data) > 0:
		return inArray(data)
	}
	return json.RawMessage("[]")
}

// inArray returns the JSON array holding the one value v.
func inArray(v []byte) []byte {
	out := make([]byte, 0, len(v)+2)
	return append(append(append(out, '['), v...), ']')
}

// bytesOf views s as bytes without copying; never write to them.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf views b as a string without copying, for a call that does not
// keep it while b may change.
func stringOf(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// decodedPacket is the packet of a broadcast message.
type decodedPacket struct {
	typ  int64
	nsp  string
	data []byte
	atts [][]byte
	ok   bool
}

// readPacket reads a msgpack socket.io packet {type, data, nsp, ...}.
func readPacket(r *msgpack.Reader) (decodedPacket, error) {
	var p decodedPacket
	p.nsp = "/"
	n, err := r.MapLen()
	if err != nil {
		return p, err
	}
	for range n {
		key, err := r.StrBytes()
		if err != nil {
			return p, err
		}
		switch string(key) {
		case "type":
			p.typ, err = r.Int()
		case "nsp":
			p.nsp, err = r.ScalarString()
		case "data":
			p.data, err = r.AppendJSON(nil, &p.atts)
			p.ok = err == nil
		default:
			err = r.Skip()
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// readOpts reads msgpack broadcast options {rooms, except, flags}.
func readOpts(r *msgpack.Reader) (room.Options, error) {
	var o room.Options
	n, err := r.MapLen()
	if err != nil {
		return o, err
	}
	for range n {
		key, err := r.StrBytes()
		if err != nil {
			return o, err
		}
		switch string(key) {
		case "rooms":
			o.Rooms, err = r.Strings()
		case "except":
			o.Except, err = r.Strings()
		case "flags":
			o.Flags, err = readFlags(r)
		default:
			err = r.Skip()
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func readFlags(r *msgpack.Reader) (room.Flags, error) {
	var f room.Flags
	n, err := r.MapLen()
	if err != nil {
		return f, err
	}
	for range n {
		key, err := r.StrBytes()
		if err != nil {
			return f, err
		}
		switch string(key) {
		case "volatile":
			f.Volatile, err = readFlag(r, false)
		case "compress":
			var compress bool
			compress, err = readFlag(r, true)
			f.NoCompress = !compress
		default:
			err = r.Skip()
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// readFlag reads a boolean flag; anything else (nil, a number) is def.
func readFlag(r *msgpack.Reader, def bool) (bool, error) {
	c, err := r.Peek()
	if err != nil {
		return def, err
	}
	if c == 0xc2 || c == 0xc3 {
		return r.Bool()
	}
	return def, r.Skip()
}

// appendOpts writes broadcast options as the Node adapter does.
func appendOpts(b []byte, opts room.Options, timeoutMS int64) []byte {
	b = msgpack.AppendMapLen(b, 3)
	b = msgpack.AppendStrings(msgpack.AppendStr(b, "rooms"), opts.Rooms)
	b = msgpack.AppendStrings(msgpack.AppendStr(b, "except"), opts.Except)
	b = msgpack.AppendStr(b, "flags")
	nf := 0
	if opts.Flags.Volatile {
		nf++
	}
	if timeoutMS > 0 {
		nf++
	}
	if opts.Flags.NoCompress {
		nf++
	}
	b = msgpack.AppendMapLen(b, nf)
	if opts.Flags.Volatile {
		b = msgpack.AppendBool(msgpack.AppendStr(b, "volatile"), true)
	}
	if opts.Flags.NoCompress {
		b = msgpack.AppendBool(msgpack.AppendStr(b, "compress"), false)
	}
	if timeoutMS > 0 {
		b = msgpack.AppendInt(msgpack.AppendStr(b, "timeout"), timeoutMS)
	}
	return b
}

// appendPacket writes a broadcast packet {type: EVENT, data, nsp}; binary
// arguments go inline as bin values (the type stays EVENT: socket.io
// decides on BINARY_EVENT when it encodes for its clients).
func appendPacket(b []byte, p *room.Packet, nsp string) ([]byte, error) {
	b = msgpack.AppendMapLen(b, 3)
	b = msgpack.AppendInt(msgpack.AppendStr(b, "type"), packetEvent)
	b = msgpack.AppendStr(b, "data")
	b, err := msgpack.AppendFromJSON(b, p.Data, p.Attachments)
	if err != nil {
		return b, err
	}
	return msgpack.AppendStr(msgpack.AppendStr(b, "nsp"), nsp), nil
}

// msgpackResponse is a decoded msgpack response (BROADCAST_ACK).
type msgpackResponse struct {
	typ       int64
	requestID string
	args      []byte // JSON array of the answer's arguments
	atts      [][]byte
}

func readMsgpackResponse(b []byte) (msgpackResponse, error) {
	var out msgpackResponse
	r := msgpack.NewReader(b, 0)
	n, err := r.MapLen()
	if err != nil {
		return out, err
	}
	var packet, args []byte
	var hasPacket bool
	for range n {
		key, err := r.StrBytes()
		if err != nil {
			return out, err
		}
		switch string(key) {
		case "type":
			out.typ, err = r.Int()
		case "requestId":
			out.requestID, err = r.ScalarString()
		case "packet":
			hasPacket = true
			packet, err = r.AppendJSON(nil, &out.atts)
		case "args":
			var atts [][]byte
			args, err = r.AppendJSON(nil, &atts)
			if err == nil && len(args) > 0 && args[0] == '[' {
				out.atts = atts // args wins over packet
			} else {
				args = nil
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return out, err
		}
	}
	switch {
	case args != nil:
		out.args = args
	case hasPacket:
		out.args = inArray(packet)
	default:
		out.args = []byte("[]")
	}
	return out, nil
}

// appendAckResponse writes a BROADCAST_ACK response: packet holds the
// first answer argument (all a Node.js requester reads); args holds them
// all when there is not exactly one.
func appendAckResponse(b []byte, requestID string, ack room.Ack) ([]byte, error) {
	arr, err := msgpack.AppendFromJSON(nil, ack.Data, ack.Attachments)
	if err != nil {
		return b, err
	}
	r := msgpack.NewReader(arr, 0)
	n, err := r.ArrayLen()
	if err != nil {
		return b, err
	}
	fields := 2
	if n > 0 {
		fields++
	}
	if n != 1 {
		fields++
	}
	b = msgpack.AppendMapLen(b, fields)
	b = msgpack.AppendInt(msgpack.AppendStr(b, "type"), reqBroadcastAck)
	b = msgpack.AppendStr(msgpack.AppendStr(b, "requestId"), requestID)
	if n > 0 {
		start := r.Offset()
		if err := r.Skip(); err != nil {
			return b, err
		}
		b = append(msgpack.AppendStr(b, "packet"), arr[start:r.Offset()]...)
	}
	if n != 1 {
		b = append(msgpack.AppendStr(b, "args"), arr...)
	}
	return b, nil
}
