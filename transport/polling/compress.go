package polling

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-realtime/realtime/transport"
)

// Compression configures the HTTP compression of the answers to GET
// requests (engine.io's httpCompression). A nil *Compression, or the zero
// value, means compression on with the defaults below.
//
// A response is compressed when all of these hold: compression is not
// disabled, at least one of the frames it carries allows it (see
// [transport.Frame.NoCompress]; the Conn's own noop and close packets do
// not count), its body is at least Threshold bytes, and the request's
// Accept-Encoding accepts gzip or deflate (the one with the higher q, gzip
// on a tie that the header's order does not break). The response then has
// a Content-Encoding header.
type Compression struct {
	// Disable turns compression off: responses are sent as they are.
	Disable bool
	// Threshold is the smallest body, in bytes, that is compressed.
	// Default DefaultCompressionThreshold (1024); negative: every body.
	Threshold int
	// Level is the compress/flate level, from flate.BestSpeed (1) to
	// flate.BestCompression (9). Default (0, or out of range):
	// flate.DefaultCompression, as Node's zlib.
	Level int
}

// DefaultCompressionThreshold is the default [Compression.Threshold].
const DefaultCompressionThreshold = 1024

// compression is a Compression with its defaults applied.
type compression struct {
	on        bool
	threshold int
	level     int
}

func newCompression(c *Compression) compression {
	var o Compression
	if c != nil {
		o = *c
	}
	z := compression{on: !o.Disable, threshold: o.Threshold, level: o.Level}
	if z.threshold == 0 {
		z.threshold = DefaultCompressionThreshold
	}
	if z.level < flate.BestSpeed || z.level > flate.BestCompression {
		z.level = flate.DefaultCompression
	}
	return z
}

// Content codings a response may have.
const (
	codingNone = iota
	codingGzip
	codingDeflate
)

var codingNames = [...]string{codingGzip: "gzip", codingDeflate: "deflate"}

// acceptedCoding returns the coding to answer a request with whose
// Accept-Encoding is header, among gzip and deflate: the one with the
// higher quality (a named coding before "*", then the one the header names
// first, then gzip), or codingNone when neither is acceptable (no header,
// or q=0).
func acceptedCoding(header string) int {
	type match struct {
		q     float64
		exact bool
		pos   int
	}
	var best [3]match // by coding; q 0: not acceptable
	star, starSeen := match{}, false
	for pos := 0; header != ""; pos++ {
		var item string
		item, header, _ = strings.Cut(header, ",")
		name, params, _ := strings.Cut(item, ";")
		name = strings.TrimSpace(name)
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 {
					f = 0
				}
				q = min(f, 1)
			}
		}
		m := match{q: q, exact: true, pos: pos}
		switch {
		case strings.EqualFold(name, "gzip"):
			if !best[codingGzip].exact {
				best[codingGzip] = m
			}
		case strings.EqualFold(name, "deflate"):
			if !best[codingDeflate].exact {
				best[codingDeflate] = m
			}
		case name == "*":
			if !starSeen {
				star, starSeen = match{q: q, pos: pos}, true
			}
		}
	}
	choice, top := codingNone, match{}
	for coding := codingGzip; coding <= codingDeflate; coding++ {
		m := best[coding]
		if !m.exact {
			m = star
		}
		if m.q <= 0 {
			continue
		}
		if choice == codingNone || m.q > top.q ||
			m.q == top.q && (m.exact && !top.exact || m.exact == top.exact && m.pos < top.pos) {
			choice, top = coding, m
		}
	}
	return choice
}

// sliceWriter is an io.Writer appending to a slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compressor is a pooled gzip or zlib writer with its output.
type compressor struct {
	out sliceWriter
	zw  interface {
		io.WriteCloser
		Reset(io.Writer)
	}
}

// compressors pools compressors by coding and level (level
// flate.DefaultCompression at index 0).
var compressors [3][flate.BestCompression + 1]sync.Pool

// compressAppend appends the coding's encoding of p at level to dst.
func compressAppend(dst, p []byte, coding, level int) []byte {
	idx := max(level, 0)
	pool := &compressors[coding][idx]
	z, _ := pool.Get().(*compressor)
	if z == nil {
		z = new(compressor)
		// level is valid: no error.
		if coding == codingGzip {
			z.zw, _ = gzip.NewWriterLevel(&z.out, level)
		} else {
			z.zw, _ = zlib.NewWriterLevel(&z.out, level)
		}
	} else {
		z.zw.Reset(&z.out)
	}
	z.out.b = dst
	// Writes to a sliceWriter do not fail, hence neither does the compressor.
	_, _ = z.zw.Write(p)
	_ = z.zw.Close()
	dst = z.out.b
	z.out.b = nil
	pool.Put(z)
	return dst
}

// compressible reports whether a response carrying frames may be
// compressed: engine.io compresses when any packet asks for it.
func compressible(frames []transport.Frame) bool {
	for _, f := range frames {
		if !f.NoCompress {
			return true
		}
	}
	return false
}

// encodeBody returns the body to answer r with, and its coding: body as it
// is, or compressed into the pooled buffer *zp when the rules of
// [Compression] say so (allowed: the frames let it be compressed).
func (z *compression) encodeBody(r *http.Request, allowed bool, body []byte, zp **[]byte) ([]byte, int) {
	if !z.on || !allowed || len(body) < z.threshold {
		return body, codingNone
	}
	var coding int
	switch v := r.Header.Values("Accept-Encoding"); len(v) {
	case 0:
	case 1:
		coding = acceptedCoding(v[0])
	default:
		coding = acceptedCoding(strings.Join(v, ","))
	}
	if coding == codingNone {
		return body, codingNone
	}
	*zp = getBuffer()
	out := compressAppend((**zp)[:0], body, coding, z.level)
	**zp = out
	return out, coding
}
