package socketio

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeAccepts(t *testing.T) {
	ph0 := `{"_placeholder":true,"num":0}`
	tests := []struct {
		in   string
		want Packet // Attachments: only the length matters
	}{
		// socket.io-protocol README / test-suite and socket.io-parser tests.
		{"0", Packet{Type: Connect, Namespace: "/"}},
		{"0/custom", Packet{Type: Connect, Namespace: "/custom"}},
		{"0/custom,", Packet{Type: Connect, Namespace: "/custom"}},
		{`0{"token":"123"}`, Packet{Type: Connect, Namespace: "/", Data: []byte(`{"token":"123"}`)}},
		{`0/admin,{"token":"123"}`, Packet{Type: Connect, Namespace: "/admin", Data: []byte(`{"token":"123"}`)}},
		{"1", Packet{Type: Disconnect, Namespace: "/"}},
		{"1/admin,", Packet{Type: Disconnect, Namespace: "/admin"}},
		{"1/custom", Packet{Type: Disconnect, Namespace: "/custom"}},
		{`2["foo"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["foo"]`)}},
		{`2["a",1,{}]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["a",1,{}]`)}},
		{`2/admin,12["bar"]`, Packet{Type: Event, Namespace: "/admin", ID: 12, HasID: true, Data: []byte(`["bar"]`)}},
		{`212["foo"]`, Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: []byte(`["foo"]`)}},
		{`3/admin,13["bar"]`, Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["bar"]`)}},
		{`3123["a",1,{}]`, Packet{Type: Ack, Namespace: "/", ID: 123, HasID: true, Data: []byte(`["a",1,{}]`)}},
		{`31[]`, Packet{Type: Ack, Namespace: "/", ID: 1, HasID: true, Data: []byte(`[]`)}},
		{`4{"message":"Invalid namespace"}`, Packet{Type: ConnectError, Namespace: "/", Data: []byte(`{"message":"Invalid namespace"}`)}},
		{`4"Unauthorized"`, Packet{Type: ConnectError, Namespace: "/", Data: []byte(`"Unauthorized"`)}},
		{`51-["hello",` + ph0 + `]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["hello",` + ph0 + `]`), Attachments: make([][]byte, 1)}},
		{`61-/admin,1[` + ph0 + `]`, Packet{Type: BinaryAck, Namespace: "/admin", ID: 1, HasID: true, Data: []byte(`[` + ph0 + `]`), Attachments: make([][]byte, 1)}},
		{`510-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 10)}},
		// Numeric event names: the reference checks typeof payload[0] ===
		// "number" (since socket.io-parser 4.0.4), any JSON number.
		{`2[1,"a",{}]`, Packet{Type: Event, Namespace: "/", Data: []byte(`[1,"a",{}]`)}},
		{`2[-1.5e3]`, Packet{Type: Event, Namespace: "/", Data: []byte(`[-1.5e3]`)}},
		{`2[1e400]`, Packet{Type: Event, Namespace: "/", Data: []byte(`[1e400]`)}},
		// Reserved names are compared exactly (case, escapes decoded).
		{`2["Connect"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["Connect"]`)}},
		{`2["connecting"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["connecting"]`)}},
		// Raw JSON kept byte for byte.
		{`2[ "a" , {"b":1,  "a":2} ] `, Packet{Type: Event, Namespace: "/", Data: []byte(`[ "a" , {"b":1,  "a":2} ] `)}},
		// A missing payload is never checked, whatever the type.
		{"2", Packet{Type: Event, Namespace: "/"}},
		{"3/admin,", Packet{Type: Ack, Namespace: "/admin"}},
		{"4", Packet{Type: ConnectError, Namespace: "/"}},
		{"51-", Packet{Type: BinaryEvent, Namespace: "/", Attachments: make([][]byte, 1)}},
		// Ids on any type.
		{"11", Packet{Type: Disconnect, Namespace: "/", ID: 1, HasID: true}},
		{"01{}", Packet{Type: Connect, Namespace: "/", ID: 1, HasID: true, Data: []byte(`{}`)}},
		{`2007["a"]`, Packet{Type: Event, Namespace: "/", ID: 7, HasID: true, Data: []byte(`["a"]`)}},
		{`218446744073709551615["a"]`, Packet{Type: Event, Namespace: "/", ID: 18446744073709551615, HasID: true, Data: []byte(`["a"]`)}},
		// Namespaces: anything up to ',' or the end.
		{"0/", Packet{Type: Connect, Namespace: "/"}},
		{"0/,", Packet{Type: Connect, Namespace: "/"}},
		{`2/a b,["x"]`, Packet{Type: Event, Namespace: "/a b", Data: []byte(`["x"]`)}},
		{`2/é/ü,["x"]`, Packet{Type: Event, Namespace: "/é/ü", Data: []byte(`["x"]`)}},
		// JavaScript quirks the reference has (Number() of characters).
		{" ", Packet{Type: Connect, Namespace: "/"}},                                                  // white space type = 0
		{"\u00a0{}", Packet{Type: Connect, Namespace: "/", Data: []byte(`{}`)}},                       // NBSP too
		{`2 ["a"]`, Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: []byte(`["a"]`)}},   // Number(" ") == 0
		{`2 7 ["a"]`, Packet{Type: Event, Namespace: "/", ID: 7, HasID: true, Data: []byte(`["a"]`)}}, // Number(" 7 ") == 7
		{"4123", Packet{Type: ConnectError, Namespace: "/", ID: 123, HasID: true}},
		// Placeholders are only checked once the attachments arrived.
		{`53-["hello",{"_placeholder":true,"num":9}]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["hello",{"_placeholder":true,"num":9}]`), Attachments: make([][]byte, 3)}},
		{`21 2["a"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["a"]`)}},                  // NaN id: accepted, no ack
		{`299999999999999999999["a"]`, Packet{Type: Event, Namespace: "/", Data: []byte(`["a"]`)}}, // beyond uint64
		{`5 1-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 1)}},
		{`50x2-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 2)}},
		{`51e0-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 1)}},
		{`51.0-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 1)}},
		{`5+3-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 3)}},
		{`50b11-["a"]`, Packet{Type: BinaryEvent, Namespace: "/", Data: []byte(`["a"]`), Attachments: make([][]byte, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Decode([]byte(tt.in))
			require.NoError(t, err)
			assertPacket(t, &tt.want, p)
		})
	}
}

func assertPacket(t *testing.T, want, got *Packet) {
	t.Helper()
	assert.Equal(t, want.Type, got.Type, "type")
	assert.Equal(t, want.Namespace, got.Namespace, "namespace")
	assert.Equal(t, want.HasID, got.HasID, "has id")
	assert.Equal(t, want.ID, got.ID, "id")
	assert.Equal(t, string(want.Data), string(got.Data), "data")
	assert.Equal(t, want.Data == nil, got.Data == nil, "data presence")
	assert.Len(t, got.Attachments, len(want.Attachments), "attachments")
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		in   string
		want error // ErrInvalidPacket unless set
	}{
		{"999", nil},          // unknown type 9
		{"7", nil},            // unknown type 7
		{"a", nil},            // NaN type
		{"-1", nil},           // NaN type
		{"\u0085", nil},       // NEL is not JavaScript white space
		{"", nil},             // deliberate: see package doc
		{"2\xff[\"a\"]", nil}, // deliberate: not UTF-8
		{`2["connect"]`, nil}, // reserved names
		{`2["connect_error"]`, nil},
		{`2["disconnect","123"]`, nil},
		{`2["disconnecting"]`, nil},
		{`2["newListener"]`, nil},
		{`2["removeListener"]`, nil},
		{`2["conn\u0065ct"]`, nil}, // escapes are decoded first
		{`2[]`, nil},               // no event name
		{`2{}`, nil},
		{`2abc`, nil},
		{`2"a"`, nil},
		{`2[{"toString":"foo"}]`, nil},
		{`2[true,"foo"]`, nil},
		{`2[null,"bar"]`, nil},
		{`2[["a"]]`, nil},
		{`2/admin,"invalid`, nil},
		{`2/admin,{}`, nil},
		{`442["some","data"`, nil}, // CONNECT_ERROR with id 42 and bad JSON
		{`2["a"`, nil},
		{`2["a"]x`, nil},
		{`2/admin,1{`, nil},
		{`3{}`, nil},
		{`3"a"`, nil},
		{`3/admin,1{}`, nil},
		{`0"str"`, nil},
		{`0/admin,"invalid"`, nil},
		{`0[]`, nil},
		{`0null`, nil},
		{`0x`, nil},
		{`1{}`, nil}, // DISCONNECT takes no payload
		{`1/admin,{}`, nil},
		{`1/admin,x`, nil},
		{`4[]`, nil},
		{`4/a,true`, nil},
		// Attachments: "N-" must be an integer from 1 to MaxAttachments.
		{"5", nil},
		{"51", nil},
		{"50-", nil},
		{`5-["a"]`, nil},
		{"5a-", nil},
		{"51.23-", nil},
		{`5 -["a"]`, nil},
		{`5Infinity-["a"]`, nil},
		{`50x-["a"]`, nil},
		{`51_0-["a"]`, nil},
		{`5+0x1-["a"]`, nil},
		{`511-["a"]`, ErrTooManyAttachments},
		{`6/admin,1-[]`, nil},
		{`51-["connect"]`, nil},
		{`51-{}`, nil},
		{`61-{}`, nil},
		{`2[` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]`, ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Decode([]byte(tt.in))
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, ErrInvalidPacket)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "socketio: invalid packet: "), err.Error())
		})
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	nest := func(n int) []byte {
		return []byte(`2["a",` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `]`)
	}
	_, err := Decode(nest(DefaultMaxDepth))
	require.NoError(t, err)
	_, err = Decode(nest(DefaultMaxDepth + 1))
	require.ErrorIs(t, err, ErrTooDeep)

	// Brackets inside strings do not count.
	_, err = Decode([]byte(`2["` + strings.Repeat("[", 100) + `\"` + `"]`))
	require.NoError(t, err)

	d := Decoder{MaxDepth: 3}
	_, err = d.AddText([]byte(`2["a",[[1]]]`))
	require.NoError(t, err)
	_, err = d.AddText([]byte(`2["a",[[[1]]]]`))
	require.ErrorIs(t, err, ErrTooDeep)

	d = Decoder{MaxDepth: -1}
	_, err = d.AddText(nest(500))
	require.NoError(t, err)
}

func TestPacketTypeString(t *testing.T) {
	assert.Equal(t, "CONNECT", Connect.String())
	assert.Equal(t, "BINARY_ACK", BinaryAck.String())
	assert.Equal(t, "CONNECT_ERROR", ConnectError.String())
	assert.Equal(t, "PacketType(9)", PacketType(9).String())
	assert.True(t, BinaryEvent.IsBinary())
	assert.False(t, Event.IsBinary())
}

func TestJSNumber(t *testing.T) {
	tests := []struct {
		in string
		v  float64
		ok bool
	}{
		{"", 0, true}, {" ", 0, true}, {"1", 1, true}, {" 12\u3000", 12, true}, {"+1", 1, true},
		{"1.", 1, true}, {".5", 0.5, true}, {"+.5", 0.5, true}, {"1e2", 100, true}, {"1E+2", 100, true},
		{"0x1f", 31, true}, {"0XF", 15, true}, {"0o17", 15, true}, {"0b101", 5, true},
		{"Infinity", 0, true}, {"+Infinity", 0, true},
		{"0x", 0, false}, {"0b2", 0, false}, {"+0x1", 0, false}, {"1_0", 0, false}, {".", 0, false},
		{"e1", 0, false}, {"1e", 0, false}, {"infinity", 0, false}, {"1 2", 0, false}, {"a", 0, false},
		{"inf", 0, false}, {"nan", 0, false}, {"0x1p2", 0, false},
	}
	for _, tt := range tests {
		v, ok := jsNumber([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		if ok && !strings.Contains(tt.in, "Infinity") {
			assert.Equal(t, tt.v, v, "%q", tt.in)
		}
	}
}

func TestErrorsWrap(t *testing.T) {
	assert.True(t, errors.Is(ErrTooManyAttachments, ErrInvalidPacket))
	assert.True(t, errors.Is(ErrTooDeep, ErrInvalidPacket))
	assert.Equal(t, "socketio: invalid packet: too many attachments", ErrTooManyAttachments.Error())
}
