package socketio

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// TestArgsPacketFrames: ArgsPacket.Frames gives the frames EncodeFrames
// gives for the packet MarshalArgs' array makes.
func TestArgsPacketFrames(t *testing.T) {
	bin := []byte{1, 2, 3}
	raw := RawArg{JSON: []byte(`{"f":{"_placeholder":true,"num":1}}`), Attachments: [][]byte{{9}, {8}}}
	tests := []struct {
		name string
		p    ArgsPacket
	}{
		{"ack empty", ArgsPacket{Type: Ack, ID: 7, HasID: true}},
		{"ack args", ArgsPacket{Type: Ack, ID: 7, HasID: true, Args: []any{"a<b", 1.5, nil, json.RawMessage(`{"x":[1]}`)}}},
		{"ack namespace", ArgsPacket{Type: Ack, Namespace: "/chat", ID: 0, HasID: true, Args: []any{map[string]any{"b": 1, "a": "é"}}}},
		{"event", ArgsPacket{Type: Event, Name: "news", Args: []any{"x", []any{true, 2}}}},
		{"event no args", ArgsPacket{Type: Event, Namespace: "/", Name: "ping"}},
		{"event id", ArgsPacket{Type: Event, Namespace: "/a", ID: 99, HasID: true, Name: "q\"uote", Args: []any{struct{ A int }{3}}}},
		{"binary event", ArgsPacket{Type: Event, Name: "up", Args: []any{"n", bin}}},
		{"binary ack", ArgsPacket{Type: Ack, Namespace: "/b", ID: 3, HasID: true, Args: []any{raw, bin}}},
		{"binary type, no binary", ArgsPacket{Type: BinaryAck, ID: 1, HasID: true, Args: []any{1}}},
		{"long string", ArgsPacket{Type: Ack, ID: 1, HasID: true, Args: []any{string(make([]byte, 300))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.p.Args
			if tt.p.Type == Event {
				args = append([]any{tt.p.Name}, args...)
			}
			data, atts, err := MarshalArgs(nil, args)
			require.NoError(t, err)
			want := EncodeFrames(&Packet{Type: tt.p.Type, Namespace: tt.p.Namespace, ID: tt.p.ID, HasID: tt.p.HasID, Data: data, Attachments: atts})

			got, err := tt.p.Frames()
			require.NoError(t, err)
			assert.Equal(t, want, got)

			gotData, gotAtts, err := tt.p.Data()
			require.NoError(t, err)
			assert.Equal(t, string(data), string(gotData))
			assert.Equal(t, atts, gotAtts)
		})
	}
}

func TestArgsPacketFramesErrors(t *testing.T) {
	for _, v := range []any{json.RawMessage(`{`), RawArg{JSON: []byte(`[`)}, func() {}} {
		p := ArgsPacket{Type: Ack, ID: 1, HasID: true, Args: []any{v}}
		_, err := p.Frames()
		assert.ErrorIs(t, err, ErrUnsupportedValue, "%T", v)
		_, _, err = p.Data()
		assert.ErrorIs(t, err, ErrUnsupportedValue, "%T", v)
	}
}

func TestArgsPacketTrusted(t *testing.T) {
	p, err := Decode([]byte(`2["e",{"z":1},[2],"s"]`))
	require.NoError(t, err)
	raw, err := SplitArgs(p.Data)
	require.NoError(t, err)
	received := raw[1:]

	// Invalid JSON in the very memory of a received argument shows that it
	// is not checked again; equal bytes elsewhere are.
	bad := []byte(`{"z":1}`)
	trusted := json.RawMessage(received[0])
	assert.True(t, isTrusted(trusted, received))
	assert.False(t, isTrusted(json.RawMessage(bad), received))
	assert.False(t, isTrusted(json.RawMessage(received[0][:3]), received), "a part of an argument is not the argument")
	assert.False(t, isTrusted(json.RawMessage{}, received))

	copy(received[1], `[[`) // corrupt "[2]" in place
	ap := ArgsPacket{Type: Ack, ID: 5, HasID: true, Args: []any{json.RawMessage(received[1])}, Trusted: received}
	frames, err := ap.Frames()
	require.NoError(t, err, "trusted JSON is written as it is")
	assert.Equal(t, []transport.Frame{{Data: []byte(`435[[[]]`)}}, frames)

	ap.Trusted = nil
	_, err = ap.Frames()
	assert.ErrorIs(t, err, ErrUnsupportedValue, "untrusted JSON is checked")
}

func TestArgsPacketFramesAllocs(t *testing.T) {
	p, err := Decode([]byte(`21["echo",{"a":"payload"}]`))
	require.NoError(t, err)
	raw, err := SplitArgs(p.Data)
	require.NoError(t, err)
	args := []any{json.RawMessage(raw[1]), "x", 3}
	ap := ArgsPacket{Type: Ack, Namespace: "/chat", ID: 1, HasID: true, Args: args, Trusted: raw[1:]}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ap.Frames(); err != nil {
			t.Fatal(err)
		}
	})
	assert.Equal(t, 2.0, allocs, "the text and the frame slice")
}

