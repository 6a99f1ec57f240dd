package redis

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/room"
)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(strings.ReplaceAll(s, " ", "")) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hexDecode(s)
	require.NoError(t, err)
	return b
}

// Vectors written by notepack.io 3.0.1 (the Node adapter's codec).
const (
	// ["uid123", {type: 2, data: ["ev", Buffer<01 02 ff>, {a: 1.5, b: -3,
	// c: null, d: new Date(1700000000123), e: "é\u0001\"", f: [true,
	// false], g: 2**32, h: undefined}], nsp: "/"}, {rooms: ["r", 7],
	// except: [], flags: {volatile: true, timeout: 5000}}]
	notepackBroadcast = "93a675696431323383a47479706502a46461746193a26576c4030102ff87a161cb3ff8000000000000a162fda163c0a164d7ff1d5353006553f100a165a4c3a90122a16692c3c2a167cf0000000100000000a36e7370a12f83a5726f6f6d7392a17207a665786365707490a5666c61677382a8766f6c6174696c65c3a774696d656f7574cd1388"
	// {uid: "x", requestId: "abc", type: 9, packet: Buffer<09>}
	notepackAck = "84a3756964a178a9726571756573744964a3616263a47479706509a67061636b6574c40109"
	// [undefined, 1e21, 0.1, -0, 1e-7, -2147483649, 2**53]
	notepackNumbers = "97c0cf35c9adc5dea00000cb3fb999999999999a00cb3e7ad7f29abcaf48d3ffffffff7fffffffcf0020000000000000"
)

func TestDecodeNotepackBroadcast(t *testing.T) {
	r := mpReader{b: unhex(t, notepackBroadcast)}
	n, err := r.arrayLen()
	require.NoError(t, err)
	require.Equal(t, 3, n)
	uid, err := r.scalarString()
	require.NoError(t, err)
	assert.Equal(t, "uid123", uid)
	p, err := readPacket(&r)
	require.NoError(t, err)
	assert.True(t, p.ok)
	assert.Equal(t, int64(packetEvent), p.typ)
	assert.Equal(t, "/", p.nsp)
	assert.JSONEq(t, `["ev",{"_placeholder":true,"num":0},{"a":1.5,"b":-3,"c":null,"d":"2023-11-14T22:13:20.123Z","e":"é\u0001\"","f":[true,false],"g":4294967296}]`, string(p.data))
	assert.Equal(t, [][]byte{{1, 2, 255}}, p.atts)
	opts, err := readOpts(&r)
	require.NoError(t, err)
	assert.Equal(t, room.Options{Rooms: []string{"r", "7"}, Flags: room.Flags{Volatile: true}}, opts)
	assert.Equal(t, len(r.b), r.pos)
}

func TestDecodeNotepackAckAndNumbers(t *testing.T) {
	resp, err := readMsgpackResponse(unhex(t, notepackAck))
	require.NoError(t, err)
	assert.Equal(t, int64(reqBroadcastAck), resp.typ)
	assert.Equal(t, "abc", resp.requestID)
	assert.Equal(t, `[{"_placeholder":true,"num":0}]`, string(resp.args))
	assert.Equal(t, [][]byte{{9}}, resp.atts)

	r := mpReader{b: unhex(t, notepackNumbers)}
	out, err := r.appendJSON(nil, nil, 0)
	require.NoError(t, err)
	// notepack writes 1e21 (past 2**64) as a truncated uint64: read as is.
	assert.Equal(t, `[null,3875820019684212736,0.1,0,1e-7,-2147483649,9007199254740992]`, string(out))
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
		got, err := appendJSONAsMsgpack(nil, []byte(c.json), atts)
		if assert.NoError(t, err, c.json) {
			assert.Equal(t, c.hex, hex.EncodeToString(got), c.json)
		}
	}

	// Without attachments a placeholder-like object is a plain object (a
	// client may send one in an EVENT), not an error.
	got, err := appendJSONAsMsgpack(nil, []byte(`[{"_placeholder":true,"num":0}]`), nil)
	require.NoError(t, err)
	assert.Equal(t, "9182ac5f706c616365686f6c646572c3a36e756d00", hex.EncodeToString(got))

	// Long strings, maps and arrays get longer headers.
	long := strings.Repeat("x", 70000)
	got, err = appendJSONAsMsgpack(nil, []byte(`"`+long+`"`), nil)
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
	got, err = appendJSONAsMsgpack(nil, []byte(m.String()), nil)
	require.NoError(t, err)
	assert.Equal(t, "de0014a26b6101", hex.EncodeToString(got[:7]))
}

