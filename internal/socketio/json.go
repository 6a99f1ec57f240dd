package socketio

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the small JSON scanner the codec needs beyond
// encoding/json: splitting an array into raw elements and finding binary
// placeholders, both without decoding or re-encoding anything. The scanning
// functions expect JSON that json.Valid accepted; on anything else they
// return -1 or an error, never panic.

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just after the string starting at b[i] == '"',
// or -1 if it is not terminated.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index just after the JSON value starting at or after
// b[i] (after white space), or -1.
func skipValue(b []byte, i int) int {
	i = skipWS(b, i)
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', ']', '}', ':', ' ', '\t', '\n', '\r', '"', '[', '{':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	return i
}

// jsonStringEq reports whether the JSON string body raw (between the quotes,
// escapes included) decodes to s.
func jsonStringEq(raw []byte, s string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == s
	}
	j := 0 // position in s
	for i := 0; i < len(raw); {
		var r rune
		c := raw[i]
		switch {
		case c != '\\':
			var size int
			r, size = utf8.DecodeRune(raw[i:])
			i += size
		case i+1 >= len(raw):
			return false
		default:
			i += 2
			switch raw[i-1] {
			case '"', '\\', '/':
				r = rune(raw[i-1])
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				var ok bool
				if r, ok = hex4(raw, i); !ok {
					return false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2, ok = hex4(raw, i+2)
					}
					if ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
			default:
				return false
			}
		}
		sr, size := utf8.DecodeRuneInString(s[j:])
		if size == 0 || sr != r {
			return false
		}
		j += size
	}
	return j == len(s)
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		d := digitVal(c)
		if d > 15 {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// placeholder describes an object seen by objectInfo.
type placeholder struct {
	// is: the object's "_placeholder" member (the last one, as JSON.parse
	// keeps) is the literal true.
	is bool
	// hasNum: its "num" member is a JSON number, whose value is num.
	hasNum bool
	num    float64
}

// index returns the attachment index the placeholder points at among n
// attachments. valid says whether the reference accepts it (a number from 0
// to n, excluded); ok says whether it is also an integer, so that there is
// an attachment to substitute (the reference substitutes undefined for the
// other valid ones).
func (ph placeholder) index(n int) (i int, valid, ok bool) {
	if !ph.hasNum || !(ph.num >= 0) || ph.num >= float64(n) {
		return 0, false, false
	}
	if ph.num != math.Trunc(ph.num) {
		return 0, true, false
	}
	return int(ph.num), true, true
}

// objectInfo reads the object starting at b[i] == '{' without descending into
// its members, and returns its end (or -1) and what it says as a placeholder.
func objectInfo(b []byte, i int) (end int, ph placeholder) {
	var phVal, numVal []byte
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, ph
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1, ph
		}
		ke := skipString(b, i)
		if ke < 0 {
			return -1, ph
		}
		key := b[i+1 : ke-1]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return -1, ph
		}
		vs := skipWS(b, i+1)
		ve := skipValue(b, vs)
		if ve < 0 {
			return -1, ph
		}
		if jsonStringEq(key, "_placeholder") {
			phVal = b[vs:ve]
		} else if jsonStringEq(key, "num") {
			numVal = b[vs:ve]
		}
		i = skipWS(b, ve)
		if i >= len(b) {
			return -1, ph
		}
		if b[i] == '}' {
			end = i + 1
			break
		}
		if b[i] != ',' {
			return -1, ph
		}
		i = skipWS(b, i+1)
	}
	ph.is = string(phVal) == "true"
	if len(numVal) > 0 && (numVal[0] == '-' || numVal[0] >= '0' && numVal[0] <= '9') {
		// Out of range numbers come back as ±Inf or 0, as in JavaScript.
		ph.num, _ = strconv.ParseFloat(string(numVal), 64)
		ph.hasNum = true
	}
	return end, ph
}

// mayHavePlaceholder is a quick test that lets most payloads skip the walk:
// a member named "_placeholder" needs that text or an escape sequence.
func mayHavePlaceholder(b []byte) bool {
	return bytes.Contains(b, []byte("_placeholder")) || bytes.IndexByte(b, '\\') >= 0
}

