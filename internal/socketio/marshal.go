package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/go-realtime/realtime/transport"
)

// RawArg is a JSON value received in a binary packet together with that
// packet's attachments, so that it can be sent on (echoed, forwarded) with
// its binary content: [MarshalArgs] writes JSON unchanged except for its
// placeholders, which it renumbers to point at the attachments it appends
// (only those the value refers to, each once).
type RawArg struct {
	JSON        []byte
	Attachments [][]byte
}

// maxMarshalDepth stops MarshalArgs on cyclic []any and map[string]any
// values, as encoding/json does after the same depth.
const maxMarshalDepth = 1000

// ErrUnsupportedValue is returned by MarshalArgs for values JSON cannot hold
// (NaN, infinities, cycles, invalid raw JSON, ...).
var ErrUnsupportedValue = errors.New("socketio: unsupported value")

// MarshalArgs appends args to dst as a JSON array and returns the extended
// buffer, with the attachments the array's placeholders refer to:
//
//   - a []byte becomes a placeholder {"_placeholder":true,"num":N} and is
//     appended to attachments (N is its index there), also inside []any and
//     map[string]any values at any depth; a nil or empty []byte is an empty
//     attachment;
//   - a json.RawMessage is written as it is, after checking that it is
//     valid JSON in valid UTF-8 (placeholders in it are not renumbered: use
//     RawArg for that);
//   - a RawArg is written with its placeholders renumbered, see [RawArg];
//   - anything else is written as encoding/json writes it (strings, numbers,
//     bools, nil, []any and map[string]any byte for byte like json.Marshal,
//     without allocating). So []byte fields of structs, and []byte inside
//     other types, follow encoding/json: a base64 string, not an attachment.
//     Send binary data as a top-level argument or inside []any or
//     map[string]any.
//
// attachments is nil when there is no binary data. On error dst is returned
// unchanged.
func MarshalArgs(dst []byte, args []any) (data []byte, attachments [][]byte, err error) {
	n0 := len(dst)
	dst = append(dst, '[')
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, attachments, err = appendValue(dst, attachments, a, 0); err != nil {
			return dst[:n0], nil, err
		}
	}
	return append(dst, ']'), attachments, nil
}

