package polling

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/go-realtime/realtime/transport"
)

// Separator is the record separator that joins the packets of a payload.
const Separator = 0x1e

// PayloadError reports a malformed payload. It wraps
// [transport.ErrBadRequest], so errors.Is(err, transport.ErrBadRequest)
// holds for every error [DecodePayload] returns.
type PayloadError struct {
	Offset int    // byte offset of the bad packet in the payload
	Reason string // what is wrong with it
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("polling: malformed payload at byte %d: %s", e.Offset, e.Reason)
}

// Unwrap returns [transport.ErrBadRequest].
func (e *PayloadError) Unwrap() error { return transport.ErrBadRequest }

// EncodedLen returns how many bytes [AppendPayload] writes for f, separator
// not included.
func EncodedLen(f transport.Frame) int {
	if f.Binary {
		return 1 + base64.StdEncoding.EncodedLen(len(f.Data))
	}
	return len(f.Data)
}

// AppendPayload appends the Engine.IO v4 polling payload holding frames to
// dst and returns the extended slice. Frames are joined by [Separator]; a text
// frame is written as it is (it must not be empty, start with 'b' or contain
// [Separator], which a valid Engine.IO packet never does); a binary frame is
// written as 'b' followed by the standard, padded base64 of its bytes.
// Frame data is only read.
func AppendPayload(dst []byte, frames []transport.Frame) []byte {
	for i, f := range frames {
		if i > 0 {
			dst = append(dst, Separator)
		}
		if f.Binary {
			dst = append(dst, 'b')
			dst = base64.StdEncoding.AppendEncode(dst, f.Data)
		} else {
			dst = append(dst, f.Data...)
		}
	}
	return dst
}

// DecodePayload splits an Engine.IO v4 polling payload into frames. Packets
// are separated by [Separator]; one starting with 'b' is base64 (padded or
// not) of a binary frame, any other is a text frame. An empty packet (so also
// an empty body or a trailing separator) or bad base64 is an error of type
// *[PayloadError]. The packet type of text frames is not checked: that is the
// [transport.Handler]'s job.
//
// Text frames alias body, which must therefore not be modified while they are
// in use; binary frames are newly allocated.
func DecodePayload(body []byte) ([]transport.Frame, error) {
	frames := make([]transport.Frame, 0, bytes.Count(body, []byte{Separator})+1)
	off := 0
	for {
		end := bytes.IndexByte(body[off:], Separator)
		last := end < 0
		if last {
			end = len(body)
		} else {
			end += off
		}
		pkt := body[off:end:end]
		if len(pkt) == 0 {
			return nil, &PayloadError{Offset: off, Reason: "empty packet"}
		}
		if pkt[0] == 'b' {
			data, err := decodeBase64(pkt[1:])
			if err != nil {
				return nil, &PayloadError{Offset: off, Reason: "bad base64"}
			}
			frames = append(frames, transport.Frame{Binary: true, Data: data})
		} else {
			frames = append(frames, transport.Frame{Data: pkt})
		}
		if last {
			return frames, nil
		}
		off = end + 1
	}
}

// decodeBase64 decodes padded standard base64, or unpadded when the length
// says the padding is missing (Node's decoder is that lenient too).
func decodeBase64(src []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(src)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	dst := make([]byte, enc.DecodedLen(len(src)))
	n, err := enc.Decode(dst, src)
	if err != nil {
		return nil, err
	}
	return dst[:n:n], nil
}
