package namespace

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/transport"
)

// Parser is how a server encodes Socket.IO packets for its clients, and
// decodes theirs: socket.io's parser option. Every client of a server must
// use the same one. The zero value is JSONParser.
type Parser uint8

const (
	// JSONParser is socket.io's default parser (socket.io-parser): a text
	// message per packet, binary arguments in binary messages after it.
	JSONParser Parser = iota
	// MsgpackParser is socket.io-msgpack-parser's: each packet is one
	// binary message, the MessagePack encoding of {type, data, nsp, id},
	// with binary arguments as bin values inside it. Clients must be
	// configured with it (socket.io-client's parser option:
	// parser: require("socket.io-msgpack-parser")).
	//
	// It accepts what socket.io-msgpack-parser accepts, except (as with
	// JSONParser) EVENTs whose name is not a string or number or is
	// reserved, and binary data outside EVENT and ACK packets, nesting
	// deeper than 32 levels or more binary values than MaxAttachments
	// (default 10). Handlers see the data as they would with JSONParser:
	// binary values as []byte arguments, Dates as ISO 8601 strings.
	MsgpackParser
)

// String returns "json" or "msgpack".
func (p Parser) String() string {
	switch p {
	case JSONParser:
		return "json"
	case MsgpackParser:
		return "msgpack"
	}
	return "Parser(" + strconv.Itoa(int(p)) + ")"
}

// encode encodes pkt as p sends it.
func (p Parser) encode(pkt *socketio.Packet) ([]transport.Frame, error) {
	if p == MsgpackParser {
		return encodeMsgpack(pkt.Type, pkt.Namespace, pkt.ID, pkt.HasID, pkt.Data, pkt.Attachments)
	}
	return socketio.EncodeFrames(pkt), nil
}

// encodeArgs encodes an EVENT or ACK built from Go values as p sends it.
func (p Parser) encodeArgs(a *socketio.ArgsPacket) ([]transport.Frame, error) {
	if p != MsgpackParser {
		return a.Frames()
	}
	data, atts, err := a.Data()
	if err != nil {
		return nil, err
	}
	return encodeMsgpack(a.Type, a.Namespace, a.ID, a.HasID, data, atts)
}

// encodeMsgpack encodes a packet with the msgpack parser. It hands the
// encoder copies of the namespace and of the attachments (the binary
// arguments of an emit): the encoder is recursive, so the compiler assumes
// that everything it is given escapes, and would otherwise move every
// emit's arguments to the heap, with the JSON parser too.
func encodeMsgpack(t socketio.PacketType, nsp string, id uint64, hasID bool, data []byte, atts [][]byte) ([]transport.Frame, error) {
	pkt := socketio.Packet{Type: t, Namespace: strings.Clone(nsp), ID: id, HasID: hasID, Data: data}
	if len(atts) > 0 {
		pkt.Attachments = make([][]byte, len(atts))
		for i, a := range atts {
			pkt.Attachments[i] = bytes.Clone(a)
		}
	}
	return msgpack.EncodeFrames(&pkt)
}