// walkPlaceholders calls fn for each placeholder object in the JSON value
// starting at b[i], in document order, without looking inside placeholders
// (as the reference's reconstructPacket does), and returns the value's end.
func walkPlaceholders(b []byte, i int, fn func(start, end int, ph placeholder) error) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return -1, errMalformed
	}
	switch b[i] {
	case '{':
		end, ph := objectInfo(b, i)
		if end < 0 {
			return -1, errMalformed
		}
		if ph.is {
			return end, fn(i, end, ph)
		}
		// objectInfo checked the members' shape: key, ':', value, ','.
		j := skipWS(b, i+1)
		for j < end-1 {
			if j = skipString(b, j); j < 0 {
				return -1, errMalformed
			}
			j = skipWS(b, j) + 1 // ':'
			var err error
			if j, err = walkPlaceholders(b, j, fn); err != nil {
				return -1, err
			}
			if j = skipWS(b, j); j < len(b) && b[j] == ',' {
				j = skipWS(b, j+1)
			}
		}
		return end, nil
	case '[':
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == ']' {
			return j + 1, nil
		}
		for {
			var err error
			if j, err = walkPlaceholders(b, j, fn); err != nil {
				return -1, err
			}
			j = skipWS(b, j)
			if j >= len(b) {
				return -1, errMalformed
			}
			switch b[j] {
			case ']':
				return j + 1, nil
			case ',':
				j++
			default:
				return -1, errMalformed
			}
		}
	}
	end := skipValue(b, i)
	if end < 0 {
		return -1, errMalformed
	}
	return end, nil
}

var errMalformed = invalid("malformed JSON")

// checkPlaceholders applies the reference's reconstructPacket checks to the
// payload of a binary packet with n attachments: every placeholder's num
// must be a number from 0 to n, excluded.
func checkPlaceholders(data []byte, n int) error {
	if len(data) == 0 || !mayHavePlaceholder(data) {
		return nil
	}
	_, err := walkPlaceholders(data, 0, func(_, _ int, ph placeholder) error {
		if _, valid, _ := ph.index(n); !valid {
			return invalid("illegal attachments")
		}
		return nil
	})
	return err
}

// SplitArgs splits the JSON array data into its elements, as raw JSON
// slices of data (no copying, no re-encoding; white space around elements
// trimmed). An event's data splits into the event name and its arguments.
//
// SplitArgs checks the array's own structure but leaves the validation of
// the elements to whoever produced data: a decoded [Packet]'s Data was
// checked with json.Valid already. Given other input it returns an error or
// meaningless elements, never panics.
//
// The result is allocated once, at its final size (nil for an empty array).
func SplitArgs(data []byte) ([][]byte, error) {
	var buf [8][]byte
	args, err := AppendArgs(buf[:0], data)
	if err != nil || len(args) == 0 {
		return nil, err
	}
	out := make([][]byte, len(args))
	copy(out, args)
	return out, nil
}

