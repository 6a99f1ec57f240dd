// Package msgpack is a small MessagePack codec, just what Socket.IO needs:
// notepack.io (the codec of socket.io-msgpack-parser and of the socket.io
// Redis adapter) on one side, the JSON-with-placeholders packets of package
// socketio on the other. Values are transcoded directly between the two
// forms, without an intermediate tree: a JSON binary placeholder
// {"_placeholder":true,"num":N} becomes a msgpack bin holding attachment N,
// and back.
//
// The room/redis adapter uses the value codec ([Reader], [AppendFromJSON]
// and the Append functions) for its messages; [DecodePacket] and
// [EncodeFrames] are the packet codec of socket.io-msgpack-parser, which
// the namespace package uses when a hub is configured with it.
package msgpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/go-realtime/realtime/internal/socketio"
)

// ErrMalformed reports undecodable MessagePack (or JSON) input.
var ErrMalformed = errors.New("msgpack: malformed message")

// DefaultMaxDepth bounds the nesting of transcoded values when the caller
// gives no bound of its own.
const DefaultMaxDepth = 256

// maxJSONDepth bounds the nesting of the JSON AppendFromJSON transcodes:
// encoding/json's own bound, past socketio.MarshalArgs's, so that whatever
// the server encoded as JSON (or accepted from a client or another node,
// within their tighter bounds) also encodes as msgpack.
const maxJSONDepth = 10000

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ---- writer ----------------------------------------------------------------

func AppendNil(b []byte) []byte { return append(b, 0xc0) }

func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// appendInt writes v in its smallest encoding, as notepack.io does.
func AppendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return AppendUint(b, uint64(v))
	}
	switch {
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func AppendUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func AppendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func AppendStr(b []byte, s string) []byte { return append(AppendStrHeader(b, len(s)), s...) }

func AppendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

func AppendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func AppendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

func AppendStrings(b []byte, ss []string) []byte {
	b = AppendArrayLen(b, len(ss))
	for _, s := range ss {
		b = AppendStr(b, s)
	}
	return b
}

// patchLen writes the header of an array (base 0x90) or map (base 0x80)
// of n elements at b[h], where one byte was reserved, moving the elements
// when a longer header is needed.
func patchLen(b []byte, h int, n int, base byte) []byte {
	if n < 16 {
		b[h] = base | byte(n)
		return b
	}
	extra := 2
	if n > math.MaxUint16 {
		extra = 4
	}
	b = append(b, make([]byte, extra)...)
	copy(b[h+1+extra:], b[h+1:len(b)-extra])
	code16, code32 := byte(0xdc), byte(0xdd) // array
	if base == 0x80 {
		code16, code32 = 0xde, 0xdf // map
	}
	if extra == 2 {
		b[h] = code16
		binary.BigEndian.PutUint16(b[h+1:], uint16(n))
	} else {
		b[h] = code32
		binary.BigEndian.PutUint32(b[h+1:], uint32(n))
	}
	return b
}

// ---- JSON -> msgpack ---------------------------------------------------------

// appendJSONAsMsgpack transcodes one JSON value to msgpack, turning binary
// placeholders into bin values taken from atts. Numbers become integers
// when they are whole (as in JavaScript), floats otherwise.
func AppendFromJSON(dst, src []byte, atts [][]byte) ([]byte, error) {
	t := jsonTranscoder{src: src, atts: atts}
	dst, err := t.value(dst, 0)
	if err != nil {
		return dst, err
	}
	t.ws()
	if t.pos != len(t.src) {
		return dst, malformed("JSON: trailing data at %d", t.pos)
	}
	return dst, nil
}

type jsonTranscoder struct {
	src     []byte
	pos     int
	atts    [][]byte
	scratch []byte
}

func (t *jsonTranscoder) ws() {
	for t.pos < len(t.src) {
		switch t.src[t.pos] {
		case ' ', '\t', '\n', '\r':
			t.pos++
		default:
			return
		}
	}
}

func (t *jsonTranscoder) value(dst []byte, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return dst, malformed("JSON nested too deeply")
	}
	t.ws()
	if t.pos >= len(t.src) {
		return dst, malformed("JSON: unexpected end")
	}
	switch c := t.src[t.pos]; {
	case c == '{':
		// Without attachments there are no placeholders (as in the codec):
		// objects that look like one are plain objects.
		if len(t.atts) == 0 {
			return t.object(dst, depth)
		}
		if num, end, ok := t.placeholder(); ok {
			if num >= len(t.atts) {
				return dst, malformed("placeholder %d without attachment", num)
			}
			t.pos = end
			return AppendBin(dst, t.atts[num]), nil
		}
		return t.object(dst, depth)
	case c == '[':
		return t.array(dst, depth)
	case c == '"':
		s, err := t.str()
		if err != nil {
			return dst, err
		}
		return append(AppendStrHeader(dst, len(s)), s...), nil
	case c == 't':
		return t.literal(dst, "true", 0xc3)
	case c == 'f':
		return t.literal(dst, "false", 0xc2)
	case c == 'n':
		return t.literal(dst, "null", 0xc0)
	case c == '-' || (c >= '0' && c <= '9'):
		return t.number(dst)
	default:
		return dst, malformed("JSON: unexpected %q at %d", c, t.pos)
	}
}

