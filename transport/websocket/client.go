package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/go-realtime/realtime/transport"
)

// DialOptions configure Dial. A nil *DialOptions, like every zero field,
// means the defaults.
type DialOptions struct {
	// Compression offers permessage-deflate (without context takeover).
	// Default: off.
	Compression bool
	// CompressionThreshold is the smallest frame sent compressed when
	// compression was negotiated. Zero means DefaultCompressionThreshold;
	// a negative value compresses every frame.
	CompressionThreshold int
	// MaxPayload bounds the messages accepted from the server. Zero means
	// transport.DefaultMaxPayload.
	MaxPayload int64
	// Header holds extra handshake request headers (Origin, Cookie...).
	// Default: none.
	Header http.Header
	// TLSConfig is used for wss:// URLs. Default: a zero tls.Config.
	TLSConfig *tls.Config
}

// ClientConn is the client end of a WebSocket connection made by Dial: a
// small client for tests and load generators. ReadFrame is meant for one
// goroutine at a time; WriteFrame and Close may be called concurrently with
// it and with each other.
type ClientConn struct {
	nc        net.Conn
	deflate   bool
	threshold int

	rmu sync.Mutex
	rd  frameReader

	wmu       sync.Mutex
	wbuf      []byte
	zbuf      []byte
	closeSent bool
}

var aLongTimeAgo = time.Unix(1, 0)

// Dial opens a WebSocket connection to url (ws://, wss://, or http(s)://
// which is rewritten to ws(s)://). ctx bounds the connection and handshake.
// When the server answers with another status than 101 the error wraps a
// ws.StatusError (github.com/gobwas/ws) holding it.
func Dial(ctx context.Context, url string, opts *DialOptions) (*ClientConn, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if rest, ok := strings.CutPrefix(url, "http"); ok {
		url = "ws" + rest
	}
	d := ws.Dialer{TLSConfig: o.TLSConfig}
	if o.Header != nil {
		d.Header = ws.HandshakeHeaderHTTP(o.Header)
	}
	if o.Compression {
		d.Extensions = []httphead.Option{clientOffer()}
	}
	nc, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", url, err)
	}
	c := &ClientConn{nc: nc}
	for _, e := range hs.Extensions {
		if bytes.Equal(e.Name, wsflate.ExtensionNameBytes) {
			c.deflate = true
		}
	}
	c.threshold = o.CompressionThreshold
	switch {
	case c.threshold == 0:
		c.threshold = DefaultCompressionThreshold
	case c.threshold < 0:
		c.threshold = 0
	}
	var src io.Reader = nc
	if br != nil {
		b, _ := br.Peek(br.Buffered())
		src = &prefixReader{buf: bytes.Clone(b), r: nc}
		ws.PutReader(br)
	}
	c.rd = frameReader{
		src:        src,
		maxPayload: transport.Params{MaxPayload: o.MaxPayload}.WithDefaults().MaxPayload,
		maxFrags:   DefaultMaxFragments,
		deflate:    c.deflate,
	}
	return c, nil
}

// Compression reports whether permessage-deflate was negotiated.
func (c *ClientConn) Compression() bool { return c.deflate }

// LocalAddr returns the client's network address.
func (c *ClientConn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// ReadFrame returns the next message from the server. Pings are answered,
// pongs skipped. A close frame from the server is answered and returned as a
// *CloseError. When ctx ends first, the read is abandoned and ctx.Err()
// returned; the connection should not be read any more then.
func (c *ClientConn) ReadFrame(ctx context.Context) (transport.Frame, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if err := ctx.Err(); err != nil {
		return transport.Frame{}, err
	}
	if ctx.Done() != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			_ = c.nc.SetReadDeadline(aLongTimeAgo)
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	for {
		op, p, err := c.rd.next()
		if err != nil {
			if ctx.Err() != nil {
				return transport.Frame{}, ctx.Err()
			}
			return transport.Frame{}, err
		}
		switch op {
		case ws.OpText, ws.OpBinary:
			return transport.Frame{Binary: op == ws.OpBinary, Data: p}, nil
		case ws.OpPing:
			if err := c.write(ws.OpPong, p); err != nil && !errors.Is(err, transport.ErrClosed) {
				return transport.Frame{}, err
			}
		case ws.OpClose:
			ce, err := parseClose(p)
			if err != nil {
				return transport.Frame{}, err
			}
			code := ce.Code
			if code == StatusNoStatus {
				code = 0
			}
			_ = c.sendClose(code, "")
			return transport.Frame{}, ce
		}
	}
}

// WriteFrame sends f as one message (compressed when negotiated and f is
// at least the threshold).
func (c *ClientConn) WriteFrame(f transport.Frame) error {
	op := ws.OpText
	if f.Binary {
		op = ws.OpBinary
	}
	return c.write(op, f.Data)
}

// CloseWithStatus sends a close frame with code and reason without closing
// the connection: ReadFrame then returns the server's answer.
func (c *ClientConn) CloseWithStatus(code int, reason string) error {
	return c.sendClose(code, reason)
}

// Close sends a close frame (1000) if none was sent, waits briefly for the
// server's answer when no ReadFrame is running, and closes the connection.
func (c *ClientConn) Close() error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.sendClose(StatusNormalClosure, "")
	if c.rmu.TryLock() {
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
		for {
			op, _, err := c.rd.next()
			if err != nil || op == ws.OpClose {
				break
			}
		}
		c.rmu.Unlock()
	}
	return c.nc.Close()
}

