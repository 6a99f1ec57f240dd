package socketio

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{` [ ] `, nil},
		{`["a"]`, []string{`"a"`}},
		{`["chat",{"b":1, "a":[1,"]",{}]} , null,true,-1.5e3,"x\"]"]`, []string{`"chat"`, `{"b":1, "a":[1,"]",{}]}`, `null`, `true`, `-1.5e3`, `"x\"]"`}},
		{"[\n1\t,\r2 ]", []string{"1", "2"}},
	}
	for _, tt := range tests {
		got, err := SplitArgs([]byte(tt.in))
		require.NoError(t, err, tt.in)
		var s []string
		for _, g := range got {
			s = append(s, string(g))
		}
		assert.Equal(t, tt.want, s, tt.in)
	}
	for _, bad := range []string{``, `{}`, `"a"`, `[`, `[1,]`, `[1 2]`, `1`, `[]x`, `[1]x`, `[,1]`, `["a]`, `[{]`, `[1,`} {
		_, err := SplitArgs([]byte(bad))
		assert.Error(t, err, bad)
	}

	// Slices point into data.
	data := []byte(`["a",{"x":1}]`)
	args, err := AppendArgs(make([][]byte, 0, 4), data)
	require.NoError(t, err)
	require.Len(t, args, 2)
	assert.Same(t, &data[5], &args[1][0])
}

func TestPlaceholderNum(t *testing.T) {
	tests := []struct {
		in  string
		num int
		ok  bool
	}{
		{`{"_placeholder":true,"num":0}`, 0, true},
		{`{"num":3,"_placeholder":true}`, 3, true},
		{` { "num" : 2 , "_placeholder" : true } `, 2, true},
		{"{\n\"_placeholder\":\ttrue,\"num\":1e1}", 10, true},
		{`{"\u005fplaceholder":true,"n\u0075m":4}`, 4, true},
		{`{"_placeholder":true,"num":1,"extra":[1,{"a":2}]}`, 1, true},
		{`{"_placeholder":true,"num":-0}`, 0, true},
		{`{"_placeholder":true,"num":5,"num":6}`, 6, true},
		{`{"_placeholder":true,"num":0.5}`, 0, false},
		{`{"_placeholder":true,"num":-1}`, 0, false},
		{`{"_placeholder":true,"num":"1"}`, 0, false},
		{`{"_placeholder":true}`, 0, false},
		{`{"_placeholder":"true","num":1}`, 0, false},
		{`{"_placeholder":1,"num":1}`, 0, false},
		{`{"_placeholder":true,"num":1,"_placeholder":false}`, 0, false},
		{`{"_Placeholder":true,"num":1}`, 0, false},
		{`{"_placeholder":true,"num":1}x`, 0, false},
		{`{"_placeholder":true,"num":1`, 0, false},
		{`[{"_placeholder":true,"num":1}]`, 0, false},
		{`"x"`, 0, false},
		{``, 0, false},
		{`{}`, 0, false},
	}
	for _, tt := range tests {
		num, ok := PlaceholderNum([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.num, num, tt.in)
	}
}

func TestResolveBinary(t *testing.T) {
	atts := [][]byte{{0}, {1}}
	b, ok := ResolveBinary([]byte(`{"num":1,"_placeholder":true}`), atts)
	require.True(t, ok)
	assert.Equal(t, []byte{1}, b)
	_, ok = ResolveBinary([]byte(`{"_placeholder":true,"num":2}`), atts)
	assert.False(t, ok)
	_, ok = ResolveBinary([]byte(`{"_placeholder":true,"num":0}`), nil)
	assert.False(t, ok, "no attachments: a plain object")
	_, ok = ResolveBinary([]byte(`"a"`), atts)
	assert.False(t, ok)
}

func TestUnmarshal(t *testing.T) {
	atts := [][]byte{[]byte("zero"), []byte("one")}
	raw := []byte(`{"name":"f","file":{"num":1,"_placeholder":true},"parts":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0.5}]}`)

	var s struct {
		Name  string
		File  []byte
		Parts [][]byte
	}
	require.NoError(t, Unmarshal(raw, atts, &s))
	assert.Equal(t, "f", s.Name)
	assert.Equal(t, []byte("one"), s.File)
	assert.Equal(t, [][]byte{[]byte("zero"), nil}, s.Parts)

	var v any
	require.NoError(t, Unmarshal(raw, atts, &v))
	assert.Equal(t, map[string]any{
		"name":  "f",
		"file":  []byte("one"),
		"parts": []any{[]byte("zero"), nil},
	}, v)

	// Top-level placeholder.
	var b []byte
	require.NoError(t, Unmarshal([]byte(`{"_placeholder":true,"num":0}`), atts, &b))
	assert.Equal(t, []byte("zero"), b)
	v = nil
	require.NoError(t, Unmarshal([]byte(`{"_placeholder":true,"num":1}`), atts, &v))
	assert.Equal(t, []byte("one"), v)

	// Without attachments nothing is replaced.
	v = nil
	require.NoError(t, Unmarshal([]byte(`{"_placeholder":true,"num":0}`), nil, &v))
	assert.Equal(t, map[string]any{"_placeholder": true, "num": 0.0}, v)

	// Placeholder pointing nowhere.
	assert.ErrorIs(t, Unmarshal([]byte(`[{"_placeholder":true,"num":2}]`), atts, &s.Parts), ErrInvalidPacket)
	assert.ErrorIs(t, Unmarshal([]byte(`[{"_placeholder":true,"num":2}]`), atts, &v), ErrInvalidPacket)
	// Bad JSON.
	assert.Error(t, Unmarshal([]byte(`[{"_placeholder":true,"num":0}`), atts, &s.Parts))
	assert.Error(t, Unmarshal([]byte(`[`), atts, &v))
}

func TestMarshalArgsMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, 0, -1, int8(-8), int16(300), int32(-70000), int64(math.MinInt64),
		uint(7), uint8(255), uint16(65535), uint32(1 << 31), uint64(math.MaxUint64),
		0.0, -0.0, 1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64,
		float32(1.1), float32(1e21), float32(1e-7), float32(3.4e38),
		"", "plain", `quote " backslash \ slash /`, "<script>&</script>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"héllo wörld 😀", "\u2028\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80",
		[]any{}, []any{1, "a", nil, []any{true}}, map[string]any{}, map[string]any{"b": 1, "a": []any{"x"}, "<": "&"},
		[]string{"typed"}, map[string]int{"z": 1, "a": 2}, struct {
			A int    `json:"a"`
			B []byte `json:"b"`
		}{1, []byte{1, 2}},
		json.Number("12.5e3"), []any(nil), map[string]any(nil),
	}
	for _, v := range values {
		got, atts, err := MarshalArgs(nil, []any{v})
		require.NoError(t, err, "%#v", v)
		assert.Nil(t, atts)
		want, err := json.Marshal([]any{v})
		require.NoError(t, err)
		if !sameJSON(want, got) {
			assert.Equal(t, string(want), string(got), "%#v", v)
		}
	}
	// Many map keys (more than the sort buffer).
	m := map[string]any{}
	for i := 0; i < 40; i++ {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('0'+i/26))] = i
	}
	got, _, err := MarshalArgs(nil, []any{m})
	require.NoError(t, err)
	want, _ := json.Marshal([]any{m})
	assert.Equal(t, string(want), string(got))
}

