package msgpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/socketio"
)

// Packets as socket.io-msgpack-parser 3.0.2's Encoder (notepack.io 2.2.0)
// writes them: from socket.io-client (decoded by the server) and, with
// their fields in the order AppendPacket writes them, from the server.
var (
	clientVectors = []struct {
		name, hex string
		want      socketio.Packet
	}{
		{"connect", "83a47479706500a36e7370a12fa46461746181a5746f6b656ea3616263",
			socketio.Packet{Type: socketio.Connect, Namespace: "/", Data: []byte(`{"token":"abc"}`)}},
		{"connect without auth", "82a47479706500a36e7370a12f",
			socketio.Packet{Type: socketio.Connect, Namespace: "/"}},
		{"event with a Buffer and an id", "84a47479706502a36e7370a52f63686174a46461746193a36d7367c40301020382a161cb3ff8000000000000a16292c3c0a2696407",
			socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/chat", ID: 7, HasID: true,
				Data: []byte(`["msg",{"_placeholder":true,"num":0},{"a":1.5,"b":[true,null]}]`), Attachments: [][]byte{{1, 2, 3}}}},
		{"event with a Uint8Array", "83a47479706502a36e7370a12fa46461746192a362696ec702000908",
			socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/", Data: []byte(`["bin",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{9, 8}}}},
		{"ack with a Buffer", "84a47479706503a36e7370a12fa46461746192c401ffa26f6ba26964cd012c",
			socketio.Packet{Type: socketio.BinaryAck, Namespace: "/", ID: 300, HasID: true,
				Data: []byte(`[{"_placeholder":true,"num":0},"ok"]`), Attachments: [][]byte{{255}}}},
		{"disconnect", "82a47479706501a36e7370a12f",
			socketio.Packet{Type: socketio.Disconnect, Namespace: "/"}},
		{"event with a Date", "83a47479706502a36e7370a12fa46461746192a164d7000000018bcfe5687b",
			socketio.Packet{Type: socketio.Event, Namespace: "/", Data: []byte(`["d","2023-11-14T22:13:20.123Z"]`)}},
		{"undefined argument and id", "84a47479706502a36e7370a12fa46461746192a175d40000a26964d40000",
			socketio.Packet{Type: socketio.Event, Namespace: "/", Data: []byte(`["u",null]`)}},
	}
	serverVectors = []struct {
		hex string
		p   socketio.Packet
	}{
		{"84a47479706502a46461746193a36d7367c40301020384a161cb3ff8000000000000a16292c3c0a163f9a3626967cf0000010000000000a2696407a36e7370a52f63686174",
			socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/chat", ID: 7, HasID: true,
				Data: []byte(`["msg",{"_placeholder":true,"num":0},{"a":1.5,"b":[true,null],"c":-7,"big":1099511627776}]`), Attachments: [][]byte{{1, 2, 3}}}},
		{"83a47479706500a46461746182a3736964a3616263a3706964a378797aa36e7370a12f",
			socketio.Packet{Type: socketio.Connect, Data: []byte(`{"sid":"abc","pid":"xyz"}`)}},
		{"82a47479706501a36e7370a62f61646d696e",
			socketio.Packet{Type: socketio.Disconnect, Namespace: "/admin"}},
		{"84a47479706503a46461746191c5012c" + strings.Repeat("07", 300) + "a26964ce00011170a36e7370a12f",
			socketio.Packet{Type: socketio.Ack, Namespace: "/", ID: 70000, HasID: true,
				Data: []byte(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{bytes.Repeat([]byte{7}, 300)}}},
		{"83a47479706504a46461746181a76d657373616765b1496e76616c6964206e616d657370616365a36e7370a22f78",
			socketio.Packet{Type: socketio.ConnectError, Namespace: "/x", Data: []byte(`{"message":"Invalid namespace"}`)}},
	}
)

func TestDecodePacketFromClient(t *testing.T) {
	for _, v := range clientVectors {
		t.Run(v.name, func(t *testing.T) {
			var p socketio.Packet
			require.NoError(t, DecodePacket(unhex(t, v.hex), Limits{}, &p))
			assert.Equal(t, v.want.Type, p.Type)
			assert.Equal(t, v.want.Namespace, p.Namespace)
			assert.Equal(t, v.want.HasID, p.HasID)
			assert.Equal(t, v.want.ID, p.ID)
			if v.want.Data == nil {
				assert.Nil(t, p.Data)
			} else {
				assert.JSONEq(t, string(v.want.Data), string(p.Data))
			}
			assert.Equal(t, v.want.Attachments, p.Attachments)
			assert.NoError(t, p.Validate())
		})
	}
}

