package engineio

import (
	"encoding/base64"
	"fmt"

	"github.com/go-realtime/realtime/transport"
)

// Revision 3 of the Engine.IO protocol (socket.io-client 2.x, accepted
// with Options.AllowEIO3) differs from revision 4 in what the session
// sees in three places:
//
//   - heartbeats go the other way: the client sends "2" and the server
//     answers "3" (heartbeat.go keeps such sessions on a list of their
//     own, due PingInterval+PingTimeout after the last ping);
//   - a binary WebSocket message starts with the packet type, the byte 4,
//     and a client that asked for base64 (b64=1) gets binary messages as
//     text "b4<base64>" (and may send them so);
//   - polling payloads are framed otherwise, which the polling transport
//     does (transport.Params.EIO3).
//
// Frames in the session's queues keep the revision 4 form (a binary frame
// holds a message's bytes); they are turned into revision 3 WebSocket
// frames as they are handed to a WebSocket (Session.wsV3).

// v3State is what a revision 3 session keeps.
type v3State struct {
	// b64: binary messages go to the current WebSocket as base64 text;
	// guarded by the session's sendMu.
	b64 bool
}

// noopPayload3 is a revision 3 polling payload holding a noop packet.
var noopPayload3 = []byte("1:6")

// pongFrames is the pong answering a revision 3 client's ping.
var pongFrames = []transport.Frame{{Data: []byte{'3'}}}

// wsFrames returns frames as revision 3 WebSocket frames: binary ones
// get the type byte in front, or become base64 text. frames is returned
// as it is when it holds no binary frame; else the result is new (frames
// may be shared with other sessions and are never modified).
func (v *v3State) wsFrames(frames []transport.Frame) []transport.Frame {
	bin := false
	for _, f := range frames {
		bin = bin || f.Binary
	}
	if !bin {
		return frames
	}
	out := make([]transport.Frame, len(frames))
	for i, f := range frames {
		switch {
		case !f.Binary:
			out[i] = f
		case v.b64:
			b := make([]byte, 0, 2+base64.StdEncoding.EncodedLen(len(f.Data)))
			b = append(b, 'b', '4')
			out[i] = transport.Frame{Data: base64.StdEncoding.AppendEncode(b, f.Data), NoCompress: f.NoCompress}
		default:
			b := make([]byte, 1+len(f.Data))
			b[0] = 4
			copy(b[1:], f.Data)
			out[i] = transport.Frame{Binary: true, Data: b, NoCompress: f.NoCompress}
		}
	}
	return out
}

// decodeWS3 turns a revision 3 WebSocket frame into the revision 4 form:
// a binary frame loses its type byte (which must say "message"), a text
// frame "b4<base64>" becomes the binary frame it encodes. Other text
// frames are returned as they are.
func decodeWS3(f transport.Frame) (transport.Frame, error) {
	if f.Binary {
		if len(f.Data) == 0 || f.Data[0] != 4 {
			return f, fmt.Errorf("%w: binary packet is not a message", ErrParseError)
		}
		return transport.Frame{Binary: true, Data: f.Data[1:]}, nil
	}
	if len(f.Data) == 0 || f.Data[0] != 'b' {
		return f, nil
	}
	if len(f.Data) < 2 || f.Data[1] != '4' {
		return f, fmt.Errorf("%w: base64 packet is not a message", ErrParseError)
	}
	src := f.Data[2:]
	enc := base64.StdEncoding
	if len(src)%4 != 0 {
		enc = base64.RawStdEncoding // Node decodes unpadded base64 too
	}
	data := make([]byte, enc.DecodedLen(len(src)))
	n, err := enc.Decode(data, src)
	if err != nil {
		return f, fmt.Errorf("%w: bad base64", ErrParseError)
	}
	return transport.Frame{Binary: true, Data: data[:n]}, nil
}
