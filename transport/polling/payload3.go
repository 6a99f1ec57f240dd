package polling

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/go-realtime/realtime/transport"
)

// Engine.IO protocol revision 3 (socket.io-client 2.x) frames a polling
// payload differently from revision 4:
//
//   - as text, each packet is preceded by its length and a colon
//     ("6:4hello2:40"); the length counts UTF-16 code units, as JavaScript
//     measures strings. A binary message is written as 'b', its packet type
//     and the base64 of its bytes ("b4AQID").
//   - as binary (a client that can take binary, and a payload holding at
//     least one binary message), each packet is a byte 0 (text) or 1
//     (binary), the decimal digits of its length as byte values 0-9, a
//     byte 255, and the packet: the UTF-8 text of a text packet, or the
//     type byte 4 followed by the bytes of a binary message.
//
// engine.io 6 encodes and decodes these for clients that connect with
// EIO=3 when allowEIO3 is set; the functions below do the same for our
// frames, whose binary frames hold a message's bytes with no type.

// v3BinaryType is the packet type of a binary message in a revision 3
// binary packet (the byte value, not the digit).
const v3BinaryType = 4

// maxLengthDigits bounds the digits of a packet's length in a revision 3
// payload: a payload is at most MaxPayload bytes, far fewer than 10^15.
const maxLengthDigits = 15

// appendPayload3 appends the revision 3 polling payload holding frames to
// dst. With binaryOK (the client did not ask for base64) and a binary
// frame among them, the payload is framed as binary and bin is true (the
// response's Content-Type is then application/octet-stream); otherwise it
// is text. Frame data is only read.
func appendPayload3(dst []byte, frames []transport.Frame, binaryOK bool) (out []byte, bin bool) {
	if binaryOK && hasBinary(frames) {
		for _, f := range frames {
			if f.Binary {
				dst = append(dst, 1)
				dst = appendDigitBytes(dst, len(f.Data)+1)
				dst = append(dst, 255, v3BinaryType)
			} else {
				dst = append(dst, 0)
				dst = appendDigitBytes(dst, len(f.Data))
				dst = append(dst, 255)
			}
			dst = append(dst, f.Data...)
		}
		return dst, true
	}
	for _, f := range frames {
		if f.Binary {
			dst = strconv.AppendInt(dst, int64(2+base64.StdEncoding.EncodedLen(len(f.Data))), 10)
			dst = append(dst, ':', 'b', '4')
			dst = base64.StdEncoding.AppendEncode(dst, f.Data)
			continue
		}
		dst = strconv.AppendInt(dst, int64(utf16Len(f.Data)), 10)
		dst = append(dst, ':')
		dst = append(dst, f.Data...)
	}
	return dst, false
}

func hasBinary(frames []transport.Frame) bool {
	for _, f := range frames {
		if f.Binary {
			return true
		}
	}
	return false
}

// appendDigitBytes appends the decimal digits of n as byte values 0-9.
func appendDigitBytes(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}