func TestMarshalArgsBinary(t *testing.T) {
	a, b, c := []byte("a"), []byte{}, []byte("c")
	data, atts, err := MarshalArgs([]byte("prefix"), []any{
		"upload",
		a,
		map[string]any{"thumb": c, "name": "x", "list": []any{1, b}},
		json.RawMessage(`{"keep" : "as is" }`),
		[]byte(nil),
	})
	require.NoError(t, err)
	assert.Equal(t, `prefix["upload",{"_placeholder":true,"num":0},{"list":[1,{"_placeholder":true,"num":1}],"name":"x","thumb":{"_placeholder":true,"num":2}},{"keep" : "as is" },{"_placeholder":true,"num":3}]`, string(data))
	require.Len(t, atts, 4)
	assert.Equal(t, a, atts[0])
	assert.Equal(t, b, atts[1])
	assert.Equal(t, c, atts[2])
	assert.Empty(t, atts[3])

	// What MarshalArgs produces decodes back to the same bytes.
	p := &Packet{Type: Event, Data: data[len("prefix"):], Attachments: atts}
	require.NoError(t, p.Validate())
	var d Decoder
	var got *Packet
	for _, f := range EncodeFrames(p) {
		got, err = d.Add(f)
		require.NoError(t, err)
	}
	require.NotNil(t, got)
	var v any
	require.NoError(t, Unmarshal(got.Data, got.Attachments, &v))
	assert.Equal(t, []any{"upload", a, map[string]any{"thumb": c, "name": "x", "list": []any{1.0, b}}, map[string]any{"keep": "as is"}, []byte{}}, v)
}

func TestMarshalArgsRawArg(t *testing.T) {
	// An argument received with placeholders 1 and 0 (in that order) of a
	// packet whose attachment 2 belongs to another argument.
	recv := [][]byte{[]byte("A0"), []byte("A1"), []byte("A2")}
	arg := RawArg{
		JSON:        []byte(`{"z":{"num":1,"_placeholder":true}, "y":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]}`),
		Attachments: recv,
	}
	data, atts, err := MarshalArgs(nil, []any{"echo", []byte("first"), arg, &RawArg{JSON: []byte(`[1, 2]`)}})
	require.NoError(t, err)
	assert.Equal(t, `["echo",{"_placeholder":true,"num":0},{"z":{"_placeholder":true,"num":1}, "y":[{"_placeholder":true,"num":2},{"_placeholder":true,"num":1}]},[1, 2]]`, string(data))
	assert.Equal(t, [][]byte{[]byte("first"), []byte("A1"), []byte("A0")}, atts)

	_, _, err = MarshalArgs(nil, []any{RawArg{JSON: []byte(`[{"_placeholder":true,"num":3}]`), Attachments: recv}})
	assert.ErrorIs(t, err, ErrUnsupportedValue)
	_, _, err = MarshalArgs(nil, []any{RawArg{JSON: []byte(`[`)}})
	assert.ErrorIs(t, err, ErrUnsupportedValue)
}

func TestMarshalArgsErrors(t *testing.T) {
	cyc := []any{nil}
	cyc[0] = cyc
	cm := map[string]any{}
	cm["self"] = cm
	for _, v := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), json.RawMessage(`{`), cyc, cm, make(chan int), func() {}} {
		dst := []byte("keep")
		got, atts, err := MarshalArgs(dst, []any{"a", v})
		assert.ErrorIs(t, err, ErrUnsupportedValue, "%T", v)
		assert.Equal(t, "keep", string(got))
		assert.Nil(t, atts)
	}
}

func TestMarshalArgsAllocations(t *testing.T) {
	buf := make([]byte, 0, 256)
	args := []any{"chat", "hello <world>", 42, 3.5, true, nil, map[string]any{"b": 1, "a": "x"}, []any{1, 2}}
	skipUnderRace(t)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, _, err = MarshalArgs(buf[:0], args)
		if err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}