func TestEventName(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		ok   bool
	}{
		{`"echo"`, "echo", true},
		{`""`, "", true},
		{`"héllo wörld"`, "héllo wörld", true},
		{`"\u0065cho"`, "", false},
		{`"a\"b"`, "", false},
		{"\"a\tb\"", "", false},
		{"\"\xff\"", "", false},
		{`12`, "", false},
		{`"`, "", false},
		{`"x`, "", false},
	}
	for _, tt := range tests {
		got, ok := EventName([]byte(tt.raw))
		assert.Equal(t, tt.ok, ok, tt.raw)
		assert.Equal(t, tt.want, string(got), tt.raw)
	}
}

// FuzzEventName: a name EventName accepts is what encoding/json decodes.
func FuzzEventName(f *testing.F) {
	for _, s := range []string{`"echo"`, `"\u0065"`, `"a b"`, "\"\xc3\xa9\"", "\"\xff\"", `1`, `""`, `"\""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		name, ok := EventName(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("%q accepted, but encoding/json says %v", raw, err)
		}
		if string(name) != want {
			t.Fatalf("%q: %q, encoding/json %q", raw, name, want)
		}
	})
}

func TestAddTextTo(t *testing.T) {
	var d Decoder
	var p Packet
	got, err := d.AddTextTo([]byte(`2/chat,3["a",1]`), &p)
	require.NoError(t, err)
	assert.Same(t, &p, got)
	assert.Equal(t, Packet{Type: Event, Namespace: "/chat", ID: 3, HasID: true, Data: []byte(`["a",1]`)}, p)

	// A binary packet is kept by the decoder, not in p.
	got, err = d.AddTextTo([]byte(`51-["b",{"_placeholder":true,"num":0}]`), &p)
	require.NoError(t, err)
	assert.Nil(t, got)
	p = Packet{} // the caller reuses its packet
	got, err = d.AddBinary([]byte{7})
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.NotSame(t, &p, got)
	assert.Equal(t, BinaryEvent, got.Type)
	assert.Equal(t, [][]byte{{7}}, got.Attachments)

	_, err = d.AddTextTo([]byte(`2"x"`), &p)
	assert.ErrorIs(t, err, ErrInvalidPacket)

	text := []byte(`2/chat,3["a",1]`)
	allocs := testing.AllocsPerRun(100, func() {
		var p Packet
		if _, err := d.AddTextTo(text, &p); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

func TestSplitArgsAllocs(t *testing.T) {
	data := []byte(`["a",1,{"b":2},[3],null]`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := SplitArgs(data); err != nil {
			t.Fatal(err)
		}
	})
	assert.Equal(t, 1.0, allocs)
	got, err := SplitArgs([]byte(`[]`))
	require.NoError(t, err)
	assert.Nil(t, got)
}