func TestEncodePacketAsNotepack(t *testing.T) {
	for _, v := range serverVectors {
		frames, err := EncodeFrames(&v.p)
		require.NoError(t, err)
		require.Len(t, frames, 1)
		assert.True(t, frames[0].Binary)
		assert.Equal(t, v.hex, hex.EncodeToString(frames[0].Data), "%s %s", v.p.Type, v.p.Data)

		// And back: the same packet (Ack with attachments reads as BinaryAck).
		var back socketio.Packet
		require.NoError(t, DecodePacket(frames[0].Data, Limits{}, &back))
		want := v.p
		if want.Namespace == "" {
			want.Namespace = "/"
		}
		if want.Type == socketio.Ack && len(want.Attachments) > 0 {
			want.Type = socketio.BinaryAck
		}
		assert.Equal(t, want, back)
	}
}

func TestEncodePacketErrors(t *testing.T) {
	for _, p := range []socketio.Packet{
		{Type: socketio.Event, Data: []byte(`["a",`)},
		{Type: socketio.Event, Data: []byte(`["a",{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}}},
	} {
		b, err := AppendPacket([]byte("x"), &p)
		assert.Error(t, err, string(p.Data))
		assert.Equal(t, "x", string(b))
	}
}

// mp builds a msgpack packet map from field name and value hex pairs.
func mp(fields ...string) string {
	var sb strings.Builder
	sb.WriteString(hex.EncodeToString(AppendMapLen(nil, len(fields)/2)))
	for i := 0; i < len(fields); i += 2 {
		sb.WriteString(hex.EncodeToString(AppendStr(nil, fields[i])))
		sb.WriteString(fields[i+1])
	}
	return sb.String()
}

func TestDecodePacketRefuses(t *testing.T) {
	nsp := "a12f"         // "/"
	ev := "91a161"        // ["a"]
	bin := "92a161c40101" // ["a", <01>]
	deep := strings.Repeat("91", 33) + "c0"
	for _, c := range []struct{ name, hex string }{
		{"empty", ""},
		{"not a map", "92a161a162"},
		{"nil", "c0"},
		{"truncated", mp("type", "02", "nsp", nsp, "data", ev)[:20]},
		{"trailing bytes", mp("type", "02", "nsp", nsp, "data", ev) + "c0"},
		{"no type", mp("nsp", nsp, "data", ev)},
		{"type 5", mp("type", "05", "nsp", nsp, "data", ev)},
		{"type -1", mp("type", "ff", "nsp", nsp, "data", ev)},
		{"type as a string", mp("type", "a132", "nsp", nsp, "data", ev)},
		{"type 2.5", mp("type", "cb4004000000000000", "nsp", nsp, "data", ev)},
		{"type overridden by a bad one", mp("type", "02", "type", "c0", "nsp", nsp, "data", ev)},
		{"no nsp", mp("type", "02", "data", ev)},
		{"nsp a number", mp("type", "02", "nsp", "01", "data", ev)},
		{"nsp as bin", mp("type", "02", "nsp", "c4012f", "data", ev)},
		{"nsp not UTF-8", mp("type", "02", "nsp", "a2c328", "data", ev)},
		{"event without data", mp("type", "02", "nsp", nsp)},
		{"event with undefined data", mp("type", "02", "nsp", nsp, "data", "d40000")},
		{"event data an object", mp("type", "02", "nsp", nsp, "data", "81a161a162")},
		{"event data empty", mp("type", "02", "nsp", nsp, "data", "90")},
		{"event name an object", mp("type", "02", "nsp", nsp, "data", "9180")},
		{"reserved event name", mp("type", "02", "nsp", nsp, "data", "91aa646973636f6e6e656374")},
		{"ack without data", mp("type", "03", "nsp", nsp, "id", "01")},
		{"ack data a string", mp("type", "03", "nsp", nsp, "id", "01", "data", "a161")},
		{"connect data an array", mp("type", "00", "nsp", nsp, "data", "90")},
		{"connect with binary auth", mp("type", "00", "nsp", nsp, "data", "81a161c40101")},
		{"disconnect with data", mp("type", "01", "nsp", nsp, "data", "80")},
		{"connect_error without data", mp("type", "04", "nsp", nsp)},
		{"connect_error data a number", mp("type", "04", "nsp", nsp, "data", "01")},
		{"id negative", mp("type", "02", "nsp", nsp, "data", ev, "id", "ff")},
		{"id a fraction", mp("type", "02", "nsp", nsp, "data", ev, "id", "cb3ff8000000000000")},
		{"id a string", mp("type", "02", "nsp", nsp, "data", ev, "id", "a131")},
		{"id nil", mp("type", "02", "nsp", nsp, "data", ev, "id", "c0")},
		{"id past int64", mp("type", "02", "nsp", nsp, "data", ev, "id", "cfffffffffffffffff")},
		{"too deep", mp("type", "02", "nsp", nsp, "data", "92a161"+deep)},
		{"too deep in an ignored field", mp("type", "02", "nsp", nsp, "data", ev, "x", strings.Repeat("91", 300)+"c0")},
		{"too many binaries", mp("type", "02", "nsp", nsp, "data", "9ca161"+strings.Repeat("c40101", 11))},
		{"unknown msgpack type", mp("type", "02", "nsp", nsp, "data", "92a161c1")},
		{"length past the end", mp("type", "02", "nsp", nsp, "data", "dd7fffffff")},
	} {
		b, err := hex.DecodeString(c.hex)
		require.NoError(t, err, c.name)
		var p socketio.Packet
		err = DecodePacket(b, Limits{}, &p)
		assert.ErrorIs(t, err, socketio.ErrInvalidPacket, c.name)
		assert.Equal(t, socketio.Packet{}, p, c.name)
	}

	// What it accepts near those limits.
	for _, c := range []struct{ name, hex string }{
		{"deep enough", mp("type", "02", "nsp", nsp, "data", "92a161"+strings.Repeat("91", 30)+"c0")},
		{"ten binaries", mp("type", "02", "nsp", nsp, "data", "9ba161"+strings.Repeat("c40101", 10))},
		{"last field wins", mp("type", "c0", "type", "02", "nsp", "01", "nsp", nsp, "data", "80", "data", bin)},
		{"numeric event name", mp("type", "02", "nsp", nsp, "data", "9107")},
		{"id as a whole float", mp("type", "02", "nsp", nsp, "data", ev, "id", "cb4008000000000000")},
		{"other fields", mp("type", "02", "nsp", nsp, "data", ev, "options", "81a8636f6d7072657373c3", "01", "c0")},
		{"namespace without a slash", mp("type", "00", "nsp", "a3612c62")},
		{"connect_error string", mp("type", "04", "nsp", nsp, "data", "a161")},
	} {
		var p socketio.Packet
		assert.NoError(t, DecodePacket(unhex(t, c.hex), Limits{}, &p), c.name)
	}
	var p socketio.Packet
	require.NoError(t, DecodePacket(unhex(t, mp("type", "02", "nsp", nsp, "data", ev, "id", "cb4008000000000000")), Limits{}, &p))
	assert.Equal(t, socketio.Packet{Type: socketio.Event, Namespace: "/", ID: 3, HasID: true, Data: []byte(`["a"]`)}, p)
	require.NoError(t, DecodePacket(unhex(t, mp("type", "c0", "type", "02", "nsp", "01", "nsp", nsp, "data", "80", "data", bin)), Limits{}, &p))
	assert.Equal(t, socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/", Data: []byte(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1}}}, p)

	// The limits are the caller's.
	b := unhex(t, mp("type", "02", "nsp", nsp, "data", bin))
	assert.ErrorIs(t, DecodePacket(b, Limits{MaxAttachments: -1}, &p), socketio.ErrTooManyAttachments)
	b = unhex(t, mp("type", "02", "nsp", nsp, "data", "92a161919190"))
	assert.NoError(t, DecodePacket(b, Limits{MaxDepth: 4}, &p))
	assert.ErrorIs(t, DecodePacket(b, Limits{MaxDepth: 3}, &p), socketio.ErrInvalidPacket)
}

// FuzzDecodePacket: any input is refused with ErrInvalidPacket or decodes
// to a valid packet that encodes back to one decoding the same.
func FuzzDecodePacket(f *testing.F) {
	for _, v := range clientVectors {
		b, _ := hex.DecodeString(v.hex)
		f.Add(b)
	}
	for _, v := range serverVectors {
		b, _ := hex.DecodeString(v.hex)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p socketio.Packet
		if err := DecodePacket(b, Limits{}, &p); err != nil {
			if !errorsIsInvalid(err) {
				t.Fatalf("error %v does not wrap ErrInvalidPacket", err)
			}
			return
		}
		if err := p.Validate(); err != nil && !strings.Contains(err.Error(), "namespace") {
			t.Fatalf("decoded an invalid packet %+v: %v", p, err)
		}
		enc, err := AppendPacket(nil, &p)
		if err != nil {
			t.Fatalf("%+v does not encode: %v", p, err)
		}
		var back socketio.Packet
		if err := DecodePacket(enc, Limits{}, &back); err != nil {
			t.Fatalf("%x (from %x) does not decode: %v", enc, b, err)
		}
		if back.Type != p.Type || back.Namespace != p.Namespace || back.ID != p.ID || back.HasID != p.HasID ||
			len(back.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip: %+v became %+v", p, back)
		}
		// The JSON may differ in form (an escaped U+FFFD comes back as
		// UTF-8), not in meaning: it encodes the same.
		again, err := AppendPacket(nil, &back)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("round trip: %x became %x (%v)", enc, again, err)
		}
	})
}

func errorsIsInvalid(err error) bool { return errors.Is(err, socketio.ErrInvalidPacket) }