func (t *jsonTranscoder) literal(dst []byte, word string, code byte) ([]byte, error) {
	if len(t.src)-t.pos < len(word) || string(t.src[t.pos:t.pos+len(word)]) != word {
		return dst, malformed("JSON: bad literal at %d", t.pos)
	}
	t.pos += len(word)
	return append(dst, code), nil
}

func (t *jsonTranscoder) array(dst []byte, depth int) ([]byte, error) {
	t.pos++ // [
	h := len(dst)
	dst = append(dst, 0)
	n := 0
	t.ws()
	if t.pos < len(t.src) && t.src[t.pos] == ']' {
		t.pos++
		return patchLen(dst, h, 0, 0x90), nil
	}
	for {
		var err error
		if dst, err = t.value(dst, depth+1); err != nil {
			return dst, err
		}
		n++
		t.ws()
		if t.pos >= len(t.src) {
			return dst, malformed("JSON: unterminated array")
		}
		switch t.src[t.pos] {
		case ',':
			t.pos++
		case ']':
			t.pos++
			return patchLen(dst, h, n, 0x90), nil
		default:
			return dst, malformed("JSON: unexpected %q in array", t.src[t.pos])
		}
	}
}

func (t *jsonTranscoder) object(dst []byte, depth int) ([]byte, error) {
	t.pos++ // {
	h := len(dst)
	dst = append(dst, 0)
	n := 0
	t.ws()
	if t.pos < len(t.src) && t.src[t.pos] == '}' {
		t.pos++
		return patchLen(dst, h, 0, 0x80), nil
	}
	for {
		t.ws()
		if t.pos >= len(t.src) || t.src[t.pos] != '"' {
			return dst, malformed("JSON: object key expected at %d", t.pos)
		}
		key, err := t.str()
		if err != nil {
			return dst, err
		}
		dst = append(AppendStrHeader(dst, len(key)), key...)
		t.ws()
		if t.pos >= len(t.src) || t.src[t.pos] != ':' {
			return dst, malformed("JSON: ':' expected at %d", t.pos)
		}
		t.pos++
		if dst, err = t.value(dst, depth+1); err != nil {
			return dst, err
		}
		n++
		t.ws()
		if t.pos >= len(t.src) {
			return dst, malformed("JSON: unterminated object")
		}
		switch t.src[t.pos] {
		case ',':
			t.pos++
		case '}':
			t.pos++
			return patchLen(dst, h, n, 0x80), nil
		default:
			return dst, malformed("JSON: unexpected %q in object", t.src[t.pos])
		}
	}
}