func appendValue(dst []byte, atts [][]byte, v any, depth int) ([]byte, [][]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case string:
		return AppendJSONString(dst, x), atts, nil
	case bool:
		return strconv.AppendBool(dst, x), atts, nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int64:
		return strconv.AppendInt(dst, x, 10), atts, nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), atts, nil
	case float64:
		return appendFloat(dst, atts, x, 64)
	case float32:
		return appendFloat(dst, atts, float64(x), 32)
	case []byte:
		return appendPlaceholder(dst, len(atts)), append(atts, x), nil
	case json.RawMessage:
		if len(x) == 0 {
			return append(dst, "null"...), atts, nil
		}
		if !validJSON(x) {
			return dst, atts, fmt.Errorf("%w: invalid json.RawMessage", ErrUnsupportedValue)
		}
		return append(dst, x...), atts, nil
	case RawArg:
		return appendRawArg(dst, atts, &x)
	case *RawArg:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendRawArg(dst, atts, x)
	case []any:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		if depth >= maxMarshalDepth {
			return dst, atts, fmt.Errorf("%w: nested too deep (a cycle?)", ErrUnsupportedValue)
		}
		dst = append(dst, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = appendValue(dst, atts, e, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		if depth >= maxMarshalDepth {
			return dst, atts, fmt.Errorf("%w: nested too deep (a cycle?)", ErrUnsupportedValue)
		}
		var buf [16]string
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		var err error
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, k)
			dst = append(dst, ':')
			if dst, atts, err = appendValue(dst, atts, x[k], depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, '}'), atts, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, atts, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return append(dst, b...), atts, nil
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

func appendRawArg(dst []byte, atts [][]byte, r *RawArg) ([]byte, [][]byte, error) {
	if !validJSON(r.JSON) {
		return dst, atts, fmt.Errorf("%w: invalid RawArg JSON", ErrUnsupportedValue)
	}
	if len(r.Attachments) == 0 || !mayHavePlaceholder(r.JSON) {
		return append(dst, r.JSON...), atts, nil
	}
	remap := make([]int, len(r.Attachments)) // old num -> new num + 1
	last := 0
	_, err := walkPlaceholders(r.JSON, 0, func(start, end int, ph placeholder) error {
		n, valid, ok := ph.index(len(r.Attachments))
		if !valid {
			return fmt.Errorf("%w: RawArg placeholder points at no attachment", ErrUnsupportedValue)
		}
		dst = append(dst, r.JSON[last:start]...)
		last = end
		if !ok {
			dst = append(dst, "null"...)
			return nil
		}
		if remap[n] == 0 {
			atts = append(atts, r.Attachments[n])
			remap[n] = len(atts)
		}
		dst = appendPlaceholder(dst, remap[n]-1)
		return nil
	})
	if err != nil {
		return dst, atts, err
	}
	return append(dst, r.JSON[last:]...), atts, nil
}

// validJSON reports whether b is JSON that can go in a text packet:
// json.Valid does not check UTF-8 inside strings.
func validJSON(b []byte) bool { return json.Valid(b) && utf8.Valid(b) }

// appendFloat writes f as encoding/json does.
func appendFloat(dst []byte, atts [][]byte, f float64, bits int) ([]byte, [][]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, atts, fmt.Errorf("%w: %v", ErrUnsupportedValue, f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 -> e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, atts, nil
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string exactly as encoding/json writes it
// (HTML-escaping <, > and &, escaping U+2028 and U+2029, replacing invalid
// UTF-8 with U+FFFD).
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ArgsPacket is an EVENT or ACK packet to be encoded from Go values, with
// [ArgsPacket.Frames].
type ArgsPacket struct {
	// Type is Event or Ack (BinaryEvent and BinaryAck mean the same: the
	// binary-ness follows from the arguments).
	Type PacketType
	// Namespace, ID and HasID are as in [Packet].
	Namespace string
	ID        uint64
	HasID     bool
	// Name is the event name, the array's first element; only for Event.
	Name string
	// Args are the arguments, encoded as [MarshalArgs] does.
	Args []any
	// Trusted lists JSON taken from a decoded packet (the raw elements
	// [SplitArgs] returned for it): a json.RawMessage argument that is one
	// of these very slices (same memory, same length) is written as it is,
	// instead of being validated again. Only top-level arguments are
	// compared.
	Trusted [][]byte
}

// Frames encodes the packet as [EncodeFrames] encodes the equivalent
// [Packet], building the text frame in a single buffer allocated once at
// its expected size. The binary frames share the attachments' memory.
func (a *ArgsPacket) Frames() ([]transport.Frame, error) {
	buf := make([]byte, 0, 1+1+len(a.Namespace)+1+20+a.dataSize())
	buf = append(buf, '4')
	hdr := Packet{Type: a.Type, Namespace: a.Namespace, ID: a.ID, HasID: a.HasID}
	buf = AppendPacket(buf, &hdr)
	start := len(buf)
	buf, atts, err := a.appendData(buf)
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		// The header announces the attachments: encode it again.
		p := Packet{Type: a.Type, Namespace: a.Namespace, ID: a.ID, HasID: a.HasID, Data: buf[start:], Attachments: atts}
		return EncodeFrames(&p), nil
	}
	return []transport.Frame{{Data: buf}}, nil
}

// Data returns the packet's payload, the JSON array of the name (for an
// Event) and the arguments, in a buffer allocated once at its expected
// size, with the attachments its placeholders point at, as [MarshalArgs].
func (a *ArgsPacket) Data() (data []byte, attachments [][]byte, err error) {
	return a.appendData(make([]byte, 0, a.dataSize()))
}

// dataSize guesses the length of the payload.
func (a *ArgsPacket) dataSize() int {
	size := 2 + len(a.Args)
	if a.Type == Event || a.Type == BinaryEvent {
		size += len(a.Name) + 3
	}
	for _, v := range a.Args {
		size += sizeHint(v)
	}
	return size
}

func (a *ArgsPacket) appendData(buf []byte) ([]byte, [][]byte, error) {
	event := a.Type == Event || a.Type == BinaryEvent
	buf = append(buf, '[')
	if event {
		buf = AppendJSONString(buf, a.Name)
	}
	var atts [][]byte
	for i, v := range a.Args {
		if i > 0 || event {
			buf = append(buf, ',')
		}
		if rm, ok := v.(json.RawMessage); ok && isTrusted(rm, a.Trusted) {
			buf = append(buf, rm...)
			continue
		}
		var err error
		if buf, atts, err = appendValue(buf, atts, v, 0); err != nil {
			return nil, nil, err
		}
	}
	return append(buf, ']'), atts, nil
}

// isTrusted reports whether rm is one of the slices in trusted.
func isTrusted(rm json.RawMessage, trusted [][]byte) bool {
	if len(rm) == 0 {
		return false
	}
	for _, t := range trusted {
		if len(t) == len(rm) && &t[0] == &rm[0] {
			return true
		}
	}
	return false
}

// sizeHint guesses the length of v's encoding.
func sizeHint(v any) int {
	switch x := v.(type) {
	case string:
		return len(x) + 2
	case json.RawMessage:
		return len(x) + 4
	case RawArg:
		return len(x.JSON)
	case *RawArg:
		if x != nil {
			return len(x.JSON)
		}
	case []byte:
		return 32
	}
	return 24
}