// EventName returns the text of an event name, the first element of an
// EVENT packet's array as [SplitArgs] gives it, when that is a JSON string
// with no escape sequence: the bytes between the quotes, which are then the
// name itself. ok is false for any other name (escaped, numeric, ...),
// which the caller decodes the slow way. The name is then exactly what
// encoding/json would decode.
func EventName(raw []byte) (name []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	name = raw[1 : len(raw)-1]
	ascii := true
	for _, c := range name {
		switch {
		case c < 0x20 || c == '\\' || c == '"':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(name) {
		return nil, false
	}
	return name, true
}

var errNotArray = errors.New("socketio: arguments are not a JSON array")

// AppendArgs is SplitArgs appending to dst, for callers that keep a buffer.
// On error it returns dst unchanged.
func AppendArgs(dst [][]byte, data []byte) ([][]byte, error) {
	n0 := len(dst)
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '[' {
		return dst, errNotArray
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == ']' {
		if skipWS(data, i+1) != len(data) {
			return dst, errNotArray
		}
		return dst, nil
	}
	for {
		end := skipValue(data, i)
		if end < 0 {
			return dst[:n0], errNotArray
		}
		dst = append(dst, data[i:end])
		i = skipWS(data, end)
		if i >= len(data) {
			return dst[:n0], errNotArray
		}
		switch data[i] {
		case ']':
			if skipWS(data, i+1) != len(data) {
				return dst[:n0], errNotArray
			}
			return dst, nil
		case ',':
			i = skipWS(data, i+1)
		default:
			return dst[:n0], errNotArray
		}
	}
}

// PlaceholderNum reports whether raw is a single JSON object that the
// reference treats as a binary placeholder (its "_placeholder" member is
// true, in any key order and spacing) with an integer "num" from 0 up, and
// returns that num.
func PlaceholderNum(raw []byte) (int, bool) {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return 0, false
	}
	end, ph := objectInfo(raw, i)
	if end < 0 || skipWS(raw, end) != len(raw) || !ph.is {
		return 0, false
	}
	n, _, ok := ph.index(math.MaxInt32)
	return n, ok
}

// ResolveBinary returns the attachment the raw JSON value (one element from
// [SplitArgs], say) stands for, when it is a placeholder pointing at one of
// attachments. For placeholders nested deeper in a value, use [Unmarshal].
// A packet without attachments has no placeholders: objects that look like
// one are plain objects.
func ResolveBinary(raw []byte, attachments [][]byte) ([]byte, bool) {
	if len(attachments) == 0 {
		return nil, false
	}
	n, ok := PlaceholderNum(raw)
	if !ok || n >= len(attachments) {
		return nil, false
	}
	return attachments[n], true
}

// Unmarshal decodes the raw JSON value into v like json.Unmarshal, with the
// binary placeholders in it resolved against attachments, at any depth:
//
//   - into a *any, placeholders become []byte values (the rest is what
//     json.Unmarshal gives an any: map[string]any, []any, float64, ...);
//   - into anything else, each placeholder is first replaced by the base64
//     JSON string of its attachment, which is how encoding/json expects a
//     []byte: struct fields and slices of type []byte receive the bytes.
//
// A placeholder with a valid but fractional num (the reference yields
// undefined for it) becomes null. With no attachments nothing is replaced.
func Unmarshal(raw []byte, attachments [][]byte, v any) error {
	if p, ok := v.(*any); ok {
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			return fmt.Errorf("socketio: %w", err)
		}
		x, err := resolveAny(x, attachments)
		if err != nil {
			return err
		}
		*p = x
		return nil
	}
	if len(attachments) > 0 && mayHavePlaceholder(raw) {
		if !json.Valid(raw) {
			return fmt.Errorf("socketio: invalid JSON")
		}
		size := len(raw)
		for _, a := range attachments {
			size += base64.StdEncoding.EncodedLen(len(a)) + 2
		}
		buf := make([]byte, 0, size)
		last := 0
		_, err := walkPlaceholders(raw, 0, func(start, end int, ph placeholder) error {
			n, valid, ok := ph.index(len(attachments))
			if !valid {
				return invalid("illegal attachments")
			}
			buf = append(buf, raw[last:start]...)
			if ok {
				buf = append(buf, '"')
				buf = base64.StdEncoding.AppendEncode(buf, attachments[n])
				buf = append(buf, '"')
			} else {
				buf = append(buf, "null"...)
			}
			last = end
			return nil
		})
		if err != nil {
			return err
		}
		raw = append(buf, raw[last:]...)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("socketio: %w", err)
	}
	return nil
}

// resolveAny replaces placeholder maps in a value decoded by encoding/json.
func resolveAny(x any, attachments [][]byte) (any, error) {
	if len(attachments) == 0 {
		return x, nil
	}
	switch v := x.(type) {
	case map[string]any:
		if v["_placeholder"] == true {
			num, isNum := v["num"].(float64)
			n, valid, ok := placeholder{is: true, hasNum: isNum, num: num}.index(len(attachments))
			if !valid {
				return nil, invalid("illegal attachments")
			}
			if !ok {
				return nil, nil
			}
			return attachments[n], nil
		}
		for k, e := range v {
			r, err := resolveAny(e, attachments)
			if err != nil {
				return nil, err
			}
			v[k] = r
		}
	case []any:
		for i, e := range v {
			r, err := resolveAny(e, attachments)
			if err != nil {
				return nil, err
			}
			v[i] = r
		}
	}
	return x, nil
}
