package socketio

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// Defaults of the Decoder limits, also used by [Decode].
const (
	// DefaultMaxAttachments is the reference parser's default.
	DefaultMaxAttachments = 10
	// DefaultMaxDepth bounds the nesting of arrays and objects in a payload.
	// The reference has no such limit (V8's JSON.parse is iterative); 32
	// levels are far more than events carry and keep a hostile peer from
	// making any recursive consumer of the payload work hard.
	DefaultMaxDepth = 32
	// maxAttachmentsCap bounds MaxAttachments: a decoded binary packet holds
	// one slot per announced attachment.
	maxAttachmentsCap = 1 << 16
)

// reserved are the event names the reference refuses in EVENT packets.
var reserved = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// Decode decodes one Socket.IO text packet, without the Engine.IO message
// type '4' in front, with the default limits (DefaultMaxAttachments,
// DefaultMaxDepth). A binary packet comes back with len(Attachments) nil
// slots, one per attachment still to be received; use a [Decoder] to collect
// them. The returned packet's Data aliases text.
func Decode(text []byte) (*Packet, error) {
	p := new(Packet)
	if err := decode(p, text, DefaultMaxAttachments, DefaultMaxDepth, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// decode implements the reference's Decoder.decodeString. The reference walks
// UTF-16 code units; we walk bytes, stepping over whole runes wherever a
// non-ASCII character can matter (only JavaScript white space can), which
// gives the same result for valid UTF-8.
//
// It writes the packet to p, which is left alone on error.
func decode(p *Packet, text []byte, maxAtt, maxDepth int, nspCache *string) error {
	if len(text) == 0 {
		return invalid("empty packet")
	}
	if !utf8.Valid(text) {
		return invalid("not valid UTF-8")
	}

	// Type: Number(first char). Digits give themselves; JavaScript white
	// space converts to 0, so it reads as CONNECT.
	var t PacketType
	pos := 1 // index of the next character to look at
	if c := text[0]; c >= '0' && c <= '9' {
		if c > '6' {
			return invalid("unknown packet type " + string(c))
		}
		t = PacketType(c - '0')
	} else {
		r, size := utf8.DecodeRune(text)
		if !isJSSpace(r) {
			return invalid("unknown packet type")
		}
		t, pos = Connect, size
	}

	// Attachments: everything up to the first '-' must convert to an
	// integer from 1 to maxAtt.
	natt := 0
	if t.IsBinary() {
		dash := bytes.IndexByte(text[pos:], '-')
		if dash < 0 {
			return invalid("illegal attachments")
		}
		v, ok := jsNumber(text[pos : pos+dash])
		if !ok || math.IsInf(v, 0) || v != math.Trunc(v) || v < 1 {
			return invalid("illegal attachments")
		}
		if v > float64(maxAtt) {
			return ErrTooManyAttachments
		}
		natt = int(v)
		pos += dash + 1
	}

	// Namespace: from a '/' right here up to ',' or the end.
	nsp := "/"
	if pos < len(text) && text[pos] == '/' {
		end := bytes.IndexByte(text[pos:], ',')
		var b []byte
		if end < 0 {
			b, pos = text[pos:], len(text)
		} else {
			b, pos = text[pos:pos+end], pos+end+1
		}
		switch {
		case len(b) == 1:
			// "/": no allocation
		case nspCache == nil:
			nsp = string(b)
		case string(b) == *nspCache:
			nsp = *nspCache
		default:
			nsp = string(b)
			*nspCache = nsp
		}
	}

	// Ack id: the run of characters Number() accepts one by one (digits and
	// white space), converted as a whole.
	var id uint64
	hasID := false
	if pos < len(text) && isNumChar(text, pos) {
		start := pos
		for pos < len(text) && isNumChar(text, pos) {
			if text[pos] < utf8.RuneSelf {
				pos++
			} else {
				_, size := utf8.DecodeRune(text[pos:])
				pos += size
			}
		}
		id, hasID = parseID(text[start:pos])
	}

	var data []byte
	if pos < len(text) {
		data = text[pos:]
		if err := checkPayload(t, data, maxDepth); err != nil {
			return err
		}
	}
	*p = Packet{Type: t, Namespace: nsp, ID: id, HasID: hasID, Data: data}
	if natt > 0 {
		p.Attachments = make([][]byte, natt)
	}
	return nil
}

// CheckPayload reports whether data, a present payload in valid UTF-8, is
// one the decoder accepts for a packet of type t (an object for Connect, an
// array starting with a non-reserved event name for Event, ...), as
// [Packet.Validate] checks it. Other codecs that produce packets in this
// package's form (msgpack) apply it to what they decoded. The error wraps
// ErrInvalidPacket. maxDepth bounds the nesting of arrays and objects as
// Decoder.MaxDepth does (< 0: no bound of our own).
func CheckPayload(t PacketType, data []byte, maxDepth int) error {
	return checkPayload(t, data, maxDepth)
}

// checkPayload applies the reference's isPayloadValid to a present payload.
// maxDepth < 0 means no limit beyond encoding/json's own.
func checkPayload(t PacketType, data []byte, maxDepth int) error {
	if t == Disconnect {
		return invalid("DISCONNECT takes no payload")
	}
	if maxDepth >= 0 && depthExceeds(data, maxDepth) {
		return ErrTooDeep
	}
	if !json.Valid(data) {
		return invalid("payload is not valid JSON")
	}
	i := skipWS(data, 0)
	c := data[i]
	switch t {
	case Connect:
		if c == '{' {
			return nil
		}
		return invalid("CONNECT payload must be an object")
	case ConnectError:
		if c == '{' || c == '"' {
			return nil
		}
		return invalid("CONNECT_ERROR payload must be an object or a string")
	case Ack, BinaryAck:
		if c == '[' {
			return nil
		}
		return invalid(t.String() + " payload must be an array")
	case Event, BinaryEvent:
		if c != '[' {
			return invalid(t.String() + " payload must be an array")
		}
		i = skipWS(data, i+1)
		switch c := data[i]; {
		case c == '-' || c >= '0' && c <= '9':
			return nil // numeric event names are allowed
		case c == '"':
			end := skipString(data, i)
			name := data[i+1 : end-1]
			for _, r := range reserved {
				if jsonStringEq(name, r) {
					return invalid("reserved event name " + r)
				}
			}
			return nil
		}
		return invalid(t.String() + " name must be a string or a number")
	}
	return invalid("unknown packet type")
}

// depthExceeds reports whether arrays and objects in b nest deeper than max.
func depthExceeds(b []byte, max int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			end := skipString(b, i)
			if end < 0 {
				return false // unterminated: json.Valid rejects it
			}
			i = end - 1
		case '[', '{':
			depth++
			if depth > max {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// isJSSpace reports whether JavaScript's Number() skips r as white space
// (WhiteSpace and LineTerminator of ECMA-262).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isNumChar reports whether the character at b[i] converts to a number on
// its own in JavaScript (Number(c) == c): a digit or white space.
func isNumChar(b []byte, i int) bool {
	c := b[i]
	if c < utf8.RuneSelf {
		return c >= '0' && c <= '9' || isJSSpace(rune(c))
	}
	r, _ := utf8.DecodeRune(b[i:])
	return isJSSpace(r)
}

// trimJSSpace trims JavaScript white space from both ends of b.
func trimJSSpace(b []byte) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if !isJSSpace(r) {
			break
		}
		b = b[size:]
	}
	for len(b) > 0 {
		r, size := utf8.DecodeLastRune(b)
		if !isJSSpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}

// parseID converts a run of digits and white space as Number() would, and
// reports whether the result is an integer that fits in a uint64.
func parseID(run []byte) (uint64, bool) {
	run = trimJSSpace(run)
	var id uint64
	for _, c := range run {
		if c < '0' || c > '9' {
			return 0, false // white space inside: NaN
		}
		if id > (math.MaxUint64-9)/10 {
			// Might still fit; let strconv decide exactly.
			v, err := strconv.ParseUint(string(run), 10, 64)
			if err != nil {
				return 0, false
			}
			return v, true
		}
		id = id*10 + uint64(c-'0')
	}
	return id, true
}

// jsNumber converts b as JavaScript's Number(string) does; ok is false for
// NaN.
func jsNumber(b []byte) (v float64, ok bool) {
	b = trimJSSpace(b)
	if len(b) == 0 {
		return 0, true
	}
	if len(b) > 2 && b[0] == '0' {
		base := 0
		switch b[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			for _, c := range b[2:] {
				d := digitVal(c)
				if d >= base {
					return 0, false
				}
				v = v*float64(base) + float64(d)
			}
			return v, true
		}
	}
	s := b
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	if string(s) == "Infinity" {
		if b[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	// StrDecimalLiteral: digits [. digits] | . digits, then [eE][+-]digits.
	i, intDigits, fracDigits := 0, 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, intDigits = i+1, intDigits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, fracDigits = i+1, fracDigits+1
		}
	}
	if intDigits+fracDigits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expDigits := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, expDigits = i+1, expDigits+1
		}
		if expDigits == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	// The syntax checked above is a subset of what ParseFloat takes; out of
	// range values come back as ±Inf or 0, as in JavaScript.
	v, _ = strconv.ParseFloat(string(b), 64)
	return v, true
}

func digitVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}