// placeholder reports whether the object at t.pos is exactly a binary
// placeholder, {"_placeholder":true,"num":N} with its members in any order.
func (t *jsonTranscoder) placeholder() (num, end int, ok bool) {
	p := t.pos + 1
	skip := func() {
		for p < len(t.src) && (t.src[p] == ' ' || t.src[p] == '\t' || t.src[p] == '\n' || t.src[p] == '\r') {
			p++
		}
	}
	sawFlag, sawNum := false, false
	num = -1
	for i := 0; i < 2; i++ {
		skip()
		if p >= len(t.src) || t.src[p] != '"' {
			return 0, 0, false
		}
		q := p + 1
		for q < len(t.src) && t.src[q] != '"' && t.src[q] != '\\' {
			q++
		}
		if q >= len(t.src) || t.src[q] != '"' {
			return 0, 0, false
		}
		key := string(t.src[p+1 : q])
		p = q + 1
		skip()
		if p >= len(t.src) || t.src[p] != ':' {
			return 0, 0, false
		}
		p++
		skip()
		switch {
		case key == "_placeholder" && !sawFlag:
			if len(t.src)-p < 4 || string(t.src[p:p+4]) != "true" {
				return 0, 0, false
			}
			p += 4
			sawFlag = true
		case key == "num" && !sawNum:
			start := p
			n := 0
			for p < len(t.src) && t.src[p] >= '0' && t.src[p] <= '9' && p-start < 6 {
				n = n*10 + int(t.src[p]-'0')
				p++
			}
			if p == start || (p < len(t.src) && (t.src[p] >= '0' && t.src[p] <= '9' || t.src[p] == '.' || t.src[p] == 'e' || t.src[p] == 'E')) {
				return 0, 0, false
			}
			num = n
			sawNum = true
		default:
			return 0, 0, false
		}
		skip()
		if p >= len(t.src) {
			return 0, 0, false
		}
		if i == 0 {
			if t.src[p] != ',' {
				return 0, 0, false
			}
			p++
		} else if t.src[p] != '}' {
			return 0, 0, false
		}
	}
	return num, p + 1, true
}

