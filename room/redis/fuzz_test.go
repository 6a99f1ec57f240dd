package redis

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/go-realtime/realtime/room"
)

// FuzzMsgpackToJSON: any input either fails cleanly or transcodes to valid
// JSON whose placeholders name the attachments found, and which transcodes
// back to msgpack.
func FuzzMsgpackToJSON(f *testing.F) {
	for _, s := range []string{notepackBroadcast, notepackAck, notepackNumbers, "c0", "91c40101", "d6ff00000000", "8201a1780202"} {
		b, _ := hexDecode(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := mpReader{b: data}
		var atts [][]byte
		out, err := r.appendJSON(nil, &atts, 0)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q from %x", out, data)
		}
		if _, err := appendJSONAsMsgpack(nil, out, atts); err != nil {
			t.Fatalf("JSON %q does not transcode back: %v", out, err)
		}
		r = mpReader{b: data}
		if err := r.skip(); err != nil {
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
		mp, err := appendJSONAsMsgpack(nil, []byte(doc), atts)
		if err != nil {
			return
		}
		if !json.Valid([]byte(doc)) {
			t.Fatalf("accepted invalid JSON %q", doc)
		}
		r := mpReader{b: mp}
		var got [][]byte
		back, err := r.appendJSON(nil, &got, 0)
		if err != nil || !json.Valid(back) || r.pos != len(mp) {
			t.Fatalf("%q -> %x -> %q, %v", doc, mp, back, err)
		}
	})
}

// FuzzBroadcastMessage feeds arbitrary bytes to the decoding of broadcast
// messages, requests and responses: no panic, no hang.
func FuzzBroadcastMessage(f *testing.F) {
	for _, s := range []string{notepackBroadcast, notepackAck, "93a0c0c0", "85a3756964a178a9726571756573744964a3616263a47479706507a67061636b657480a46f70747380"} {
		b, _ := hexDecode(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := mpReader{b: data}
		if n, err := r.arrayLen(); err == nil && n >= 3 {
			if _, err := r.scalarString(); err == nil {
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
