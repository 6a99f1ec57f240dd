package websocket

import (
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

const (
	rsv1 = 0x4 // ws.Header.Rsv bit of RSV1 ("per-message compressed")

	// readChunk is the most a reader allocates ahead of bytes that have
	// actually arrived: a peer may declare a large frame and never send it.
	readChunk = 32 << 10

	maxControlPayload = 125
)

// frameReader reads WebSocket messages from one end of a connection. It has
// no read buffer of its own: each frame is read with two small reads straight
// from src, the 2 first header bytes and then the rest of the header with,
// for frames under 126 bytes (most of them), the payload; longer payloads
// are read straight into the message they belong to. Between messages it
// holds nothing but its configuration, so an idle connection costs no
// buffer.
type frameReader struct {
	src        io.Reader
	maxPayload int64
	maxFrags   int  // most frames per data message; 0: no bound
	masked     bool // frames must be masked (the server reads client frames)
	deflate    bool // permessage-deflate negotiated: RSV1 marks compressed messages

	hdr [ws.MaxHeaderSize]byte // header scratch

	// Message being assembled from fragments, if any.
	op         ws.OpCode // 0 between messages
	compressed bool
	msg        []byte
	frags      int // frames of the message read so far
}

// next reads the next complete data message or control frame. For a data
// message it returns ws.OpText or ws.OpBinary and the whole message (fragments
// joined, decompressed, UTF-8 checked); for a control frame its opcode and
// payload (a control frame may arrive between the fragments of a message: the
// partial message is kept for the following calls). The returned slice is
// newly allocated and owned by the caller.
//
// Protocol violations are returned as *protocolError; anything else is an I/O
// error of src.
func (r *frameReader) next() (ws.OpCode, []byte, error) {
	for {
		b := r.hdr[:2]
		if _, err := io.ReadFull(r.src, b); err != nil {
			return 0, nil, eofIsUnexpected(err, r.op != 0)
		}
		fin := b[0]&0x80 != 0
		rsv := (b[0] >> 4) & 0x7
		op := ws.OpCode(b[0] & 0xf)
		masked := b[1]&0x80 != 0
		len7 := int64(b[1] & 0x7f)

		if masked != r.masked {
			if r.masked {
				return 0, nil, protoErr(false, "client frame is not masked")
			}
			return 0, nil, protoErr(false, "server frame is masked")
		}
		if rsv&^rsv1 != 0 {
			return 0, nil, protoErr(false, "reserved bits RSV2/RSV3 set")
		}
		if rsv != 0 && !r.deflate {
			return 0, nil, protoErr(false, "RSV1 set but no extension negotiated")
		}
		if op.IsReserved() {
			return 0, nil, protoErr(false, "unknown opcode %d", op)
		}
		maskLen := 0
		if masked {
			maskLen = 4
		}

		if op.IsControl() {
			switch {
			case !fin:
				return 0, nil, protoErr(false, "fragmented control frame")
			case len7 > maxControlPayload:
				return 0, nil, protoErr(false, "control frame payload over 125 bytes")
			case rsv != 0:
				return 0, nil, protoErr(false, "RSV1 set on a control frame")
			}
			p, err := r.readShort(maskLen, len7)
			if err != nil {
				return 0, nil, err
			}
			return op, p, nil
		}

		if op == ws.OpContinuation {
			if r.op == 0 {
				return 0, nil, protoErr(false, "continuation frame outside a fragmented message")
			}
			if rsv != 0 {
				return 0, nil, protoErr(false, "RSV1 set on a continuation frame")
			}
		} else {
			if r.op != 0 {
				return 0, nil, protoErr(false, "new message started inside a fragmented message")
			}
			r.op, r.compressed = op, rsv != 0
		}
		if r.maxFrags > 0 && r.frags >= r.maxFrags {
			r.resetMessage()
			return 0, nil, tooManyFragmentsErr(r.maxFrags)
		}
		r.frags++
		limit := r.maxPayload
		if r.compressed {
			limit = compressedLimit(limit)
		}

		if len7 < 126 {
			// A short frame: mask and payload in one read (2 reads a
			// frame, header included, whether it is a whole message or
			// a fragment of one).
			if len7 > limit-int64(len(r.msg)) {
				r.resetMessage()
				return 0, nil, tooLargeErr(r.maxPayload, false)
			}
			var err error
			if len(r.msg) == 0 {
				r.msg, err = r.readShort(maskLen, len7)
			} else {
				r.msg, err = r.appendShort(r.msg, maskLen, int(len7))
			}
			if err != nil {
				r.resetMessage()
				return 0, nil, err
			}
		} else {
			// Extended length and mask, then the payload appended to the
			// message.
			ext := 0
			switch len7 {
			case 126:
				ext = 2
			case 127:
				ext = 8
			}
			b := r.hdr[:ext+maskLen]
			if _, err := io.ReadFull(r.src, b); err != nil {
				r.resetMessage()
				return 0, nil, eofIsUnexpected(err, true)
			}
			n := len7
			switch ext {
			case 2:
				n = int64(binary.BigEndian.Uint16(b))
			case 8:
				if b[0]&0x80 != 0 {
					r.resetMessage()
					return 0, nil, protoErr(false, "payload length over 2^63")
				}
				n = int64(binary.BigEndian.Uint64(b))
			}
			var mask [4]byte
			copy(mask[:], b[ext:])
			if n > limit-int64(len(r.msg)) {
				r.resetMessage()
				return 0, nil, tooLargeErr(r.maxPayload, false)
			}
			start := len(r.msg)
			var err error
			if r.msg, err = readAppend(r.src, r.msg, n); err != nil {
				r.resetMessage()
				return 0, nil, eofIsUnexpected(err, true)
			}
			if masked {
				ws.Cipher(r.msg[start:], mask, 0)
			}
		}
		if !fin {
			continue
		}

		op, msg, compressed := r.op, r.msg, r.compressed
		r.resetMessage()
		if compressed {
			var err error
			if msg, err = inflate(msg, r.maxPayload); err != nil {
				return 0, nil, err
			}
		}
		if op == ws.OpText && !utf8.Valid(msg) {
			return 0, nil, invalidDataErr("text message is not valid UTF-8")
		}
		return op, msg, nil
	}
}

// readShort reads the mask key (maskLen bytes) and a payload of n < 126
// bytes with a single read call and returns the unmasked payload.
func (r *frameReader) readShort(maskLen int, n int64) ([]byte, error) {
	buf := make([]byte, maskLen+int(n))
	if _, err := io.ReadFull(r.src, buf); err != nil {
		return nil, eofIsUnexpected(err, true)
	}
	p := buf[maskLen:]
	if maskLen > 0 {
		ws.Cipher(p, [4]byte(buf[:4]), 0)
	}
	return p, nil
}

// appendShort reads the mask key (maskLen bytes) and a payload of n < 126
// bytes with a single read call, as readShort does, and appends the
// unmasked payload to msg.
func (r *frameReader) appendShort(msg []byte, maskLen, n int) ([]byte, error) {
	start := len(msg)
	buf := slices.Grow(msg, maskLen+n)[:start+maskLen+n]
	if _, err := io.ReadFull(r.src, buf[start:]); err != nil {
		return msg, eofIsUnexpected(err, true)
	}
	if maskLen == 0 {
		return buf, nil
	}
	mask := [4]byte(buf[start:])
	buf = buf[:start+copy(buf[start:], buf[start+maskLen:])]
	ws.Cipher(buf[start:], mask, 0)
	return buf, nil
}

func (r *frameReader) resetMessage() {
	r.op, r.compressed, r.msg, r.frags = 0, false, nil, 0
}

// compressedLimit is how many compressed bytes may carry a message of at
// most limit bytes once inflated: deflate may expand incompressible data a
// little (5 bytes per 64 KiB stored block).
func compressedLimit(limit int64) int64 {
	if limit > 1<<60 {
		return limit
	}
	return limit + limit/1024 + 64
}

// eofIsUnexpected turns io.EOF into io.ErrUnexpectedEOF when it cuts a frame
// or message short.
func eofIsUnexpected(err error, inFrame bool) error {
	if inFrame && err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readAppend reads exactly n bytes from src, appended to dst. It never
// allocates more than readChunk bytes (or the length of dst) ahead of the
// bytes actually received, so a declared length costs nothing until the data
// comes. A single small frame gets a buffer of exactly its size.
func readAppend(src io.Reader, dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, int(min(n, max(int64(len(dst)), readChunk))))
		}
		m := int(min(int64(cap(dst)-len(dst)), n))
		k, err := io.ReadFull(src, dst[len(dst):len(dst)+m])
		dst = dst[:len(dst)+k]
		n -= int64(k)
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// parseClose validates the payload of a close frame received from the peer.
func parseClose(p []byte) (*CloseError, error) {
	switch {
	case len(p) == 0:
		return &CloseError{Code: StatusNoStatus}, nil
	case len(p) == 1:
		return nil, protoErr(true, "close frame payload of 1 byte")
	}
	code := int(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return nil, protoErr(true, "invalid close status code %d", code)
	}
	if !utf8.Valid(p[2:]) {
		return nil, invalidDataErr("close reason is not valid UTF-8")
	}
	return &CloseError{Code: code, Reason: string(p[2:])}, nil
}

// validCloseCode reports whether code may appear in a close frame (RFC 6455
// section 7.4 and the IANA registry).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// closePayload encodes a close frame payload: code and reason, the reason
// cut at a rune boundary to fit the 125-byte control frame limit. Code 0
// gives an empty payload.
func closePayload(code int, reason string) []byte {
	if code == 0 {
		return []byte{}
	}
	reason = truncateUTF8(strings.ToValidUTF8(reason, "\uFFFD"), maxControlPayload-2)
	p := make([]byte, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	copy(p[2:], reason)
	return p
}

// truncateUTF8 returns s cut to at most n bytes without splitting a rune
// (and with invalid bytes left as they are, which only happens for invalid
// input).
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
