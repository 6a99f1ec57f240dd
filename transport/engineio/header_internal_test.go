package engineio

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHeaderEncoding(t *testing.T) {
	long := strings.Repeat("v", 300) // lengths over one varint byte
	tests := []struct {
		name string
		h    http.Header
	}{
		{"nil", nil},
		{"empty", http.Header{}},
		{"one", http.Header{"Origin": {"https://example.com"}}},
		{"several values", http.Header{"Cookie": {"a=1", "b=2", ""}, "Accept": {"*/*"}}},
		{"no values", http.Header{"X-Empty": {}}},
		{"empty key and value", http.Header{"": {""}}},
		{"separator bytes", http.Header{"K\x00\x01": {"\x00", "a\x00b", "\xff\xfe\x80"}}},
		{"long", http.Header{long: {long, long}}},
		{"not canonical", http.Header{"x-lower": {"1"}, "X-Lower": {"2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := encodeHeader(tt.h)
			assert.Len(t, enc, headerLen(tt.h))
			got := decodeHeader(enc)
			require.NotNil(t, got)
			want := tt.h
			if want == nil {
				want = http.Header{}
			}
			assert.Equal(t, want, got)
			for k := range tt.h {
				assert.Equal(t, wantValue(tt.h, k), headerValue(enc, k), "key %q", k)
			}
		})
	}
}

func TestHeaderValue(t *testing.T) {
	enc := encodeHeader(http.Header{
		"Origin":     {"https://a.example", "https://b.example"},
		"X-Empty":    {},
		"User-Agent": {"test"},
	})
	tests := []struct{ name, want string }{
		{"Origin", "https://a.example"},
		{"origin", "https://a.example"},
		{"ORIGIN", "https://a.example"},
		{"user-agent", "test"},
		{"X-Empty", ""},
		{"Missing", ""},
		{"", ""},
		{"Origin ", ""},
		{"x-empty", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, headerValue(enc, tt.name), "name %q", tt.name)
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = headerValue(enc, "user-agent") }))
}

func TestHeaderDecodeCopies(t *testing.T) {
	enc := encodeHeader(http.Header{"A": {"1"}, "B": {"2"}})
	h := decodeHeader(enc)
	h["A"] = append(h["A"], "more")
	h.Set("C", "3")
	assert.Equal(t, http.Header{"A": {"1"}, "B": {"2"}}, decodeHeader(enc), "a decoded header is the caller's")
}

// wantValue is what headerValue(encodeHeader(h), name) must return when at
// most one key of h folds to name: h.Get(name), or failing a key in
// canonical form, the first value of the key equal to name ignoring case.
func wantValue(h http.Header, name string) string {
	want, _ := wantValueUnique(h, name)
	return want
}

func wantValueUnique(h http.Header, name string) (string, bool) {
	if _, ok := h[http.CanonicalHeaderKey(name)]; ok {
		return h.Get(name), true
	}
	var keys []string
	for k, vs := range h {
		if equalFold(k, name) && len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	switch len(keys) {
	case 0:
		return "", true
	case 1:
		return h[keys[0]][0], true
	}
	return "", false // which one comes first depends on map order
}

// FuzzHeaderEncoding checks that any header round-trips through the compact
// form, and that decoding arbitrary bytes never panics or hangs.
func FuzzHeaderEncoding(f *testing.F) {
	f.Add("Origin\x01https://example.com\nCookie\x01a=1\x01b=2")
	f.Add("")
	f.Add("\x01\x01\n\n")
	f.Add("K\x00\xff\x01\x80\x80\x80")
	f.Add(strings.Repeat("x", 200) + "\x01" + strings.Repeat("y", 20000))
	f.Fuzz(func(t *testing.T, spec string) {
		// Lines are keys, "\x01" separates a key from its values.
		h := http.Header{}
		for _, line := range strings.Split(spec, "\n") {
			parts := strings.Split(line, "\x01")
			h[parts[0]] = append(h[parts[0]], parts[1:]...)
			if h[parts[0]] == nil {
				h[parts[0]] = []string{}
			}
		}
		enc := encodeHeader(h)
		require.Len(t, enc, headerLen(h))
		require.Equal(t, h, decodeHeader(enc))
		checked := 0
		for k := range h {
			if checked++; checked > 20 {
				break // wantValueUnique is quadratic
			}
			for _, name := range []string{k, strings.ToLower(k), strings.ToUpper(k)} {
				if want, ok := wantValueUnique(h, name); ok {
					require.Equal(t, want, headerValue(enc, name), "name %q", name)
				}
			}
		}
		// Arbitrary bytes as a compact header: no panic, no hang.
		_ = decodeHeader(spec)
		_ = headerValue(spec, "origin")
	})
}