// utf16Len is the length of b, as UTF-8 text, in UTF-16 code units (what
// JavaScript's String length says once the text is decoded). A byte that is
// not valid UTF-8 counts as one unit, as it decodes to U+FFFD.
func utf16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// decodePayload3 splits a revision 3 polling payload into frames: binary
// framing when bin (the request's Content-Type was
// application/octet-stream), else text framing. Any malformed part is an
// error of type *[PayloadError]: a length that is not a decimal number or
// runs past the body, text that is not UTF-8, a length that ends inside a
// character, a binary packet whose type is not a message (4), an empty
// packet in a binary payload, or bad base64. An empty body is an error too;
// "0:" (the empty text payload) holds no frames. Stricter than engine.io
// 6, which also takes other packet types as binary and ignores the type
// marker of a binary part.
//
// Text frames and the binary frames of a binary payload alias body; those
// decoded from base64 are newly allocated. It runs in time linear in
// len(body).
func decodePayload3(body []byte, bin bool) ([]transport.Frame, error) {
	if len(body) == 0 {
		return nil, &PayloadError{Offset: 0, Reason: "empty payload"}
	}
	if bin {
		return decodeBinaryPayload3(body)
	}
	var frames []transport.Frame
	for off := 0; off < len(body); {
		colon := off
		for colon < len(body) && body[colon] != ':' {
			if body[colon] < '0' || body[colon] > '9' || colon-off >= maxLengthDigits {
				return nil, &PayloadError{Offset: off, Reason: "bad length"}
			}
			colon++
		}
		if colon == off || colon == len(body) {
			return nil, &PayloadError{Offset: off, Reason: "bad length"}
		}
		units, _ := strconv.Atoi(string(body[off:colon]))
		start := colon + 1
		end, ok := skipUTF16(body, start, units)
		if !ok {
			return nil, &PayloadError{Offset: off, Reason: "length does not match the packet"}
		}
		if end > start {
			f, err := textPacket3(body[start:end:end], off)
			if err != nil {
				return nil, err
			}
			frames = append(frames, f)
		}
		off = end
	}
	return frames, nil
}

// skipUTF16 returns the offset in b after units UTF-16 code units of UTF-8
// text starting at start, and false when b ends first, the text is not
// UTF-8, or the count ends inside a character.
func skipUTF16(b []byte, start, units int) (int, bool) {
	i := start
	for units > 0 {
		if i >= len(b) {
			return 0, false
		}
		if b[i] < utf8.RuneSelf {
			i++
			units--
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return 0, false
		}
		n := 1
		if r >= 0x10000 {
			n = 2
		}
		if n > units {
			return 0, false
		}
		units -= n
		i += size
	}
	return i, true
}

// textPacket3 turns one revision 3 text packet into a frame: "b4<base64>"
// is a binary message, anything else a text frame (its type is the
// handler's to check).
func textPacket3(pkt []byte, off int) (transport.Frame, error) {
	if pkt[0] != 'b' {
		return transport.Frame{Data: pkt}, nil
	}
	if len(pkt) < 2 || pkt[1] != '4' {
		return transport.Frame{}, &PayloadError{Offset: off, Reason: "base64 packet is not a message"}
	}
	data, err := decodeBase64(pkt[2:])
	if err != nil {
		return transport.Frame{}, &PayloadError{Offset: off, Reason: "bad base64"}
	}
	return transport.Frame{Binary: true, Data: data}, nil
}

// decodeBinaryPayload3 decodes the binary framing of revision 3.
func decodeBinaryPayload3(body []byte) ([]transport.Frame, error) {
	var frames []transport.Frame
	for off := 0; off < len(body); {
		kind := body[off]
		if kind > 1 {
			return nil, &PayloadError{Offset: off, Reason: "bad packet kind"}
		}
		i, n := off+1, 0
		for ; i < len(body) && body[i] != 255; i++ {
			if body[i] > 9 || i-off > maxLengthDigits {
				return nil, &PayloadError{Offset: off, Reason: "bad length"}
			}
			n = n*10 + int(body[i])
		}
		if i == off+1 || i == len(body) || n == 0 || n > len(body)-i-1 {
			return nil, &PayloadError{Offset: off, Reason: "bad length"}
		}
		pkt := body[i+1 : i+1+n : i+1+n]
		if kind == 0 {
			if !utf8.Valid(pkt) {
				return nil, &PayloadError{Offset: off, Reason: "text packet is not UTF-8"}
			}
			f, err := textPacket3(pkt, off)
			if err != nil {
				return nil, err
			}
			frames = append(frames, f)
		} else {
			if pkt[0] != v3BinaryType {
				return nil, &PayloadError{Offset: off, Reason: "binary packet is not a message"}
			}
			frames = append(frames, transport.Frame{Binary: true, Data: pkt[1:]})
		}
		off = i + 1 + n
	}
	return frames, nil
}