func (c *ClientConn) sendClose(code int, reason string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return nil
	}
	err := c.writeLocked(ws.OpClose, closePayload(code, reason))
	c.closeSent = true
	return err
}

func (c *ClientConn) write(op ws.OpCode, p []byte) error {
	if err := c.lockOpen(); err != nil {
		return err
	}
	defer c.wmu.Unlock()
	return c.writeLocked(op, p)
}

// lockOpen takes the write lock, unless a close frame was sent: then it
// returns an error wrapping transport.ErrClosed, without the lock.
func (c *ClientConn) lockOpen() error {
	c.wmu.Lock()
	if c.closeSent {
		c.wmu.Unlock()
		return fmt.Errorf("websocket: write: %w", transport.ErrClosed)
	}
	return nil
}

// writeLocked writes one masked frame (a copy of p, masked).
func (c *ClientConn) writeLocked(op ws.OpCode, p []byte) error {
	var rsv byte
	if c.deflate && op.IsData() && len(p) >= c.threshold {
		c.zbuf = deflateAppend(c.zbuf[:0], p, 1)
		p, rsv = c.zbuf, rsv1
	}
	b := appendClientFrame(c.wbuf[:0], true, rsv, op, p)
	_, err := c.nc.Write(b)
	if cap(b) <= maxPooledScratch {
		c.wbuf = b[:0]
	} else {
		c.wbuf = nil
	}
	if cap(c.zbuf) > maxPooledScratch {
		c.zbuf = nil
	}
	return err
}

// WriteRaw writes b as it is: frames the caller encoded (see
// AppendFragmented), for tests of how servers take unusual input. Once a
// close frame was sent (ReadFrame answering the server's), it writes
// nothing and the error wraps transport.ErrClosed.
func (c *ClientConn) WriteRaw(b []byte) error {
	if err := c.lockOpen(); err != nil {
		return err
	}
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// AppendFragmented appends to dst the frames of f as a client sends them
// (masked, not compressed), split into frames of at most size bytes (an
// empty f is one empty frame; size <= 0 means one frame), for
// ClientConn.WriteRaw.
func AppendFragmented(dst []byte, f transport.Frame, size int) []byte {
	if size <= 0 {
		size = max(1, len(f.Data))
	}
	op := ws.OpText
	if f.Binary {
		op = ws.OpBinary
	}
	for i := 0; ; i += size {
		last := i+size >= len(f.Data)
		dst = appendClientFrame(dst, last, 0, op, f.Data[i:min(i+size, len(f.Data))])
		if last {
			return dst
		}
		op = ws.OpContinuation
	}
}

// appendClientFrame appends a masked frame holding p (masked with a random
// key).
func appendClientFrame(dst []byte, fin bool, rsv byte, op ws.OpCode, p []byte) []byte {
	b := appendClientHeader(dst, fin, rsv, op, len(p))
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	b = append(b, mask[:]...)
	s := len(b)
	b = append(b, p...)
	ws.Cipher(b[s:], mask, 0)
	return b
}

// appendClientHeader appends a frame header with the mask bit set; the
// 4-byte mask key is for the caller to append.
func appendClientHeader(dst []byte, fin bool, rsv byte, op ws.OpCode, n int) []byte {
	b0 := rsv<<4 | byte(op)
	if fin {
		b0 |= 0x80
	}
	switch {
	case n <= maxControlPayload:
		return append(dst, b0, 0x80|byte(n))
	case n <= 0xffff:
		return append(dst, b0, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 0x80|127)
		return binary.BigEndian.AppendUint64(dst, uint64(n))
	}
}
