package socketio

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/go-realtime/realtime/transport"
)

// sameJSON reports whether a and b are the same JSON text, but for how
// invalid UTF-8 was replaced: as the escape \ufffd (our encoder, and
// encoding/json until Go 1.26) or as the character itself (encoding/json
// from Go 1.27 on). Both decode to the same string.
func sameJSON(a, b []byte) bool {
	const escaped, raw = `\ufffd`, "\uFFFD"
	return bytes.Equal(bytes.ReplaceAll(a, []byte(escaped), []byte(raw)), bytes.ReplaceAll(b, []byte(escaped), []byte(raw)))
}

var fuzzSeeds = []string{
	"0", "0/custom", "0/custom,", `0{"token":"123"}`, `0/admin,{"token":"123"}`, "1/admin,",
	`2["foo"]`, `2/admin,12["bar"]`, `212["foo"]`, `3/admin,13["bar"]`, `4{"message":"Invalid namespace"}`,
	`51-["hello",{"_placeholder":true,"num":0}]`, `61-/admin,1[{"_placeholder":true,"num":0}]`,
	"999", `2["connect"]`, "2[]", "2{}", "2abc", "3{}", `0"str"`, "1{}", `5-["a"]`, "5 1-[1]",
	`2 ["a"]`, `21 2["a"]`, "\u00a0{}", `2["conn\u0065ct"]`, `53-["a",{"num":2,"_placeholder":true},[{"_placeholder":true,"num":0}]]`,
	`2[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, `218446744073709551616["a"]`,
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to text
// that decodes to the same packet.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Decode(in)
		if err != nil {
			if p != nil {
				t.Fatal("packet and error")
			}
			return
		}
		if p.Namespace == "" || p.Namespace[0] != '/' || bytes.IndexByte([]byte(p.Namespace), ',') >= 0 {
			t.Fatalf("bad namespace %q", p.Namespace)
		}
		if err := p.Validate(); err != nil && !p.Type.IsBinary() {
			// Binary headers may point past their attachments until those
			// arrive; everything else Decode accepts is valid.
			t.Fatalf("decoded packet does not validate: %v", err)
		}
		enc := AppendPacket(nil, p)
		q, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded %q as %q: %v", in, enc, err)
		}
		if q.Type != p.Type || q.Namespace != p.Namespace || q.HasID != p.HasID || q.ID != p.ID ||
			!bytes.Equal(q.Data, p.Data) || (q.Data == nil) != (p.Data == nil) || len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("%q -> %+v -> %q -> %+v", in, p, enc, q)
		}
		if p.Data != nil {
			if p.Type == Event || p.Type == BinaryEvent || p.Type == Ack || p.Type == BinaryAck {
				if _, err := SplitArgs(p.Data); err != nil {
					t.Fatalf("SplitArgs(%q): %v", p.Data, err)
				}
			}
			var v any
			_ = Unmarshal(p.Data, p.Attachments, &v)
			_, _ = PlaceholderNum(p.Data)
		}
	})
}

// FuzzDecoder feeds a Decoder a random sequence of text and binary frames:
// in is split at 0x00 bytes; a piece starting with 'b' is a binary frame,
// anything else a text frame (its bytes after the first are the packet).
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("t51-[\"a\",{\"_placeholder\":true,\"num\":0}]\x00bxyz\x00t2[\"b\"]"))
	f.Add([]byte("t52-/x,3[{\"_placeholder\":true,\"num\":1},{\"num\":0,\"_placeholder\":true}]\x00b1\x00b2"))
	f.Add([]byte("t51-[\"a\"]\x00t2[\"b\"]"))
	f.Add([]byte("bxx\x00t0"))
	f.Add([]byte("t51-[\"a\",{\"_placeholder\":true,\"num\":3}]\x00b\x00t2[\"a\"]"))
	for _, s := range fuzzSeeds {
		f.Add([]byte("t" + s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := Decoder{MaxAttachments: 3}
		for _, piece := range bytes.Split(in, []byte{0}) {
			var fr transport.Frame
			if len(piece) > 0 && piece[0] == 'b' {
				fr = transport.BinaryFrame(piece[1:])
			} else {
				fr = transport.Frame{Data: append([]byte{'4'}, piece[min(1, len(piece)):]...)}
			}
			wasPending := d.Pending()
			p, err := d.Add(fr)
			switch {
			case err != nil:
				if p != nil || d.Pending() {
					t.Fatal("error must leave no packet and nothing pending")
				}
			case p == nil:
				if !d.Pending() {
					t.Fatal("no packet, nothing pending")
				}
			default:
				if d.Pending() {
					t.Fatal("packet returned while pending")
				}
				if fr.Binary != wasPending {
					t.Fatal("binary frame completed nothing pending, or text completed a pending packet")
				}
				for _, a := range p.Attachments {
					if a == nil {
						t.Fatal("missing attachment")
					}
				}
				if err := p.Validate(); err != nil {
					t.Fatalf("complete packet does not validate: %v", err)
				}
			}
		}
	})
}

// FuzzMarshalArgs: strings marshal exactly as encoding/json does, and
// RawArg of any valid JSON never fails unexpectedly or panics.
func FuzzMarshalArgs(f *testing.F) {
	f.Add("hello", []byte(`{"_placeholder":true,"num":0}`))
	f.Add("<\u2028\xff>", []byte(`[{"num":1,"_placeholder":true},{"_placeholder":true,"num":0.5}]`))
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		got, _, err := MarshalArgs(nil, []any{s})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal([]any{s})
		if !sameJSON(got, want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
		data, atts, err := MarshalArgs(nil, []any{RawArg{JSON: raw, Attachments: [][]byte{{1}, {2}}}})
		if err != nil {
			return
		}
		p := &Packet{Type: Event, Data: append([]byte(`["e",`), data[1:]...), Attachments: atts}
		if len(data) == 2 {
			t.Fatal("empty output")
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("%q -> %q: %v", raw, p.Data, err)
		}
	})
}

// FuzzSplitArgs: SplitArgs never panics, and on valid JSON it agrees with
// encoding/json.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{`[]`, `["a",1,{"b":[2]}]`, ` [ null , "x\"]" ] `, `[1,]`, `[{]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := SplitArgs(data)
		var want []json.RawMessage
		if json.Unmarshal(data, &want) != nil {
			return
		}
		if data := bytes.TrimSpace(data); len(data) > 0 && data[0] == 'n' {
			return // null unmarshals into a nil slice
		}
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %q, want %q", data, got, want)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: %q, want %q", data, got, want)
			}
		}
	})
}
