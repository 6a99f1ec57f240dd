package msgpack

// The packet codec of socket.io-msgpack-parser 3: each Socket.IO packet is
// one binary Engine.IO message, the msgpack encoding (by notepack.io) of the
// packet object {type, data, nsp, id}. Binary arguments are bin values
// inside data, so there are no BINARY_EVENT or BINARY_ACK packets and no
// attachments on the wire; this package turns them into a socketio.Packet's
// placeholders and attachments and back.

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/transport"
)

// wireType is the type socket.io-msgpack-parser sends for t: it has no
// binary types.
func wireType(t socketio.PacketType) socketio.PacketType {
	switch t {
	case socketio.BinaryEvent:
		return socketio.Event
	case socketio.BinaryAck:
		return socketio.Ack
	}
	return t
}

// AppendPacket appends p as socket.io-msgpack-parser encodes it: a map
// {type, data, id, nsp}, with data (when p has any) transcoded from JSON,
// its placeholders replaced by p's attachments as bin values, id when
// p.HasID, and nsp always ("/" for ""). An error means p.Data is not valid
// JSON or a placeholder names a missing attachment; dst is then returned
// unchanged.
func AppendPacket(dst []byte, p *socketio.Packet) ([]byte, error) {
	n0 := len(dst)
	fields := 2
	if len(p.Data) > 0 {
		fields++
	}
	if p.HasID {
		fields++
	}
	dst = AppendMapLen(dst, fields)
	dst = AppendInt(AppendStr(dst, "type"), int64(wireType(p.Type)))
	if len(p.Data) > 0 {
		var err error
		if dst, err = AppendFromJSON(AppendStr(dst, "data"), p.Data, p.Attachments); err != nil {
			return dst[:n0], fmt.Errorf("msgpack: encode %s: %w", p.Type, err)
		}
	}
	if p.HasID {
		dst = AppendUint(AppendStr(dst, "id"), p.ID)
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	return AppendStr(AppendStr(dst, "nsp"), nsp), nil
}

// EncodeFrames encodes p as the single binary Engine.IO message that
// carries it (see [AppendPacket]).
func EncodeFrames(p *socketio.Packet) ([]transport.Frame, error) {
	size := 32 + len(p.Namespace) + len(p.Data)
	for _, a := range p.Attachments {
		size += 5 + len(a)
	}
	b, err := AppendPacket(make([]byte, 0, size), p)
	if err != nil {
		return nil, err
	}
	return []transport.Frame{{Binary: true, Data: b}}, nil
}

// Limits bound what [DecodePacket] accepts.
type Limits struct {
	// MaxAttachments is the most binary values a packet may hold (zero:
	// socketio.DefaultMaxAttachments; negative: none).
	MaxAttachments int
	// MaxDepth is the deepest nesting of arrays and maps in a packet's data,
	// counted as package socketio counts it in JSON (the data array is
	// level 1). Zero means socketio.DefaultMaxDepth.
	MaxDepth int
}

// ErrNotBinary is the error of a text message given to DecodePacket: the
// msgpack parser sends binary messages only. It wraps
// socketio.ErrInvalidPacket.
var ErrNotBinary = fmt.Errorf("%w: text message (the msgpack parser sends binary messages only)", socketio.ErrInvalidPacket)

// DecodePacket decodes one binary Engine.IO message of a client using
// socket.io-msgpack-parser into p, in package socketio's form: data as JSON
// (p.Data, freshly allocated), bin values as placeholders with their bytes
// in p.Attachments (the packet's type is then BinaryEvent or BinaryAck).
//
// It accepts what socket.io-msgpack-parser's decoder accepts (an integer
// type from 0 to 4, a string nsp, data that is absent or an object for
// CONNECT, absent for DISCONNECT, a string or object for CONNECT_ERROR, an
// array for EVENT and ACK, and an id that is absent or an integer), with
// these differences, all refusals of input the reference takes: an EVENT's
// data must also pass socketio.CheckPayload (its first element a string or
// number, not a reserved event name), as with the default parser; binary
// values only in EVENT and ACK data; an id that is not negative and fits
// in a uint64; a namespace in valid UTF-8; nesting and binary values within
// lim. On error p is left alone; the error wraps socketio.ErrInvalidPacket.
func DecodePacket(b []byte, lim Limits, p *socketio.Packet) error {
	maxAtt, maxDepth := lim.MaxAttachments, lim.MaxDepth
	switch {
	case maxAtt == 0:
		maxAtt = socketio.DefaultMaxAttachments
	case maxAtt < 0:
		maxAtt = 0
	}
	if maxDepth <= 0 {
		maxDepth = socketio.DefaultMaxDepth
	}
	var (
		typ    int64 = -1 // not a valid type
		nsp    string
		hasNsp bool
		data   []byte // nil: absent
		buf    []byte // data's memory, reused by a repeated field
		atts   [][]byte
		id     uint64
		hasID  bool
		badID  bool
	)
	r := NewReader(b, maxDepth) // data, at level 1 of the packet map, nests maxDepth deep at most
	n, err := r.MapLen()
	if err != nil {
		return invalid(err)
	}
	for range n {
		c, err := r.Peek()
		if err != nil {
			return invalid(err)
		}
		var key []byte
		if isStr(c) {
			if key, err = r.StrBytes(); err != nil {
				return invalid(err)
			}
		} else if err = r.Skip(); err != nil {
			return invalid(err)
		}
		// A field given twice counts once, with its last value, as in the
		// JavaScript object notepack.io builds.
		switch string(key) {
		case "type":
			var ok bool
			typ, ok, err = r.integer()
			if !ok {
				typ = -1
			}
		case "nsp":
			var s []byte
			if c, err = r.Peek(); err == nil {
				if hasNsp = isStr(c); hasNsp {
					s, err = r.StrBytes()
				} else {
					err = r.Skip()
				}
			}
			if err == nil && hasNsp {
				if !utf8.Valid(s) {
					return invalid(errors.New("namespace is not valid UTF-8"))
				}
				nsp = internNsp(s)
			}
		case "data":
			data, atts = nil, atts[:0]
			if r.undefined() {
				err = r.Skip()
				break
			}
			if buf == nil {
				buf = make([]byte, 0, 2*(len(b)-r.pos)+8)
			}
			data, err = r.appendJSON(buf[:0], &atts, 0)
			buf = data
		case "id":
			hasID, badID = false, false
			if r.undefined() {
				err = r.Skip()
				break
			}
			var v int64
			var ok bool
			v, ok, err = r.integer()
			badID = !ok || v < 0
			id, hasID = uint64(v), !badID
		default:
			err = r.Skip()
		}
		if err != nil {
			return invalid(err)
		}
	}
	if !r.Done() {
		return invalid(fmt.Errorf("%d trailing bytes", len(b)-r.pos))
	}
	if typ < int64(socketio.Connect) || typ > int64(socketio.ConnectError) {
		return invalid(errors.New("invalid packet type"))
	}
	if !hasNsp {
		return invalid(errors.New("invalid namespace"))
	}
	if badID {
		return invalid(errors.New("invalid packet id"))
	}
	t := socketio.PacketType(typ)
	if data == nil && t != socketio.Connect && t != socketio.Disconnect {
		return invalid(errors.New("invalid payload"))
	}
	if data != nil {
		if err := socketio.CheckPayload(t, data, maxDepth); err != nil {
			return err
		}
	}
	if len(atts) > 0 {
		switch {
		case t == socketio.Event:
			t = socketio.BinaryEvent
		case t == socketio.Ack:
			t = socketio.BinaryAck
		default:
			return invalid(fmt.Errorf("%s packet cannot carry binary data", t))
		}
		if len(atts) > maxAtt {
			return socketio.ErrTooManyAttachments
		}
	}
	if len(atts) == 0 {
		atts = nil
	}
	*p = socketio.Packet{Type: t, Namespace: nsp, ID: id, HasID: hasID, Data: data, Attachments: atts}
	return nil
}

// invalid wraps a decoding error in socketio.ErrInvalidPacket.
func invalid(err error) error {
	if errors.Is(err, socketio.ErrInvalidPacket) {
		return err
	}
	return fmt.Errorf("%w: msgpack: %w", socketio.ErrInvalidPacket, err)
}

// internNsp returns the main namespace's name without allocating.
func internNsp(s []byte) string {
	if string(s) == "/" {
		return "/"
	}
	return string(s)
}

// isStr reports whether c starts a msgpack str.
func isStr(c byte) bool { return c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb }

// undefined reports whether the next value is notepack's undefined
// (fixext 1 of type 0).
func (r *Reader) undefined() bool {
	return len(r.b)-r.pos >= 3 && r.b[r.pos] == 0xd4 && r.b[r.pos+1] == 0
}

// integer reads a number, reporting whether JavaScript's Number.isInteger
// accepts it and it fits in an int64; any other value is skipped, with ok
// false.
func (r *Reader) integer() (v int64, ok bool, err error) {
	c, err := r.Peek()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c < 0x80 || c >= 0xe0 || c >= 0xcc && c <= 0xce || c >= 0xd0 && c <= 0xd3:
		v, err := r.Int()
		return v, err == nil, err
	case c == 0xcf:
		r.pos++
		u, err := r.uintN(8)
		return int64(u), err == nil && u <= math.MaxInt64, err
	case c == 0xca || c == 0xcb:
		r.pos++
		var f float64
		if c == 0xca {
			u, err := r.uintN(4)
			if err != nil {
				return 0, false, err
			}
			f = float64(math.Float32frombits(uint32(u)))
		} else {
			u, err := r.uintN(8)
			if err != nil {
				return 0, false, err
			}
			f = math.Float64frombits(u)
		}
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false, nil // fractions, infinities, NaN, out of range
		}
		return int64(f), true, nil
	}
	return 0, false, r.Skip()
}
