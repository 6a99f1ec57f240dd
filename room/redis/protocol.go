package redis

import (
	"encoding/json"
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
func readPacket(r *mpReader) (decodedPacket, error) {
	var p decodedPacket
	p.nsp = "/"
	n, err := r.mapLen()
	if err != nil {
		return p, err
	}
	for range n {
		key, err := r.strBytes()
		if err != nil {
			return p, err
		}
		switch string(key) {
		case "type":
			p.typ, err = r.int()
		case "nsp":
			p.nsp, err = r.scalarString()
		case "data":
			p.data, err = r.appendJSON(nil, &p.atts, 0)
			p.ok = err == nil
		default:
			err = r.skip()
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// readOpts reads msgpack broadcast options {rooms, except, flags}.
func readOpts(r *mpReader) (room.Options, error) {
	var o room.Options
	n, err := r.mapLen()
	if err != nil {
		return o, err
	}
	for range n {
		key, err := r.strBytes()
		if err != nil {
			return o, err
		}
		switch string(key) {
		case "rooms":
			o.Rooms, err = r.strings()
		case "except":
			o.Except, err = r.strings()
		case "flags":
			o.Flags, err = readFlags(r)
		default:
			err = r.skip()
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func readFlags(r *mpReader) (room.Flags, error) {
	var f room.Flags
	n, err := r.mapLen()
	if err != nil {
		return f, err
	}
	for range n {
		key, err := r.strBytes()
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
			err = r.skip()
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// readFlag reads a boolean flag; anything else (nil, a number) is def.
func readFlag(r *mpReader, def bool) (bool, error) {
	c, err := r.peek()
	if err != nil {
		return def, err
	}
	if c == 0xc2 || c == 0xc3 {
		return r.bool()
	}
	return def, r.skip()
}

// appendOpts writes broadcast options as the Node adapter does.
func appendOpts(b []byte, opts room.Options, timeoutMS int64) []byte {
	b = appendMapLen(b, 3)
	b = appendStrings(appendStr(b, "rooms"), opts.Rooms)
	b = appendStrings(appendStr(b, "except"), opts.Except)
	b = appendStr(b, "flags")
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
	b = appendMapLen(b, nf)
	if opts.Flags.Volatile {
		b = appendBool(appendStr(b, "volatile"), true)
	}
	if opts.Flags.NoCompress {
		b = appendBool(appendStr(b, "compress"), false)
	}
	if timeoutMS > 0 {
		b = appendInt(appendStr(b, "timeout"), timeoutMS)
	}
	return b
}

// appendPacket writes a broadcast packet {type: EVENT, data, nsp}; binary
// arguments go inline as bin values (the type stays EVENT: socket.io
// decides on BINARY_EVENT when it encodes for its clients).
func appendPacket(b []byte, p *room.Packet, nsp string) ([]byte, error) {
	b = appendMapLen(b, 3)
	b = appendInt(appendStr(b, "type"), packetEvent)
	b = appendStr(b, "data")
	b, err := appendJSONAsMsgpack(b, p.Data, p.Attachments)
	if err != nil {
		return b, err
	}
	return appendStr(appendStr(b, "nsp"), nsp), nil
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
	r := mpReader{b: b}
	n, err := r.mapLen()
	if err != nil {
		return out, err
	}
	var packet, args []byte
	var hasPacket bool
	for range n {
		key, err := r.strBytes()
		if err != nil {
			return out, err
		}
		switch string(key) {
		case "type":
			out.typ, err = r.int()
		case "requestId":
			out.requestID, err = r.scalarString()
		case "packet":
			hasPacket = true
			packet, err = r.appendJSON(nil, &out.atts, 0)
		case "args":
			var atts [][]byte
			args, err = r.appendJSON(nil, &atts, 0)
			if err == nil && len(args) > 0 && args[0] == '[' {
				out.atts = atts // args wins over packet
			} else {
				args = nil
			}
		default:
			err = r.skip()
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
	arr, err := appendJSONAsMsgpack(nil, ack.Data, ack.Attachments)
	if err != nil {
		return b, err
	}
	r := mpReader{b: arr}
	n, err := r.arrayLen()
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
	b = appendMapLen(b, fields)
	b = appendInt(appendStr(b, "type"), reqBroadcastAck)
	b = appendStr(appendStr(b, "requestId"), requestID)
	if n > 0 {
		start := r.pos
		if err := r.skip(); err != nil {
			return b, err
		}
		b = append(appendStr(b, "packet"), arr[start:r.pos]...)
	}
	if n != 1 {
		b = append(appendStr(b, "args"), arr...)
	}
	return b, nil
}
