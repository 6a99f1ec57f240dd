package redis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/go-realtime/realtime/internal/msgpack"
	"testing"

	"github.com/go-realtime/realtime/room"
)

// FuzzBroadcastMessage feeds arbitrary bytes to the decoding of broadcast
// messages, requests and responses: no panic, no hang.
func FuzzBroadcastMessage(f *testing.F) {
	for _, s := range []string{notepackBroadcast, notepackAck, "93a0c0c0", "85a3756964a178a9726571756573744964a3616263a47479706507a67061636b657480a46f70747380"} {
		b, _ := hexDecode(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := msgpack.NewReader(data, 0)
		if n, err := r.ArrayLen(); err == nil && n >= 3 {
			if _, err := r.ScalarString(); err == nil {
				if _, err := readPacket(&r); err == nil {
					_, _ = readOpts(&r)
				}
			}
		}
		_, _ = readMsgpackResponse(data)
		var req jsonRequest
		_ = json.Unmarshal(data, &req)
	})
}

// FuzzShardMessage feeds arbitrary bytes (JSON or msgpack) to the decoding
// of sharded-protocol messages: no panic, no hang.
func FuzzShardMessage(f *testing.F) {
	a := &Adapter{node: &node{uid: "fuzz", mode: Dynamic}, name: "/"}
	bin, _ := a.encodeShardBroadcast("id1", &room.Packet{Data: []byte(`["ev",{"_placeholder":true,"num":0}]`),
		Attachments: [][]byte{{1, 2}}}, room.Options{Rooms: []string{"r"}}, 100)
	plain, _ := a.encodeShardBroadcast("", &room.Packet{Data: []byte(`["ev",1]`)}, room.Options{Except: []string{"x"}}, 0)
	ack, _ := a.encodeShardAck("id1", room.Ack{Data: []byte(`[{"_placeholder":true,"num":0},2]`), Attachments: [][]byte{{9}}})
	for _, s := range []string{string(bin), string(plain), string(ack),
		`{"uid":"n","nsp":"/","type":8,"data":{"requestId":"r","sockets":[]}}`,
		`{"uid":"n","nsp":"/","type":9,"data":{"packet":["ev"],"requestId":"q"}}`, "", "{", "\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := decodeShard(string(data))
		if err == nil {
			_ = m.Data.Opts.options()
		}
	})
}

// Sharded messages encoded by a Go node decode to what was sent: the
// packet, its attachments, the options.
func TestShardRoundTrip(t *testing.T) {
	a := &Adapter{node: &node{uid: "u1", mode: Dynamic}, name: "/chat"}
	for _, c := range []struct {
		name string
		p    room.Packet
		opts room.Options
		id   string
	}{
		{"json", room.Packet{Data: []byte(`["ev","x",{"n":1}]`)}, room.Options{Rooms: []string{"a", "b"}, Except: []string{"c"}}, ""},
		{"binary with ack", room.Packet{Data: []byte(`["ev",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{0, 255}}},
			room.Options{Flags: room.Flags{Volatile: true, NoCompress: true}}, "req-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := a.encodeShardBroadcast(c.id, &c.p, c.opts, 0)
			if err != nil {
				t.Fatal(err)
			}
			m, atts, err := decodeShard(string(b))
			if err != nil {
				t.Fatal(err)
			}
			var pkt struct {
				Type int             `json:"type"`
				Data json.RawMessage `json:"data"`
				Nsp  string          `json:"nsp"`
			}
			if err := json.Unmarshal(m.Data.Packet, &pkt); err != nil {
				t.Fatal(err)
			}
			opts := m.Data.Opts.options()
			gotID := ""
			if m.Data.RequestID != nil {
				gotID = *m.Data.RequestID
			}
			if m.UID != "u1" || m.Nsp != "/chat" || m.Type != shBroadcast || pkt.Type != packetEvent || pkt.Nsp != "/chat" ||
				string(pkt.Data) != string(c.p.Data) || gotID != c.id ||
				fmt.Sprint(atts) != fmt.Sprint(c.p.Attachments) || fmt.Sprint(opts) != fmt.Sprint(c.opts) {
				t.Fatalf("decoded %+v %s %v %+v", m, pkt.Data, atts, opts)
			}
		})
	}
}

// FuzzStreamsInput: what the streams adapter reads from Redis (an entry's
// data field, a kept session) either fails cleanly or decodes; a session
// decoded is kept again unchanged.
func FuzzStreamsInput(f *testing.F) {
	for _, s := range []string{
		`{"packet":{"type":2,"data":["ev",1],"nsp":"/"},"opts":{"rooms":["r"],"except":[],"flags":{}}}`,
		`{"opts":{"rooms":[],"except":["x"],"flags":{"volatile":true}},"rooms":["a",1]}`,
		"g6Zwa3Q=", "", "{", "hKNzaWShYaNwaWShYqVyb29tc5GhYaRkYXRhwA==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, atts, err := entryData(s); err == nil && d.Packet != nil {
			a := &StreamsAdapter{name: "/"}
			if p, ok := a.broadcastPacket(&d, atts); ok && !json.Valid(p.Data) {
				t.Fatalf("invalid packet data %q", p.Data)
			}
		}
		a := &StreamsAdapter{name: "/", node: &node{uid: "fuzz"}}
		if p, _, _, err := a.broadcastEntry(s); err == nil {
			if !json.Valid(p.Data) {
				t.Fatalf("invalid packet data %q", p.Data)
			}
			// Written again, it reads back the same.
			fields, err := a.broadcastFields(p, room.Options{})
			if err != nil {
				t.Fatalf("packet %q does not encode: %v", p.Data, err)
			}
			back, _, _, err := a.broadcastEntry(fields[len(fields)-1])
			if err != nil || !bytes.Equal(back.Data, p.Data) {
				t.Fatalf("packet %q came back as %q (%v)", p.Data, back.Data, err)
			}
		}
		ses, err := decodeSession(s)
		if err != nil {
			return
		}
		again, err := encodeSession(*ses)
		if err != nil {
			t.Fatalf("session %+v does not encode: %v", ses, err)
		}
		back, err := decodeSession(again)
		if err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		if back.SID != ses.SID || back.PID != ses.PID || len(back.Rooms) != len(ses.Rooms) {
			t.Fatalf("session %+v came back as %+v", ses, back)
		}
	})
}