func TestJSONToMsgpackErrors(t *testing.T) {
	for _, bad := range []string{``, `[`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `"abc`, `"\x"`, `"\u12"`, `tru`, `nul`, `-`, `1.`, `1e`, `01x`, `[1] 2`, `{"_placeholder":true,"num":5}`, "\"a\x01\"", strings.Repeat("[", 300) + strings.Repeat("]", 300)} {
		_, err := appendJSONAsMsgpack(nil, []byte(bad), [][]byte{{1}})
		assert.ErrorIs(t, err, errMsgpack, "%q", bad)
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
		{"d50102ff", `null`}, // unknown extension
	}
	for _, c := range cases {
		r := mpReader{b: unhex(t, c.hex)}
		var atts [][]byte
		got, err := r.appendJSON(nil, &atts, 0)
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
		r := mpReader{b: unhex(t, bad)}
		_, err := r.appendJSON(nil, nil, 0)
		assert.ErrorIs(t, err, errMsgpack, "appendJSON %q", bad)
		r = mpReader{b: unhex(t, bad)}
		assert.ErrorIs(t, r.skip(), errMsgpack, "skip %q", bad)
	}
	deep := unhex(t, strings.Repeat("91", 300)+"c0")
	r := mpReader{b: deep}
	_, err := r.appendJSON(nil, nil, 0)
	assert.ErrorIs(t, err, errMsgpack)
	r = mpReader{b: deep}
	assert.ErrorIs(t, r.skip(), errMsgpack)
}

func TestRoundTrip(t *testing.T) {
	atts := [][]byte{{0}, {1, 2, 3}}
	for _, doc := range []string{
		`["message",{"_placeholder":true,"num":0},"é😀",{"x":[1,-2,3.25,null,true,{"_placeholder":true,"num":1}]}]`,
		`{"a":{"b":{"c":[[],{},""]}},"big":12345678901234,"neg":-9007199254740991,"f":-0.000001}`,
		`["` + strings.Repeat("é", 200) + `"]`,
	} {
		mp, err := appendJSONAsMsgpack(nil, []byte(doc), atts)
		require.NoError(t, err)
		r := mpReader{b: mp}
		var gotAtts [][]byte
		back, err := r.appendJSON(nil, &gotAtts, 0)
		require.NoError(t, err)
		assert.JSONEq(t, doc, string(back))
		want := 0
		if strings.Contains(doc, "_placeholder") {
			want = 2
		}
		assert.Len(t, gotAtts, want)
	}
}

func TestAckResponseEncoding(t *testing.T) {
	for _, c := range []struct {
		data     string
		atts     [][]byte
		wantArgs string
	}{
		{`["one"]`, nil, `["one"]`},
		{`[{"_placeholder":true,"num":0},2]`, [][]byte{{7}}, `[{"_placeholder":true,"num":0},2]`},
		{`[]`, nil, `[]`},
	} {
		b, err := appendAckResponse(nil, "req-1", room.Ack{Data: json.RawMessage(c.data), Attachments: c.atts})
		require.NoError(t, err)
		resp, err := readMsgpackResponse(b)
		require.NoError(t, err)
		assert.Equal(t, "req-1", resp.requestID)
		assert.Equal(t, int64(reqBroadcastAck), resp.typ)
		assert.JSONEq(t, c.wantArgs, string(resp.args))
		assert.Equal(t, c.atts, resp.atts)
	}
	// A Node.js requester reads the packet field: the first argument.
	b, err := appendAckResponse(nil, "r", room.Ack{Data: json.RawMessage(`["first","second"]`)})
	require.NoError(t, err)
	r := mpReader{b: b}
	var atts [][]byte
	obj, err := r.appendJSON(nil, &atts, 0)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":9,"requestId":"r","packet":"first","args":["first","second"]}`, string(obj))
}

func TestBroadcastEncoding(t *testing.T) {
	p := &room.Packet{Namespace: "/chat", Data: json.RawMessage(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{5, 6}}}
	b := appendArrayLen(nil, 3)
	b = appendStr(b, "me")
	b, err := appendPacket(b, p, "/chat")
	require.NoError(t, err)
	b = appendOpts(b, room.Options{Rooms: []string{"a"}, Except: []string{"b", "c"}, Flags: room.Flags{Volatile: true}}, 1500)
	r := mpReader{b: b}
	var atts [][]byte
	got, err := r.appendJSON(nil, &atts, 0)
	require.NoError(t, err)
	assert.JSONEq(t, `["me",{"type":2,"data":["ev",{"_placeholder":true,"num":0}],"nsp":"/chat"},{"rooms":["a"],"except":["b","c"],"flags":{"volatile":true,"timeout":1500}}]`, string(got))
	assert.Equal(t, [][]byte{{5, 6}}, atts)
}

func TestGlobEscape(t *testing.T) {
	assert.Equal(t, "socket.io#/#", globEscape("socket.io#/#"))
	assert.Equal(t, `k\*#/a\?\[b\]\\#`, globEscape(`k*#/a?[b]\#`))
}

func TestRoomList(t *testing.T) {
	var l roomList
	require.NoError(t, json.Unmarshal([]byte(`["a",1,2.5,true]`), &l))
	assert.Equal(t, roomList{"a", "1", "2.5", "true"}, l)
	b, err := json.Marshal(roomList(nil))
	require.NoError(t, err)
	assert.Equal(t, "[]", string(b))
	assert.Equal(t, json.RawMessage(`["x"]`), answerArgs(nil, json.RawMessage(`"x"`)))
	assert.Equal(t, json.RawMessage(`[1,2]`), answerArgs(json.RawMessage(`[1,2]`), json.RawMessage(`1`)))
	assert.Equal(t, json.RawMessage(`[]`), answerArgs(nil, nil))
	first, single := firstArg(json.RawMessage(`[{"a":1}]`))
	assert.Equal(t, `{"a":1}`, string(first))
	assert.True(t, single)
}
