package polling

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

func bin(b ...byte) transport.Frame { return transport.BinaryFrame(b) }

func TestAppendPayload(t *testing.T) {
	tests := []struct {
		name   string
		frames []transport.Frame
		want   string
	}{
		{"none", nil, ""},
		{"one text", []transport.Frame{transport.TextFrame("4hello")}, "4hello"},
		{"open", []transport.Frame{transport.TextFrame(`0{"sid":"x"}`)}, `0{"sid":"x"}`},
		{"batch", []transport.Frame{transport.TextFrame("4hello"), transport.TextFrame("2"), transport.TextFrame("4world")}, "4hello\x1e2\x1e4world"},
		{"binary", []transport.Frame{bin(1, 2, 3, 4)}, "bAQIDBA=="},
		{"empty binary", []transport.Frame{bin()}, "b"},
		{"mixed", []transport.Frame{transport.TextFrame("451-[\"x\",{\"_placeholder\":true,\"num\":0}]"), bin(0xff, 0), transport.TextFrame("6")},
			"451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1eb/wA=\x1e6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendPayload([]byte("prefix:"), tt.frames)
			assert.Equal(t, "prefix:"+tt.want, string(got))
			n := 0
			for i, f := range tt.frames {
				if i > 0 {
					n++
				}
				n += EncodedLen(f)
			}
			assert.Equal(t, len(tt.want), n, "EncodedLen")
		})
	}
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []transport.Frame
		wantErr bool
	}{
		{"one text", "4hello", []transport.Frame{transport.TextFrame("4hello")}, false},
		{"batch", "4hello\x1e2\x1e4world", []transport.Frame{transport.TextFrame("4hello"), transport.TextFrame("2"), transport.TextFrame("4world")}, false},
		{"binary padded", "bAQIDBA==", []transport.Frame{bin(1, 2, 3, 4)}, false},
		{"binary unpadded", "bAQIDBA", []transport.Frame{bin(1, 2, 3, 4)}, false},
		{"empty binary", "b", []transport.Frame{bin()}, false},
		{"junk is text", "abc", []transport.Frame{transport.TextFrame("abc")}, false},
		{"mixed", "4x\x1eb/wA=\x1e3", []transport.Frame{transport.TextFrame("4x"), bin(0xff, 0), transport.TextFrame("3")}, false},
		{"empty body", "", nil, true},
		{"leading separator", "\x1e4a", nil, true},
		{"trailing separator", "4a\x1e", nil, true},
		{"double separator", "4a\x1e\x1e4b", nil, true},
		{"bad base64", "b!!!!", nil, true},
		{"bad base64 length", "bA", nil, true},
		{"bad padding", "bAQ=A", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePayload([]byte(tt.body))
			if tt.wantErr {
				require.Error(t, err)
				assert.ErrorIs(t, err, transport.ErrBadRequest)
				var pe *PayloadError
				assert.ErrorAs(t, err, &pe)
				assert.Contains(t, err.Error(), "polling: ")
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assertFramesEqual(t, tt.want, got)
		})
	}
}

func assertFramesEqual(t testing.TB, want, got []transport.Frame) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].Binary, got[i].Binary, "frame %d binary", i)
		assert.True(t, bytes.Equal(want[i].Data, got[i].Data), "frame %d: want %q, got %q", i, want[i].Data, got[i].Data)
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{
		"4hello", "4hello\x1e2\x1e4world", "bAQIDBA==", "bAQIDBA", "b", "abc", "",
		"\x1e", "4a\x1e", "b!!!!", "bA", "0{\"sid\":\"x\"}\x1eb/wA=\x1e6", "b\x1eb\x1eb", "b\r\nAQ==",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		frames, err := DecodePayload(body)
		require.Equal(t, orig, body, "DecodePayload modified its input")
		if err != nil {
			require.ErrorIs(t, err, transport.ErrBadRequest)
			var pe *PayloadError
			require.True(t, errors.As(err, &pe))
			require.True(t, pe.Offset >= 0 && pe.Offset <= len(body))
			return
		}
		require.NotEmpty(t, frames)
		// What decodes re-encodes to something that decodes the same.
		again, err := DecodePayload(AppendPayload(nil, frames))
		require.NoError(t, err)
		assertFramesEqual(t, frames, again)
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("4hello\x1f2\x1f\x00\x01\x02"), uint64(4))
	f.Add([]byte("\x1f\x1f"), uint64(7))
	f.Add([]byte("bxx\x1f4\x1e\x1fabc"), uint64(0))
	f.Add([]byte{0xff, 0xfe, 0x1e, 0x1f, 0x1e}, uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, binMask uint64) {
		var frames []transport.Frame
		for i, chunk := range bytes.Split(data, []byte{0x1f}) {
			if binMask>>(uint(i)%64)&1 == 1 {
				frames = append(frames, transport.BinaryFrame(chunk))
				continue
			}
			if len(chunk) == 0 || chunk[0] == 'b' || bytes.IndexByte(chunk, Separator) >= 0 {
				continue // not an Engine.IO text packet: AppendPayload's precondition
			}
			frames = append(frames, transport.Frame{Data: chunk})
		}
		if len(frames) == 0 {
			return
		}
		snapshot := make([][]byte, len(frames))
		for i, fr := range frames {
			snapshot[i] = bytes.Clone(fr.Data)
		}
		payload := AppendPayload(nil, frames)
		for i, fr := range frames {
			require.Equal(t, snapshot[i], fr.Data, "AppendPayload modified frame %d", i)
		}
		got, err := DecodePayload(payload)
		require.NoError(t, err)
		assertFramesEqual(t, frames, got)
	})
}

func benchFrames() []transport.Frame {
	frames := make([]transport.Frame, 0, 9)
	for range 8 {
		frames = append(frames, transport.TextFrame(`42["message","hello world, this is a chat line"]`))
	}
	return append(frames, transport.BinaryFrame(bytes.Repeat([]byte{1, 2, 3, 4}, 64)))
}

func BenchmarkAppendPayload(b *testing.B) {
	frames := benchFrames()
	buf := AppendPayload(nil, frames)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayload(buf[:0], frames)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	body := AppendPayload(nil, benchFrames())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePayload(body); err != nil {
			b.Fatal(err)
		}
	}
}
