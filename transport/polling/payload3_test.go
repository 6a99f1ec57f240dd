package polling

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// Expected bytes are written out by hand from engine.io-parser 2.x (the
// parser-v3 of engine.io 6): "<length>:<packet>" with the length in UTF-16
// code units; binary payloads as <0|1><digit bytes><255><packet>.
func TestAppendPayload3(t *testing.T) {
	text := transport.TextFrame
	tests := []struct {
		name     string
		frames   []transport.Frame
		binaryOK bool
		want     string
		wantBin  bool
	}{
		{"one text", []transport.Frame{text("4hello")}, true, "6:4hello", false},
		{"open and connect", []transport.Frame{text(`0{"sid":"x"}`), text("40")}, true, `12:0{"sid":"x"}2:40`, false},
		{"two-byte UTF-8 counts one unit", []transport.Frame{text("4é")}, true, "2:4é", false},
		{"astral character counts two units", []transport.Frame{text("4😀")}, true, "3:4😀", false},
		{"binary as base64", []transport.Frame{text("451-[]"), bin(1, 2, 3)}, false, "6:451-[]6:b4AQID", false},
		{"empty binary as base64", []transport.Frame{bin()}, false, "2:b4", false},
		{"binary framing", []transport.Frame{text("4é"), bin(0xff, 0)}, true,
			"\x00\x03\xff4é" + "\x01\x03\xff\x04\xff\x00", true},
		{"long binary length digits", []transport.Frame{bin(make([]byte, 11)...)}, true,
			"\x01\x01\x02\xff\x04" + string(make([]byte, 11)), true},
		{"text only stays text even when binary is allowed", []transport.Frame{text("3")}, true, "1:3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, isBin := appendPayload3([]byte("p:"), tt.frames, tt.binaryOK)
			assert.Equal(t, "p:"+tt.want, string(got))
			assert.Equal(t, tt.wantBin, isBin)
			back, err := decodePayload3(got[2:], isBin)
			require.NoError(t, err)
			require.Len(t, back, len(tt.frames))
			for i, f := range tt.frames {
				assert.Equal(t, f.Binary, back[i].Binary, "frame %d", i)
				assert.Equal(t, string(f.Data), string(back[i].Data), "frame %d", i)
			}
		})
	}
}

func TestDecodePayload3(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		bin     bool
		want    []transport.Frame
		wantErr string
	}{
		{"batch", "6:4hello1:2", false, []transport.Frame{transport.TextFrame("4hello"), transport.TextFrame("2")}, ""},
		{"astral", "3:4😀", false, []transport.Frame{transport.TextFrame("4😀")}, ""},
		{"base64 message", "6:b4AQID", false, []transport.Frame{bin(1, 2, 3)}, ""},
		{"base64 unpadded", "5:b4AQI", false, []transport.Frame{bin(1, 2)}, ""},
		{"empty payload 0:", "0:", false, nil, ""},
		{"empty packets skipped", "0:1:2", false, []transport.Frame{transport.TextFrame("2")}, ""},
		{"binary framing", "\x00\x02\xff42\x01\x03\xff\x04\x09\x08", true, []transport.Frame{transport.TextFrame("42"), bin(9, 8)}, ""},
		{"binary framing with base64 text", "\x00\x04\xffb4AQ", true, []transport.Frame{bin(1)}, ""},
		{"empty body", "", false, nil, "empty payload"},
		{"empty binary body", "", true, nil, "empty payload"},
		{"no colon", "12", false, nil, "bad length"},
		{"no length", ":4a", false, nil, "bad length"},
		{"sign in length", "+2:4a", false, nil, "bad length"},
		{"too many digits", "0000000000000001:4", false, nil, "bad length"},
		{"length past the end", "9:4a", false, nil, "does not match"},
		{"huge length", "999999999999999:4a", false, nil, "does not match"},
		{"length inside a surrogate pair", "2:4😀", false, nil, "does not match"},
		{"invalid UTF-8", "2:4\xff", false, nil, "does not match"},
		{"trailing junk", "1:2x", false, nil, "bad length"},
		{"base64 of a non-message", "3:b2A", false, nil, "not a message"},
		{"bad base64", "4:b4!!", false, nil, "bad base64"},
		{"bad kind", "\x02\x01\xff4", true, nil, "bad packet kind"},
		{"digit over 9", "\x00\x0a\xff4", true, nil, "bad length"},
		{"no digits", "\x00\xff4", true, nil, "bad length"},
		{"no 255", "\x00\x01", true, nil, "bad length"},
		{"zero length", "\x00\x00\xff", true, nil, "bad length"},
		{"binary past the end", "\x01\x05\xff\x04\x01", true, nil, "bad length"},
		{"binary non-message", "\x01\x02\xff\x02\x01", true, nil, "not a message"},
		{"binary text not UTF-8", "\x00\x02\xff4\xff", true, nil, "not UTF-8"},
		{"too many binary digits", "\x00" + string(make([]byte, 20)) + "\xff", true, nil, "bad length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodePayload3([]byte(tt.body), tt.bin)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, transport.ErrBadRequest)
				var pe *PayloadError
				require.ErrorAs(t, err, &pe)
				assert.Contains(t, pe.Reason, tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzDecodePayload3 checks that decoding never panics, takes what it
// returns as valid, and that a decoded payload encodes back to one that
// decodes to the same frames.
func FuzzDecodePayload3(f *testing.F) {
	f.Add([]byte("6:4hello1:2"), false)
	f.Add([]byte(`97:0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}2:40`), false)
	f.Add([]byte("3:4😀6:b4AQID0:"), false)
	f.Add([]byte("\x00\x02\xff42\x01\x03\xff\x04\x09\x08"), true)
	f.Add([]byte("\x00\x04\xffb4AQ\x01\x01\xff\x04"), true)
	f.Add([]byte("2:4\xff"), false)
	f.Add([]byte("\x01\x09\x09\x09\xff\x04"), true)
	f.Fuzz(func(t *testing.T, body []byte, bin bool) {
		frames, err := decodePayload3(body, bin)
		if err != nil {
			return
		}
		for _, fr := range frames {
			if !fr.Binary && (len(fr.Data) == 0 || !utf8.Valid(fr.Data)) {
				t.Fatalf("text frame %q is empty or not UTF-8", fr.Data)
			}
		}
		for _, binaryOK := range []bool{false, true} {
			enc, isBin := appendPayload3(nil, frames, binaryOK)
			if len(frames) == 0 {
				continue
			}
			back, err := decodePayload3(enc, isBin)
			if err != nil {
				t.Fatalf("re-encoded payload %q does not decode: %v", enc, err)
			}
			if len(back) != len(frames) {
				t.Fatalf("%d frames, %d after a round trip", len(frames), len(back))
			}
			for i := range frames {
				if back[i].Binary != frames[i].Binary || !bytes.Equal(back[i].Data, frames[i].Data) {
					t.Fatalf("frame %d: %+v, %+v after a round trip", i, frames[i], back[i])
				}
			}
		}
	})
}
