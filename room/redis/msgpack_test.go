package redis

import (
	"encoding/hex"
	"encoding/json"
	"github.com/go-realtime/realtime/internal/msgpack"
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
)

func TestDecodeNotepackBroadcast(t *testing.T) {
	r := msgpack.NewReader(unhex(t, notepackBroadcast), 0)
	n, err := r.ArrayLen()
	require.NoError(t, err)
	require.Equal(t, 3, n)
	uid, err := r.ScalarString()
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
	assert.True(t, r.Done())
}

func TestDecodeNotepackAck(t *testing.T) {
	resp, err := readMsgpackResponse(unhex(t, notepackAck))
	require.NoError(t, err)
	assert.Equal(t, int64(reqBroadcastAck), resp.typ)
	assert.Equal(t, "abc", resp.requestID)
	assert.Equal(t, `[{"_placeholder":true,"num":0}]`, string(resp.args))
	assert.Equal(t, [][]byte{{9}}, resp.atts)

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
	r := msgpack.NewReader(b, 0)
	var atts [][]byte
	obj, err := r.AppendJSON(nil, &atts)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":9,"requestId":"r","packet":"first","args":["first","second"]}`, string(obj))
}

func TestBroadcastEncoding(t *testing.T) {
	p := &room.Packet{Namespace: "/chat", Data: json.RawMessage(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{5, 6}}}
	b := msgpack.AppendArrayLen(nil, 3)
	b = msgpack.AppendStr(b, "me")
	b, err := appendPacket(b, p, "/chat")
	require.NoError(t, err)
	b = appendOpts(b, room.Options{Rooms: []string{"a"}, Except: []string{"b", "c"}, Flags: room.Flags{Volatile: true}}, 1500)
	r := msgpack.NewReader(b, 0)
	var atts [][]byte
	got, err := r.AppendJSON(nil, &atts)
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