// str reads the JSON string at t.pos, returning its unescaped bytes (valid
// only until the next call).
func (t *jsonTranscoder) str() ([]byte, error) {
	start := t.pos + 1
	p := start
	for p < len(t.src) {
		c := t.src[p]
		if c == '"' {
			t.pos = p + 1
			return t.src[start:p], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, malformed("JSON: control character in string")
		}
		p++
	}
	// Escapes: unescape into the scratch buffer.
	out := append(t.scratch[:0], t.src[start:p]...)
	for p < len(t.src) {
		c := t.src[p]
		switch {
		case c == '"':
			t.pos = p + 1
			t.scratch = out
			return out, nil
		case c < 0x20:
			return nil, malformed("JSON: control character in string")
		case c != '\\':
			out = append(out, c)
			p++
			continue
		}
		if p+1 >= len(t.src) {
			break
		}
		e := t.src[p+1]
		p += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(t.src[p:])
			if !ok {
				return nil, malformed("JSON: bad \\u escape")
			}
			p += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(-1), false
				if len(t.src)-p >= 6 && t.src[p] == '\\' && t.src[p+1] == 'u' {
					if r2, ok = hex4(t.src[p+2:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							p += 6
							out = utf8.AppendRune(out, dec)
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, malformed("JSON: bad escape \\%c", e)
		}
	}
	return nil, malformed("JSON: unterminated string")
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (t *jsonTranscoder) number(dst []byte) ([]byte, error) {
	start := t.pos
	p := t.pos
	if t.src[p] == '-' {
		p++
	}
	digits := p
	for p < len(t.src) && t.src[p] >= '0' && t.src[p] <= '9' {
		p++
	}
	if p == digits || (t.src[digits] == '0' && p-digits > 1) {
		return dst, malformed("JSON: bad number at %d", start)
	}
	intEnd := p
	isFloat := false
	if p < len(t.src) && t.src[p] == '.' {
		isFloat = true
		p++
		frac := p
		for p < len(t.src) && t.src[p] >= '0' && t.src[p] <= '9' {
			p++
		}
		if p == frac {
			return dst, malformed("JSON: bad number at %d", start)
		}
	}
	if p < len(t.src) && (t.src[p] == 'e' || t.src[p] == 'E') {
		isFloat = true
		p++
		if p < len(t.src) && (t.src[p] == '+' || t.src[p] == '-') {
			p++
		}
		exp := p
		for p < len(t.src) && t.src[p] >= '0' && t.src[p] <= '9' {
			p++
		}
		if p == exp {
			return dst, malformed("JSON: bad number at %d", start)
		}
	}
	t.pos = p
	if !isFloat && intEnd-digits <= 18 {
		var v int64
		for _, c := range t.src[digits:intEnd] {
			v = v*10 + int64(c-'0')
		}
		if t.src[start] == '-' {
			v = -v
		}
		return AppendInt(dst, v), nil
	}
	f, err := strconv.ParseFloat(string(t.src[start:p]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return dst, malformed("JSON: bad number %q", t.src[start:p])
	}
	return appendNumber(dst, f), nil
}

// appendNumber writes a JavaScript number as notepack.io does: whole
// numbers as integers, others as float64.
func appendNumber(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -(1<<63) && f < (1<<63) {
		return AppendInt(dst, int64(f))
	}
	if f == math.Trunc(f) && f >= 0 && f < (1<<64) {
		return AppendUint(dst, uint64(f))
	}
	return appendFloat64(dst, f)
}

// ---- reader ------------------------------------------------------------------

// Reader reads msgpack values from a message.
type Reader struct {
	b        []byte
	pos      int
	maxDepth int
}

// NewReader returns a reader of b that refuses values nested deeper than
// maxDepth arrays and maps (DefaultMaxDepth when maxDepth <= 0).
func NewReader(b []byte, maxDepth int) Reader {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return Reader{b: b, maxDepth: maxDepth}
}

// Offset is the number of bytes read so far.
func (r *Reader) Offset() int { return r.pos }

// Done reports whether the whole message has been read.
func (r *Reader) Done() bool { return r.pos == len(r.b) }

// stringOf views b as a string without copying, for a call that does not
// keep it while b may change.
func stringOf(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (r *Reader) need(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.pos < n {
		return nil, malformed("truncated msgpack")
	}
	p := r.b[r.pos : r.pos+n]
	r.pos += n
	return p, nil
}

func (r *Reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, malformed("truncated msgpack")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *Reader) Peek() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, malformed("truncated msgpack")
	}
	return r.b[r.pos], nil
}

func (r *Reader) uintN(n int) (uint64, error) {
	p, err := r.need(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// length reads an n-byte length and checks that at least min*length bytes
// remain, so a forged length never causes a large allocation.
func (r *Reader) length(n, min int) (int, error) {
	v, err := r.uintN(n)
	if err != nil {
		return 0, err
	}
	if v > uint64(len(r.b)-r.pos) || int(v)*min > len(r.b)-r.pos {
		return 0, malformed("msgpack length %d exceeds the message", v)
	}
	return int(v), nil
}

// arrayLen reads an array header; nil reads as an empty array.
func (r *Reader) ArrayLen() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x90:
		return int(c & 0x0f), nil
	case c == 0xdc:
		return r.length(2, 1)
	case c == 0xdd:
		return r.length(4, 1)
	case c == 0xc0:
		return 0, nil
	}
	return 0, malformed("msgpack array expected, got 0x%02x", c)
}

// mapLen reads a map header; nil reads as an empty map.
func (r *Reader) MapLen() (int, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x80:
		return int(c & 0x0f), nil
	case c == 0xde:
		return r.length(2, 2)
	case c == 0xdf:
		return r.length(4, 2)
	case c == 0xc0:
		return 0, nil
	}
	return 0, malformed("msgpack map expected, got 0x%02x", c)
}

// strBytes reads a str (or bin) value; the bytes alias the message.
func (r *Reader) StrBytes() ([]byte, error) {
	c, err := r.byte()
	if err != nil {
		return nil, err
	}
	var n int
	switch {
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n, err = r.length(1, 1)
	case c == 0xda || c == 0xc5:
		n, err = r.length(2, 1)
	case c == 0xdb || c == 0xc6:
		n, err = r.length(4, 1)
	default:
		return nil, malformed("msgpack string expected, got 0x%02x", c)
	}
	if err != nil {
		return nil, err
	}
	return r.need(n)
}

// scalarString reads a string, or a number or boolean as its text (rooms
// may be numbers in socket.io); nil reads as "".
func (r *Reader) ScalarString() (string, error) {
	c, err := r.Peek()
	if err != nil {
		return "", err
	}
	switch {
	case c&0xe0 == 0xa0, c == 0xd9, c == 0xda, c == 0xdb:
		s, err := r.StrBytes()
		return string(s), err
	case c == 0xc0:
		r.pos++
		return "", nil
	}
	var b []byte
	b, err = r.appendJSON(b, nil, 0)
	if err != nil {
		return "", err
	}
	if len(b) > 0 && (b[0] == '[' || b[0] == '{' || b[0] == '"') {
		return "", malformed("msgpack scalar expected")
	}
	return string(b), nil
}

// int reads an integer (or a whole float).
func (r *Reader) Int() (int64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c < 0x80:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	}
	switch c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uintN(1 << (c - 0xcc))
		if v > math.MaxInt64 {
			return 0, malformed("integer out of range")
		}
		return int64(v), err
	case 0xd0:
		v, err := r.uintN(1)
		return int64(int8(v)), err
	case 0xd1:
		v, err := r.uintN(2)
		return int64(int16(v)), err
	case 0xd2:
		v, err := r.uintN(4)
		return int64(int32(v)), err
	case 0xd3:
		v, err := r.uintN(8)
		return int64(v), err
	case 0xca:
		v, err := r.uintN(4)
		f := float64(math.Float32frombits(uint32(v)))
		if err == nil && (f != math.Trunc(f) || math.Abs(f) > 1<<53) {
			err = malformed("integer expected")
		}
		return int64(f), err
	case 0xcb:
		v, err := r.uintN(8)
		f := math.Float64frombits(v)
		if err == nil && (f != math.Trunc(f) || math.Abs(f) > 1<<53) {
			err = malformed("integer expected")
		}
		return int64(f), err
	}
	return 0, malformed("msgpack integer expected, got 0x%02x", c)
}

