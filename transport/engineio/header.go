package engineio

import (
	"encoding/binary"
	"net/http"
	"strings"
)

// A session keeps its handshake request's header in one string instead of
// an http.Header (a map with a slice per key, 1–2 KB for a browser). The
// compact form is, for each key:
//
//	uvarint(len(key)) key uvarint(len(values)) { uvarint(len(value)) value }
//
// Lengths make any bytes in keys and values round-trip.

// headerLen is the length of h's compact form.
func headerLen(h http.Header) int {
	n := 0
	for k, vs := range h {
		n += uvarintLen(uint64(len(k))) + len(k) + uvarintLen(uint64(len(vs)))
		for _, v := range vs {
			n += uvarintLen(uint64(len(v))) + len(v)
		}
	}
	return n
}

// writeHeader writes h's compact form to b.
func writeHeader(b *strings.Builder, h http.Header) {
	for k, vs := range h {
		writeUvarint(b, uint64(len(k)))
		b.WriteString(k)
		writeUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			writeUvarint(b, uint64(len(v)))
			b.WriteString(v)
		}
	}
}

// encodeHeader returns h's compact form.
func encodeHeader(h http.Header) string {
	var b strings.Builder
	b.Grow(headerLen(h))
	writeHeader(&b, h)
	return b.String()
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func writeUvarint(b *strings.Builder, x uint64) {
	var buf [binary.MaxVarintLen64]byte
	b.Write(binary.AppendUvarint(buf[:0], x))
}

// headerReader walks a compact header. It stops at the end or at the first
// malformed length (never produced by writeHeader).
type headerReader struct{ s string }

// str reads a length-prefixed string.
func (r *headerReader) str() (string, bool) {
	n, ok := r.count()
	if !ok || n > uint64(len(r.s)) {
		return "", false
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v, true
}

// count reads a uvarint.
func (r *headerReader) count() (uint64, bool) {
	var x uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return x, true
		}
	}
	return 0, false
}

// next reads a key and the number of its values, which follow.
func (r *headerReader) next() (key string, values uint64, ok bool) {
	if key, ok = r.str(); !ok {
		return "", 0, false
	}
	values, ok = r.count()
	return key, values, ok
}

// decodeHeader rebuilds an http.Header from its compact form. Values are
// substrings of s; the map and slices are new.
func decodeHeader(s string) http.Header {
	// First pass: count keys and values, to allocate once.
	keys, total := 0, 0
	r := headerReader{s}
	for {
		_, n, ok := r.next()
		if !ok {
			break
		}
		keys++
		for ; n > 0; n-- {
			if _, ok = r.str(); !ok {
				break
			}
			total++
		}
		if !ok {
			break
		}
	}
	h := make(http.Header, keys)
	all := make([]string, 0, total)
	r = headerReader{s}
	for {
		k, n, ok := r.next()
		if !ok {
			break
		}
		start := len(all)
		for ; n > 0; n-- {
			var v string
			if v, ok = r.str(); !ok {
				break
			}
			all = append(all, v)
		}
		// A full slice expression: appending to one key's values must not
		// overwrite the next key's.
		if vs, dup := h[k]; dup { // only in a hand-made encoding
			h[k] = append(vs, all[start:]...)
		} else {
			h[k] = all[start:len(all):len(all)]
		}
		if !ok {
			break
		}
	}
	return h
}

// headerValue returns what http.Header.Get(name) would on the decoded
// header s: the first value of the key that is name's canonical form. If
// there is no such key (a header not read from the wire may have keys in
// any case), it returns the first value of a key equal to name ignoring
// ASCII case. It does not allocate.
func headerValue(s, name string) string {
	token := isToken(name)
	r := headerReader{s}
	folded := false // a key equal to name ignoring case was seen
	for {
		k, n, ok := r.next()
		if !ok {
			break
		}
		canonical := isCanonicalOf(k, name, token)
		if !canonical && equalFold(k, name) {
			folded = true
		}
		for i := uint64(0); i < n; i++ {
			v, ok := r.str()
			if !ok {
				return ""
			}
			if canonical {
				return v
			}
		}
		if canonical {
			return ""
		}
	}
	if !folded {
		return ""
	}
	r = headerReader{s}
	for {
		k, n, ok := r.next()
		if !ok {
			return ""
		}
		match := equalFold(k, name)
		for i := uint64(0); i < n; i++ {
			v, ok := r.str()
			if !ok {
				return ""
			}
			if match {
				return v
			}
		}
	}
}

// isCanonicalOf reports whether k == http.CanonicalHeaderKey(name), without
// allocating; token says whether name is made of token bytes only (names
// that are not are their own canonical form).
func isCanonicalOf(k, name string, token bool) bool {
	if len(k) != len(name) {
		return false
	}
	if !token {
		return k == name
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if k[i] != c {
			return false
		}
		upper = c == '-'
	}
	return true
}

// isToken reports whether s is made of HTTP token bytes (RFC 9110 tchar).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// equalFold reports whether s and t are equal, ignoring ASCII case.
func equalFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
