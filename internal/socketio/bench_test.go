package socketio

import (
	"testing"

	"github.com/go-realtime/realtime/transport"
)

func BenchmarkDecode(b *testing.B) {
	in := []byte(`2["chat",{"a":1}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderAddNamespace(b *testing.B) {
	f := transport.Frame{Data: []byte(`42/chat,17["message",{"user":"ann","text":"hello there","ts":1700000000}]`)}
	var d Decoder
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		if _, err := d.Add(f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderBinary(b *testing.B) {
	hdr := transport.Frame{Data: []byte(`451-["upload",{"_placeholder":true,"num":0}]`)}
	att := transport.BinaryFrame(make([]byte, 1024))
	var d Decoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Add(hdr); err != nil {
			b.Fatal(err)
		}
		if p, err := d.Add(att); err != nil || p == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	p := &Packet{Type: Event, Namespace: "/chat", ID: 42, HasID: true, Data: []byte(`["chat",{"a":1}]`)}
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPacket(append(buf[:0], '4'), p)
	}
}

func BenchmarkEncodeFrames(b *testing.B) {
	p := &Packet{Type: Event, Data: []byte(`["chat",{"a":1}]`)}
	b.ReportAllocs()
	for b.Loop() {
		_ = EncodeFrames(p)
	}
}

func BenchmarkMarshalArgs(b *testing.B) {
	args := []any{"message", "hello <world>", 42, 3.5, true, map[string]any{"user": "ann", "ts": 1700000000}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = MarshalArgs(buf[:0], args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalArgsBinary(b *testing.B) {
	args := []any{"upload", make([]byte, 1024), map[string]any{"thumb": make([]byte, 64)}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = MarshalArgs(buf[:0], args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitArgs(b *testing.B) {
	data := []byte(`["message",{"user":"ann","text":"hello there"},42,[1,2,3]]`)
	var args [8][]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendArgs(args[:0], data); err != nil {
			b.Fatal(err)
		}
	}
}