// bool reads a boolean; nil reads as false.
func (r *Reader) Bool() (bool, error) {
	c, err := r.byte()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2, 0xc0:
		return false, nil
	case 0xc3:
		return true, nil
	}
	return false, malformed("msgpack boolean expected, got 0x%02x", c)
}

// strings reads an array of scalars as strings.
func (r *Reader) Strings() ([]string, error) {
	n, err := r.ArrayLen()
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]string, 0, n)
	for range n {
		s, err := r.ScalarString()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// skip skips one value.
func (r *Reader) Skip() error { return r.skipDepth(0) }

func (r *Reader) skipDepth(depth int) error {
	if depth > r.maxDepth {
		return malformed("msgpack nested too deeply")
	}
	c, err := r.byte()
	if err != nil {
		return err
	}
	elems := 0 // values that follow as this one's elements
	switch {
	case c < 0x80 || c >= 0xe0:
		return nil
	case c&0xf0 == 0x80:
		elems = 2 * int(c&0x0f)
	case c&0xf0 == 0x90:
		elems = int(c & 0x0f)
	case c&0xe0 == 0xa0:
		_, err = r.need(int(c & 0x1f))
		return err
	default:
		switch c {
		case 0xc0, 0xc2, 0xc3:
			return nil
		case 0xcc, 0xd0:
			_, err = r.need(1)
		case 0xcd, 0xd1:
			_, err = r.need(2)
		case 0xce, 0xd2, 0xca:
			_, err = r.need(4)
		case 0xcf, 0xd3, 0xcb:
			_, err = r.need(8)
		case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
			r.pos--
			_, err = r.StrBytes()
		case 0xdc, 0xdd:
			elems, err = r.length(2<<(c-0xdc), 1)
		case 0xde, 0xdf:
			elems, err = r.length(2<<(c-0xde), 2)
			elems *= 2
		case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
			_, err = r.need(1 + 1<<(c-0xd4))
		case 0xc7, 0xc8, 0xc9:
			var n int
			if n, err = r.length(1<<(c-0xc7), 1); err == nil {
				_, err = r.need(1 + n)
			}
		default:
			return malformed("msgpack: unknown type 0x%02x", c)
		}
		if err != nil {
			return err
		}
	}
	for range elems {
		if err := r.skipDepth(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// AppendJSON transcodes one msgpack value to JSON, as notepack.io decodes
// it and JSON.stringify writes it. bin values (and notepack's ArrayBuffers,
// extension type 0 of any length but 1 and 8) become binary placeholders,
// their bytes (copied) appended to *atts; with atts nil they are only
// skipped over (the JSON is then meaningless). Dates (notepack's extension
// 0 of 8 bytes, and msgpack timestamps) become their ISO 8601 string;
// notepack's undefined and other extensions become null.
func (r *Reader) AppendJSON(dst []byte, atts *[][]byte) ([]byte, error) {
	return r.appendJSON(dst, atts, 0)
}

func (r *Reader) appendJSON(dst []byte, atts *[][]byte, depth int) ([]byte, error) {
	if depth > r.maxDepth {
		return dst, malformed("msgpack nested too deeply")
	}
	c, err := r.byte()
	if err != nil {
		return dst, err
	}
	switch {
	case c < 0x80:
		return strconv.AppendInt(dst, int64(c), 10), nil
	case c >= 0xe0:
		return strconv.AppendInt(dst, int64(int8(c)), 10), nil
	case c&0xf0 == 0x80:
		return r.mapJSON(dst, atts, int(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return r.arrayJSON(dst, atts, int(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		r.pos--
		s, err := r.StrBytes()
		if err != nil {
			return dst, err
		}
		return socketio.AppendJSONString(dst, stringOf(s)), nil
	}
	switch c {
	case 0xc0:
		return append(dst, "null"...), nil
	case 0xc2:
		return append(dst, "false"...), nil
	case 0xc3:
		return append(dst, "true"...), nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uintN(1 << (c - 0xcc))
		return strconv.AppendUint(dst, v, 10), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		r.pos--
		v, err := r.Int()
		return strconv.AppendInt(dst, v, 10), err
	case 0xca:
		v, err := r.uintN(4)
		return appendJSONFloat(dst, float64(math.Float32frombits(uint32(v))), 32), err
	case 0xcb:
		v, err := r.uintN(8)
		return appendJSONFloat(dst, math.Float64frombits(v), 64), err
	case 0xd9, 0xda, 0xdb:
		r.pos--
		s, err := r.StrBytes()
		if err != nil {
			return dst, err
		}
		return socketio.AppendJSONString(dst, stringOf(s)), nil
	case 0xc4, 0xc5, 0xc6:
		r.pos--
		p, err := r.StrBytes()
		if err != nil {
			return dst, err
		}
		return appendPlaceholder(dst, atts, p), nil
	case 0xdc, 0xdd:
		n, err := r.length(2<<(c-0xdc), 1)
		if err != nil {
			return dst, err
		}
		return r.arrayJSON(dst, atts, n, depth)
	case 0xde, 0xdf:
		n, err := r.length(2<<(c-0xde), 2)
		if err != nil {
			return dst, err
		}
		return r.mapJSON(dst, atts, n, depth)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.extJSON(dst, atts, 1<<(c-0xd4), true)
	case 0xc7, 0xc8, 0xc9:
		n, err := r.length(1<<(c-0xc7), 1)
		if err != nil {
			return dst, err
		}
		return r.extJSON(dst, atts, n, false)
	}
	return dst, malformed("msgpack: unknown type 0x%02x", c)
}

func (r *Reader) arrayJSON(dst []byte, atts *[][]byte, n, depth int) ([]byte, error) {
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = r.appendJSON(dst, atts, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func (r *Reader) mapJSON(dst []byte, atts *[][]byte, n, depth int) ([]byte, error) {
	dst = append(dst, '{')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		c, err := r.Peek()
		if err != nil {
			return dst, err
		}
		if c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb {
			s, err := r.StrBytes()
			if err != nil {
				return dst, err
			}
			dst = socketio.AppendJSONString(dst, stringOf(s))
		} else {
			// A JavaScript object's keys are strings: write others' text.
			key, err := r.ScalarString()
			if err != nil {
				return dst, err
			}
			dst = socketio.AppendJSONString(dst, key)
		}
		dst = append(dst, ':')
		if dst, err = r.appendJSON(dst, atts, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// extJSON writes an extension value of n data bytes (fixed tells a fixext
// from an ext 8/16/32) as notepack.io reads it: type 0 is notepack's own
// ArrayBuffer (in an ext 8/16/32: a binary placeholder), undefined (fixext
// 1: null) or Date (fixext 8: milliseconds since the epoch); type -1 is a
// msgpack timestamp. Dates are written as their ISO 8601 string, as
// JSON.stringify would; anything else as null.
func (r *Reader) extJSON(dst []byte, atts *[][]byte, n int, fixed bool) ([]byte, error) {
	typ, err := r.byte()
	if err != nil {
		return dst, err
	}
	p, err := r.need(n)
	if err != nil {
		return dst, err
	}
	if typ == 0 {
		switch {
		case !fixed:
			return appendPlaceholder(dst, atts, p), nil
		case n == 8:
			ms := int64(binary.BigEndian.Uint64(p))
			return appendDate(dst, time.UnixMilli(ms)), nil
		}
		return append(dst, "null"...), nil
	}
	if int8(typ) != -1 {
		return append(dst, "null"...), nil
	}
	var sec int64
	var nsec uint32
	switch n {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		v := binary.BigEndian.Uint64(p)
		nsec, sec = uint32(v>>34), int64(v&(1<<34-1))
	case 12:
		nsec, sec = binary.BigEndian.Uint32(p), int64(binary.BigEndian.Uint64(p[4:]))
	default:
		return append(dst, "null"...), nil
	}
	if nsec >= 1e9 {
		return append(dst, "null"...), nil
	}
	return appendDate(dst, time.Unix(sec, int64(nsec))), nil
}

// appendDate writes t as Date.prototype.toJSON does (null out of range).
func appendDate(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Year() < -9999 || t.Year() > 9999 {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, '"')
}

// appendPlaceholder writes a binary placeholder for p, appending a copy of
// p to *atts (with atts nil: null).
func appendPlaceholder(dst []byte, atts *[][]byte, p []byte) []byte {
	if atts == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(*atts)), 10)
	*atts = append(*atts, append([]byte(nil), p...))
	return append(dst, '}')
}

// appendJSONFloat formats f as JavaScript (and encoding/json) would;
// non-finite numbers become null, as in JSON.stringify.
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 -> e-9, as JavaScript writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
