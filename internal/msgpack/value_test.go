package msgpack

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Written by notepack.io 3.0.1: [undefined, 1e21, 0.1, -0, 1e-7,
// -2147483649, 2**53].
const notepackNumbers = "97c0cf35c9adc5dea00000cb3fb999999999999a00cb3e7ad7f29abcaf48d3ffffffff7fffffffcf0020000000000000"

func TestNotepackNumbers(t *testing.T) {
	r := NewReader(unhex(t, notepackNumbers), 0)
	out, err := r.AppendJSON(nil, nil)
	require.NoError(t, err)
	// notepack writes 1e21 (past 2**64) as a truncated uint64: read as is.
	assert.Equal(t, `[null,3875820019684212736,0.1,0,1e-7,-2147483649,9007199254740992]`, string(out))
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestJSONToMsgpack(t *testing.T) {
	atts := [][]byte{{1, 2}, []byte("xyz")}
	cases := []struct{ json, hex string }{
		{`0`, "00"},
		{`127`, "7f"},
		{`128`, "cc80"},
		{`-1`, "ff"},
		{`-32`, "e0"},
		{`-33`, "d0df"},
		{`-200`, "d1ff38"},
		{`65536`, "ce00010000"},
		{`-2147483649`, "d3ffffffff7fffffff"},
		{`9007199254740992`, "cf0020000000000000"},
		{`1.5`, "cb3ff8000000000000"},
		{`1e3`, "cd03e8"},
		{`1.0`, "01"},
		{`-0`, "00"},
		{`0.1`, "cb3fb999999999999a"},
		{`true`, "c3"},
		{`false`, "c2"},
		{`null`, "c0"},
		{`"a"`, "a161"},
		{`""`, "a0"},
		{`"\u00e9\ud83d\ude00\n"`, "a7c3a9f09f98800a"},
		{`"\ud800"`, "a3efbfbd"},
		{`[]`, "90"},
		{`{}`, "80"},
		{` [ 1 , "x" ] `, "9201a178"},
		{`{"a":[null]}`, "81a16191c0"},
		{`{"_placeholder":true,"num":0}`, "c4020102"},
		{`{ "num" : 1 , "_placeholder" : true }`, "c40378797a"},
		{`{"_placeholder":true,"num":0,"x":1}`, "83ac5f706c616365686f6c646572c3a36e756d00a17801"},
		{`{"_placeholder":false,"num":0}`, "82ac5f706c616365686f6c646572c2a36e756d00"},
		{`[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]`, "dc0010000102030405060708090a0b0c0d0e0f"},
	}
	for _, c := range cases {
		got, err := AppendFromJSON(nil, []byte(c.json), atts)
		if assert.NoError(t, err, c.json) {
			assert.Equal(t, c.hex, hex.EncodeToString(got), c.json)
		}
	}

	// Without attachments a placeholder-like object is a plain object (a
	// client may send one in an EVENT), not an error.
	got, err := AppendFromJSON(nil, []byte(`[{"_placeholder":true,"num":0}]`), nil)
	require.NoError(t, err)
	assert.Equal(t, "9182ac5f706c616365686f6c646572c3a36e756d00", hex.EncodeToString(got))

	// Long strings, maps and arrays get longer headers.
	long := strings.Repeat("x", 70000)
	got, err = AppendFromJSON(nil, []byte(`"`+long+`"`), nil)
	require.NoError(t, err)
	assert.Equal(t, "db00011170", hex.EncodeToString(got[:5]))
	var m strings.Builder
	m.WriteString("{")
	for i := range 20 {
		if i > 0 {
			m.WriteString(",")
		}
		m.WriteString(`"k` + string(rune('a'+i)) + `":` + "1")
	}
	m.WriteString("}")
	got, err = AppendFromJSON(nil, []byte(m.String()), nil)
	require.NoError(t, err)
	assert.Equal(t, "de0014a26b6101", hex.EncodeToString(got[:7]))
}

func TestJSONToMsgpackErrors(t *testing.T) {
	for _, bad := range []string{``, `[`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `"abc`, `"\x"`, `"\u12"`, `tru`, `nul`, `-`, `1.`, `1e`, `01x`, `[1] 2`, `{"_placeholder":true,"num":5}`, "\"a\x01\"", strings.Repeat("[", 10002) + strings.Repeat("]", 10002)} {
		_, err := AppendFromJSON(nil, []byte(bad), [][]byte{{1}})
		assert.ErrorIs(t, err, ErrMalformed, "%q", bad)
	}
}

func TestMsgpackToJSON(t *testing.T) {
	cases := []struct{ hex, json string }{
		{"c0", `null`},
		{"c2", `false`},
		{"ca3fc00000", `1.5`},
		{"cb7ff0000000000000", `null`}, // Infinity
		{"cb8000000000000000", `0`},    // -0
		{"cb4415af1d78b58c40", `100000000000000000000`},
		{"cb44b52d02c7e14af6", `1e+23`},
		{"d3ffffffffffffffff", `-1`},
		{"a3e282ac", `"€"`},
		{"a2c328", `"\ufffd("`},      // invalid UTF-8
		{"a30a1f22", `"\n\u001f\""`}, // escapes
		{"81a16192c3c2", `{"a":[true,false]}`},
		{"8201a1780202", `{"1":"x","2":2}`}, // non-string keys
		{"d40000", `null`},                  // notepack's legacy undefined
		{"d6ff00000000", `"1970-01-01T00:00:00.000Z"`},
		{"c702ff01", ``},
		{"c70c" + "ff" + "00000000" + "ffffffffffffffff", `"1969-12-31T23:59:59.000Z"`},
		{"d50102ff", `null`},                                   // unknown extension
		{"c70300010203", `{"_placeholder":true,"num":0}`},      // notepack's ArrayBuffer (Node's Uint8Array)
		{"d7000000018bcfe56800", `"2023-11-14T22:13:20.000Z"`}, // notepack 2's Date
	}
	for _, c := range cases {
		r := NewReader(unhex(t, c.hex), 0)
		var atts [][]byte
		got, err := r.AppendJSON(nil, &atts)
		if c.json == "" {
			assert.Error(t, err, c.hex)
			continue
		}
		if assert.NoError(t, err, c.hex) {
			assert.Equal(t, c.json, string(got), c.hex)
		}
	}
}

func TestMsgpackErrors(t *testing.T) {
	for _, bad := range []string{"", "c1", "91", "92c0", "a5616263", "dc", "dcffff", "ddffffffff", "dfffffffff", "c4ff00", "d9", "cd00", "cb0000", "c7ff01", "8101"} {
		r := NewReader(unhex(t, bad), 0)
		_, err := r.AppendJSON(nil, nil)
		assert.ErrorIs(t, err, ErrMalformed, "appendJSON %q", bad)
		r = NewReader(unhex(t, bad), 0)
		assert.ErrorIs(t, r.Skip(), ErrMalformed, "skip %q", bad)
	}
	deep := unhex(t, strings.Repeat("91", 300)+"c0")
	r := NewReader(deep, 0)
	_, err := r.AppendJSON(nil, nil)
	assert.ErrorIs(t, err, ErrMalformed)
	r = NewReader(deep, 0)
	assert.ErrorIs(t, r.Skip(), ErrMalformed)
}

func TestRoundTrip(t *testing.T) {
	atts := [][]byte{{0}, {1, 2, 3}}
	for _, doc := range []string{
		`["message",{"_placeholder":true,"num":0},"é😀",{"x":[1,-2,3.25,null,true,{"_placeholder":true,"num":1}]}]`,
		`{"a":{"b":{"c":[[],{},""]}},"big":12345678901234,"neg":-9007199254740991,"f":-0.000001}`,
		`["` + strings.Repeat("é", 200) + `"]`,
	} {
		mp, err := AppendFromJSON(nil, []byte(doc), atts)
		require.NoError(t, err)
		r := NewReader(mp, 0)
		var gotAtts [][]byte
		back, err := r.AppendJSON(nil, &gotAtts)
		require.NoError(t, err)
		assert.JSONEq(t, doc, string(back))
		want := 0
		if strings.Contains(doc, "_placeholder") {
			want = 2
		}
		assert.Len(t, gotAtts, want)
	}
}

// FuzzMsgpackToJSON: any input either fails cleanly or transcodes to valid
// JSON whose placeholders name the attachments found, and which transcodes
// back to
func FuzzMsgpackToJSON(f *testing.F) {
	for _, s := range []string{notepackNumbers, "c0", "91c40101", "d6ff00000000", "8201a1780202", "c70300010203", "d7000000018bcfe56800", "93a26576c4030102ff81a161cb3ff8000000000000"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(data, 0)
		var atts [][]byte
		out, err := r.AppendJSON(nil, &atts)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %x", out, data)
		}
		if _, err := AppendFromJSON(nil, out, atts); err != nil {
			t.Fatalf("JSON %q does not transcode back: %v", out, err)
		}
		r = NewReader(data, 0)
		if err := r.Skip(); err != nil {
			t.Fatalf("skip fails where appendJSON succeeded: %v", err)
		}
	})
}

// FuzzJSONToMsgpack: valid JSON transcodes (unless a placeholder names a
// missing attachment) to msgpack that reads back as valid JSON.
func FuzzJSONToMsgpack(f *testing.F) {
	for _, s := range []string{`["ev",{"_placeholder":true,"num":0},1.5,-3,"é\u0001"]`, `{"a":[null,true,false]}`, `"\ud83d\ude00"`, `1e400`, `-0.0`, `[[[]]]`} {
		f.Add(s)
	}
	atts := [][]byte{{1}, {2, 3}}
	f.Fuzz(func(t *testing.T, doc string) {
		mp, err := AppendFromJSON(nil, []byte(doc), atts)
		if err != nil {
			return
		}
		if !json.Valid([]byte(doc)) {
			t.Fatalf("accepted invalid JSON %q", doc)
		}
		r := NewReader(mp, 0)
		var got [][]byte
		back, err := r.AppendJSON(nil, &got)
		if err != nil || !json.Valid(back) || !r.Done() {
			t.Fatalf("%q -> %x -> %q, %v", doc, mp, back, err)
		}
	})
}
