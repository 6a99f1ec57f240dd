package websocket

import (
	"bytes"
	"compress/flate"
	"io"
	"slices"
	"sync"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// permessage-deflate (RFC 7692) is always used without context takeover in
// both directions: every message is compressed and inflated on its own, so a
// connection keeps no compression state between messages and the (large)
// flate compressors and decompressors are pooled, held only while a message
// is being processed.

// negotiateDeflate returns an ws.HTTPUpgrader Negotiate callback accepting
// the first permessage-deflate offer this implementation can honour; it sets
// *accepted when it does.
func negotiateDeflate(accepted *bool) func(httphead.Option) (httphead.Option, error) {
	return func(offer httphead.Option) (httphead.Option, error) {
		if *accepted || !bytes.Equal(offer.Name, wsflate.ExtensionNameBytes) {
			return httphead.Option{}, nil
		}
		var p wsflate.Parameters
		if err := p.Parse(offer); err != nil {
			// A malformed offer is declined, not fatal: the client may
			// have listed others.
			return httphead.Option{}, nil
		}
		resp := wsflate.Parameters{
			ServerNoContextTakeover: true,
			ClientNoContextTakeover: true,
		}
		switch p.ServerMaxWindowBits {
		case 0:
		case 15:
			// The offer must be answered with the same or a smaller value.
			resp.ServerMaxWindowBits = 15
		default:
			// compress/flate always uses a 32 KiB window.
			return httphead.Option{}, nil
		}
		*accepted = true
		return resp.Option(), nil
	}
}

// clientOffer is the permessage-deflate offer of Dial.
func clientOffer() httphead.Option {
	return wsflate.Parameters{
		ServerNoContextTakeover: true,
		ClientNoContextTakeover: true,
	}.Option()
}

// deflateTail ends a message as RFC 7692 section 7.2.2 says (the 4 bytes a
// sender strips), followed by an empty final block so that the flate reader
// reports io.EOF at the end of the message.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

type inflater struct {
	src bytes.Reader
	fr  io.ReadCloser // also flate.Resetter
}

var inflaters sync.Pool // *inflater

// inflate decompresses one permessage-deflate message (in is modified). It
// fails with a 1009 error when the result would exceed limit bytes, without
// producing more than limit+1 bytes, and with a 1007 error on a corrupt
// stream.
func inflate(in []byte, limit int64) ([]byte, error) {
	in = append(in, deflateTail...)
	z, _ := inflaters.Get().(*inflater)
	if z == nil {
		z = new(inflater)
		z.src.Reset(in)
		z.fr = flate.NewReader(&z.src)
	} else {
		z.src.Reset(in)
		_ = z.fr.(flate.Resetter).Reset(&z.src, nil)
	}
	defer func() {
		z.src.Reset(nil)
		inflaters.Put(z)
	}()

	out := make([]byte, 0, min(limit+1, max(int64(len(in))*3, 512)))
	for {
		if len(out) == cap(out) {
			out = slices.Grow(out, int(min(int64(cap(out)), limit+1-int64(len(out)))))
		}
		n, err := z.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if int64(len(out)) > limit {
			return nil, tooLargeErr(limit, true)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, invalidDataErr("bad deflate stream: %v", err)
		}
	}
}

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type deflater struct {
	w  appendWriter
	fw *flate.Writer
}

// deflaters pools compressors per compression level (index = level).
var deflaters [flate.BestCompression + 1]sync.Pool

// deflateAppend appends the permessage-deflate encoding of p (a whole
// message, compressed on its own) to dst.
func deflateAppend(dst, p []byte, level int) []byte {
	if level < flate.BestSpeed || level > flate.BestCompression {
		level = flate.BestSpeed
	}
	d, _ := deflaters[level].Get().(*deflater)
	if d == nil {
		d = new(deflater)
		d.fw, _ = flate.NewWriter(&d.w, level) // level is valid: no error
	} else {
		d.fw.Reset(&d.w)
	}
	d.w.b = dst
	// Writes to appendWriter do not fail, hence neither does the compressor.
	_, _ = d.fw.Write(p)
	_ = d.fw.Flush()
	out := d.w.b
	d.w.b = nil
	deflaters[level].Put(d)
	// A sync flush ends with 00 00 ff ff, which RFC 7692 has the sender drop.
	if n := len(out); n-len(dst) >= 4 && bytes.Equal(out[n-4:], deflateTail[:4]) {
		out = out[:n-4]
	}
	return out
}
