package socketio

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/go-realtime/realtime/transport"
)

// PacketType is the Socket.IO packet type, the first character of a packet.
type PacketType byte

// Socket.IO v5 packet types.
const (
	Connect      PacketType = 0
	Disconnect   PacketType = 1
	Event        PacketType = 2
	Ack          PacketType = 3
	ConnectError PacketType = 4
	BinaryEvent  PacketType = 5
	BinaryAck    PacketType = 6
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the name the protocol uses for t ("BINARY_EVENT").
func (t PacketType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether t is BinaryEvent or BinaryAck.
func (t PacketType) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one Socket.IO packet.
type Packet struct {
	Type PacketType
	// Namespace is "/" when the packet names none. Decoded namespaces always
	// start with '/'; they never contain ','.
	Namespace string
	// ID is the ack id, meaningful when HasID is set.
	//
	// The reference parser turns the id's text into a JavaScript number; when
	// that is not an integer (an id written with white space inside, "1 2")
	// or the id does not fit in a uint64, the packet is still accepted, but
	// HasID is false: it cannot be acknowledged.
	ID    uint64
	HasID bool
	// Data is the JSON payload exactly as received, nil when absent. In a
	// binary packet it still holds the placeholders
	// {"_placeholder":true,"num":N}; see [ResolveBinary] and [Unmarshal].
	// A decoded packet's Data aliases the decoded text.
	Data []byte
	// Attachments are the binary attachments of a BinaryEvent or BinaryAck,
	// in order. [Decode] returns a binary packet with one nil entry per
	// attachment announced (a [Decoder] fills them in). Encoding derives the
	// binary-ness from it: an Event or Ack with attachments is sent as a
	// BinaryEvent or BinaryAck, a BinaryEvent or BinaryAck without any as an
	// Event or Ack; other types never carry attachments.
	Attachments [][]byte
}

// Errors. Every decoding error wraps ErrInvalidPacket: the Socket.IO server
// closes the whole connection on any of them.
var (
	// ErrInvalidPacket means the peer sent something that is not a valid
	// Socket.IO packet, or frames in an order the protocol does not allow.
	ErrInvalidPacket = errors.New("socketio: invalid packet")
	// ErrTooManyAttachments means a binary packet announced more attachments
	// than Decoder.MaxAttachments. It wraps ErrInvalidPacket.
	ErrTooManyAttachments = fmt.Errorf("%w: too many attachments", ErrInvalidPacket)
	// ErrTooDeep means a payload nests arrays and objects deeper than
	// Decoder.MaxDepth. It wraps ErrInvalidPacket.
	ErrTooDeep = fmt.Errorf("%w: JSON nested too deep", ErrInvalidPacket)
)

func invalid(why string) error { return fmt.Errorf("%w: %s", ErrInvalidPacket, why) }

// wireType returns the type p is sent as and how many attachments go with it.
func wireType(p *Packet) (PacketType, int) {
	n := len(p.Attachments)
	switch p.Type {
	case Event, BinaryEvent:
		if n > 0 {
			return BinaryEvent, n
		}
		return Event, 0
	case Ack, BinaryAck:
		if n > 0 {
			return BinaryAck, n
		}
		return Ack, 0
	}
	return p.Type, 0
}

// AppendPacket appends the text encoding of p to dst and returns the extended
// buffer:
//
//	<type>[<len(Attachments)>-][<namespace>,][<id>][<Data>]
//
// (the namespace is left out when it is "" or "/"). It does not add the
// Engine.IO message type: start dst with it, AppendPacket([]byte{'4'}, p),
// to get a WebSocket text frame. It does not allocate when dst has room.
//
// AppendPacket trusts p: a namespace containing ',' or not starting with '/',
// or Data that is not valid for the type, gives a packet the peer rejects;
// check packets built from untrusted input with [Packet.Validate].
func AppendPacket(dst []byte, p *Packet) []byte {
	t, n := wireType(p)
	dst = append(dst, '0'+byte(t))
	if n > 0 {
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// EncodeFrames encodes p as the Engine.IO frames that carry it: first the
// text frame ('4' followed by [AppendPacket]'s encoding), then one binary
// frame per attachment. The binary frames share the attachments' memory;
// neither may be modified afterwards.
func EncodeFrames(p *Packet) []transport.Frame {
	_, n := wireType(p)
	size := 1 + 1 + 4 + len(p.Namespace) + 1 + 20 + len(p.Data)
	text := AppendPacket(append(make([]byte, 0, size), '4'), p)
	frames := make([]transport.Frame, 1+n)
	frames[0] = transport.Frame{Data: text}
	for i := 0; i < n; i++ {
		frames[1+i] = transport.Frame{Binary: true, Data: p.Attachments[i]}
	}
	return frames
}

// Validate reports whether p encodes to a packet the reference parser
// accepts: a known type, a namespace that is "" or starts with '/' and holds
// no ',', UTF-8 text, Data valid for the type (absent, or the JSON the
// decoder requires: an object for Connect, an array starting with a
// non-reserved event name for Event, ...), placeholders that point at
// existing attachments, and no attachments on types that carry none.
// The error wraps ErrInvalidPacket.
func (p *Packet) Validate() error {
	if p.Type > BinaryAck {
		return invalid("unknown packet type " + strconv.Itoa(int(p.Type)))
	}
	if p.Namespace != "" && p.Namespace != "/" {
		if p.Namespace[0] != '/' {
			return invalid("namespace must start with '/'")
		}
		for i := 0; i < len(p.Namespace); i++ {
			if p.Namespace[i] == ',' {
				return invalid("namespace must not contain ','")
			}
		}
		if !utf8.ValidString(p.Namespace) {
			return invalid("namespace is not valid UTF-8")
		}
	}
	t, n := wireType(p)
	if n == 0 && len(p.Attachments) > 0 {
		return invalid(p.Type.String() + " packet cannot carry attachments")
	}
	if len(p.Data) == 0 {
		return nil
	}
	if !utf8.Valid(p.Data) {
		return invalid("payload is not valid UTF-8")
	}
	if err := checkPayload(t, p.Data, -1); err != nil {
		return err
	}
	if n > 0 {
		return checkPlaceholders(p.Data, n)
	}
	return nil
}
