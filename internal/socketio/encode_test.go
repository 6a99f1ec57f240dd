package socketio

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

func TestAppendPacket(t *testing.T) {
	ph0 := `{"_placeholder":true,"num":0}`
	att := [][]byte{{1, 2, 3}}
	tests := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: Connect}, "0"},
		{Packet{Type: Connect, Namespace: "/"}, "0"},
		{Packet{Type: Connect, Namespace: "/admin", Data: []byte(`{"sid":"x"}`)}, `0/admin,{"sid":"x"}`},
		{Packet{Type: Disconnect, Namespace: "/custom"}, "1/custom,"},
		{Packet{Type: Event, Data: []byte(`["foo"]`)}, `2["foo"]`},
		{Packet{Type: Event, Namespace: "/admin", ID: 12, HasID: true, Data: []byte(`["bar"]`)}, `2/admin,12["bar"]`},
		{Packet{Type: Event, ID: 0, HasID: true, Data: []byte(`["a"]`)}, `20["a"]`},
		{Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: []byte(`["bar"]`)}, `3/admin,13["bar"]`},
		{Packet{Type: ConnectError, Namespace: "/random", Data: []byte(`{"message":"Invalid namespace"}`)}, `4/random,{"message":"Invalid namespace"}`},
		{Packet{Type: BinaryEvent, Data: []byte(`["hello",` + ph0 + `]`), Attachments: att}, `51-["hello",` + ph0 + `]`},
		{Packet{Type: BinaryAck, Namespace: "/admin", ID: 1, HasID: true, Data: []byte(`[` + ph0 + `]`), Attachments: att}, `61-/admin,1[` + ph0 + `]`},
		// The type follows the attachments.
		{Packet{Type: Event, Data: []byte(`["a",` + ph0 + `]`), Attachments: att}, `51-["a",` + ph0 + `]`},
		{Packet{Type: Ack, ID: 4, HasID: true, Data: []byte(`[` + ph0 + `]`), Attachments: att}, `61-4[` + ph0 + `]`},
		{Packet{Type: BinaryEvent, Data: []byte(`["a"]`)}, `2["a"]`},
		{Packet{Type: BinaryAck, ID: 2, HasID: true, Data: []byte(`[]`)}, `32[]`},
		{Packet{Type: Event, Data: []byte(`["a"]`), Attachments: make([][]byte, 12)}, `512-["a"]`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := AppendPacket([]byte{'4'}, &tt.p)
			assert.Equal(t, "4"+tt.want, string(got))

			frames := EncodeFrames(&tt.p)
			require.NotEmpty(t, frames)
			assert.Equal(t, transport.Frame{Data: []byte("4" + tt.want)}, frames[0])
			if tt.p.Type != Connect && len(tt.p.Attachments) > 0 {
				require.Len(t, frames, 1+len(tt.p.Attachments))
				for i, a := range tt.p.Attachments {
					assert.True(t, frames[1+i].Binary)
					assert.Equal(t, a, frames[1+i].Data)
				}
			} else {
				assert.Len(t, frames, 1)
			}
		})
	}
}

func TestEncodeFramesNoAttachmentsOnOtherTypes(t *testing.T) {
	p := &Packet{Type: Connect, Data: []byte(`{}`), Attachments: [][]byte{{1}}}
	frames := EncodeFrames(p)
	require.Len(t, frames, 1)
	assert.Equal(t, "40{}", string(frames[0].Data))
	assert.ErrorIs(t, p.Validate(), ErrInvalidPacket)
}

func TestAppendPacketDoesNotAllocate(t *testing.T) {
	p := &Packet{Type: Event, Namespace: "/chat", ID: 42, HasID: true, Data: []byte(`["chat",{"a":1}]`)}
	buf := make([]byte, 0, 64)
	skipUnderRace(t)
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendPacket(append(buf[:0], '4'), p)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, `42/chat,42["chat",{"a":1}]`, string(buf))
}

func TestRoundTrip(t *testing.T) {
	att := [][]byte{{1}, {2, 2}, {}}
	packets := []Packet{
		{Type: Connect, Namespace: "/"},
		{Type: Connect, Namespace: "/admin", Data: []byte(`{"token":"123"}`)},
		{Type: Disconnect, Namespace: "/x"},
		{Type: Event, Namespace: "/", Data: []byte(`["a",{"b":1,"a":[1,2,3]}, null]`)},
		{Type: Event, Namespace: "/n", ID: 18446744073709551615, HasID: true, Data: []byte(`[1]`)},
		{Type: Ack, Namespace: "/", ID: 0, HasID: true, Data: []byte(`[]`)},
		{Type: ConnectError, Namespace: "/", Data: []byte(`"nope"`)},
		{Type: BinaryEvent, Namespace: "/b", ID: 3, HasID: true, Attachments: att,
			Data: []byte(`["bin",{"_placeholder":true,"num":0},{"x":[{"num":1,"_placeholder":true}]},{"_placeholder":true,"num":2}]`)},
		{Type: BinaryAck, Namespace: "/", ID: 9, HasID: true, Attachments: att[:1],
			Data: []byte(`[{"_placeholder":true,"num":0}]`)},
	}
	for _, p := range packets {
		t.Run(string(AppendPacket(nil, &p)), func(t *testing.T) {
			require.NoError(t, p.Validate())
			var d Decoder
			var got *Packet
			for i, f := range EncodeFrames(&p) {
				q, err := d.Add(f)
				require.NoError(t, err)
				if i < len(p.Attachments) {
					require.Nil(t, q)
				} else {
					got = q
				}
			}
			require.NotNil(t, got)
			assertPacket(t, &p, got)
			assert.Equal(t, p.Attachments, got.Attachments)
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []Packet{
		{Type: 7},
		{Type: Event, Namespace: "admin", Data: []byte(`["a"]`)},
		{Type: Event, Namespace: "/a,b", Data: []byte(`["a"]`)},
		{Type: Event, Namespace: "/\xff", Data: []byte(`["a"]`)},
		{Type: Event, Data: []byte(`["connect"]`)},
		{Type: Event, Data: []byte(`[]`)},
		{Type: Event, Data: []byte(`["a"`)},
		{Type: Event, Data: []byte("[\"\xff\"]")},
		{Type: Disconnect, Data: []byte(`{}`)},
		{Type: Connect, Data: []byte(`[]`)},
		{Type: Ack, Data: []byte(`{}`)},
		{Type: ConnectError, Data: []byte(`1`)},
		{Type: BinaryEvent, Data: []byte(`["a",{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}}},
		{Type: BinaryEvent, Data: []byte(`["a",{"_placeholder":true}]`), Attachments: [][]byte{{1}}},
		{Type: Disconnect, Attachments: [][]byte{{1}}},
	}
	for _, p := range bad {
		err := p.Validate()
		assert.ErrorIs(t, err, ErrInvalidPacket, "%+v", p)
	}
	good := []Packet{
		{Type: Event},
		{Type: Event, Namespace: "/", Data: []byte(`[1]`)},
		{Type: Ack, Namespace: "/é", ID: 1, HasID: true, Data: []byte(`[]`)},
		{Type: BinaryEvent, Data: []byte(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}},
		{Type: ConnectError, Data: []byte(`{"message":"x","data":[1]}`)},
	}
	for _, p := range good {
		assert.NoError(t, p.Validate(), "%+v", p)
	}
}
