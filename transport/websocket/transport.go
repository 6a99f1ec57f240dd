package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/go-realtime/realtime/transport"
)

// Defaults for zero Options fields.
const (
	DefaultCompressionThreshold = 256
	DefaultWriteTimeout         = 10 * time.Second
	DefaultHandshakeTimeout     = 10 * time.Second
	DefaultCloseTimeout         = 2 * time.Second
	DefaultMaxFragments         = 16_384
)

// Options configure a Transport. A nil *Options, like every zero field,
// means the defaults.
type Options struct {
	// Compression enables permessage-deflate (RFC 7692) when the client
	// offers it. Both directions run without context takeover: no
	// compression state is kept per connection. Default: off.
	Compression bool
	// CompressionThreshold is the smallest frame, in bytes, that is sent
	// compressed when compression was negotiated; smaller frames go out
	// plain. Zero means DefaultCompressionThreshold (256); a negative value
	// compresses every frame.
	CompressionThreshold int
	// CompressionLevel is the compress/flate level used for outgoing
	// frames, from flate.BestSpeed (1) to flate.BestCompression (9). Zero
	// (or anything out of range) means flate.BestSpeed.
	CompressionLevel int
	// WriteTimeout bounds each write to the peer: a write blocked longer
	// than this closes the connection. It also bounds how long Close spends
	// flushing queued frames. Zero means DefaultWriteTimeout (10s).
	WriteTimeout time.Duration
	// HandshakeTimeout bounds writing the handshake response. Zero means
	// DefaultHandshakeTimeout (10s).
	HandshakeTimeout time.Duration
	// CloseTimeout is how long, after sending a close frame, the server
	// waits for the client to answer it (or to close TCP) before closing
	// the TCP connection itself. Zero means DefaultCloseTimeout (2s); a
	// negative value closes TCP right after the close frame is written.
	CloseTimeout time.Duration
	// CheckOrigin, when set, is called before the upgrade; if it returns
	// false Accept answers 403 Forbidden and returns an error wrapping
	// ErrOriginNotAllowed. Default: nil, every origin is accepted (the
	// layer above usually checks origins itself).
	CheckOrigin func(r *http.Request) bool
	// Logger receives debug messages about connections ending on errors.
	// Default: slog.Default().
	Logger *slog.Logger
	// SendBuffer, when positive, sets the kernel send buffer (SO_SNDBUF) of
	// each accepted TCP connection, bounding what a client that stops
	// reading can hold in the kernel before its queue overflows. Default:
	// the system's (autotuned, up to several MiB).
	SendBuffer int
	// MaxFragments bounds the frames one message from a client may be split
	// into (RFC 6455 section 5.4; control frames between them do not
	// count). However small, each frame costs the server some work: without
	// a bound, a legal message sent as a million one-byte frames would cost
	// far more than the same message sent whole. A client that sends more is
	// disconnected with status 1008 as soon as the first bytes of the frame
	// past the bound arrive, and the handler gets an error wrapping
	// ErrTooManyFragments and transport.ErrTooLarge. The message's size is
	// bounded by transport.Params.MaxPayload as well. Zero means
	// DefaultMaxFragments (16,384, the default of Node's ws under socket.io
	// 4.8, which also closes with 1008); a negative value means no bound.
	MaxFragments int
	// NoPoller makes every connection read with a goroutine of its own.
	// By default, on Linux, plain TCP connections are read through a shared
	// epoll poller instead, so an idle connection holds no goroutine and no
	// buffer; other systems and TLS connections always use a goroutine.
	NoPoller bool
}

// Transport accepts WebSocket connections. It is safe for concurrent use.
type Transport struct {
	compression      bool
	threshold        int
	level            int
	writeTimeout     time.Duration
	handshakeTimeout time.Duration
	closeTimeout     time.Duration
	checkOrigin      func(*http.Request) bool
	log              *slog.Logger
	noPoll           bool
	sendBuffer       int
	maxFragments     int // 0: no bound
}

var _ transport.Transport = (*Transport)(nil)

// New returns a Transport configured by opts (nil means defaults).
func New(opts *Options) *Transport {
	var o Options
	if opts != nil {
		o = *opts
	}
	t := &Transport{
		compression:      o.Compression,
		threshold:        o.CompressionThreshold,
		level:            o.CompressionLevel,
		writeTimeout:     o.WriteTimeout,
		handshakeTimeout: o.HandshakeTimeout,
		closeTimeout:     o.CloseTimeout,
		checkOrigin:      o.CheckOrigin,
		log:              o.Logger,
		noPoll:           o.NoPoller,
		sendBuffer:       o.SendBuffer,
		maxFragments:     o.MaxFragments,
	}
	switch {
	case t.threshold == 0:
		t.threshold = DefaultCompressionThreshold
	case t.threshold < 0:
		t.threshold = 0
	}
	if t.level < flate.BestSpeed || t.level > flate.BestCompression {
		t.level = flate.BestSpeed
	}
	if t.writeTimeout <= 0 {
		t.writeTimeout = DefaultWriteTimeout
	}
	if t.handshakeTimeout <= 0 {
		t.handshakeTimeout = DefaultHandshakeTimeout
	}
	if t.closeTimeout == 0 {
		t.closeTimeout = DefaultCloseTimeout
	}
	switch {
	case t.maxFragments == 0:
		t.maxFragments = DefaultMaxFragments
	case t.maxFragments < 0:
		t.maxFragments = 0
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t
}

// Name returns transport.NameWebSocket.
func (t *Transport) Name() string { return transport.NameWebSocket }

// Accept completes the WebSocket handshake of r (RFC 6455 section 4.2) and
// returns the connection, which does nothing until [Conn.Start]. With
// p.SendsFirst the handshake response goes out with the first frames sent,
// in the same write (a server's first message then costs no extra system
// call), or when Start or Close is called, whichever comes first; otherwise
// it is written before Accept returns.
//
// A request that is not a valid handshake is answered with 405 (not GET),
// 426 (unsupported Sec-WebSocket-Version, with "Sec-WebSocket-Version: 13")
// or 400 (anything else) and a short plain-text reason, and the error wraps
// transport.ErrBadRequest. A request refused by Options.CheckOrigin gets 403
// and an error wrapping ErrOriginNotAllowed. No subprotocol is selected.
//
// The returned transport.Conn is a *Conn (for CloseWithStatus, RemoteAddr
// and Compression).
func (t *Transport) Accept(w http.ResponseWriter, r *http.Request, p transport.Params) (transport.Conn, error) {
	c, err := t.accept(w, r, p)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (t *Transport) accept(w http.ResponseWriter, r *http.Request, p transport.Params) (*Conn, error) {
	if status, reason := checkHandshake(r); status != 0 {
		switch status {
		case http.StatusUpgradeRequired:
			w.Header().Set("Sec-WebSocket-Version", "13")
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", http.MethodGet)
		}
		http.Error(w, reason, status)
		return nil, fmt.Errorf("websocket: bad handshake: %s: %w", reason, transport.ErrBadRequest)
	}
	if t.checkOrigin != nil && !t.checkOrigin(r) {
		origin := r.Header.Get("Origin")
		http.Error(w, fmt.Sprintf("origin %q not allowed", origin), http.StatusForbidden)
		return nil, fmt.Errorf("%w: %q", ErrOriginNotAllowed, origin)
	}

	var deflate bool
	u := ws.HTTPUpgrader{Timeout: t.handshakeTimeout}
	if cookies := w.Header()["Set-Cookie"]; len(cookies) > 0 {
		// The caller's cookies (Engine.IO's session cookie) go into the
		// upgrade response.
		u.Header = http.Header{"Set-Cookie": cookies}
	}
	if t.compression {
		u.Negotiate = negotiateDeflate(&deflate)
	}
	// The upgrader writes its response to a buffer, sent later with the
	// first frames (see Accept).
	var hw http.ResponseWriter = w
	dw := &deferredWriter{ResponseWriter: w}
	if p.SendsFirst {
		hw = dw
	}
	nc, rw, _, err := u.Upgrade(r, hw)
	if dw.conn != nil {
		nc = dw.conn.Conn
	}
	if err != nil {
		// The upgrader has answered the request (on the hijacked
		// connection when it got that far).
		if nc != nil {
			if dw.conn != nil && len(dw.conn.buf) > 0 {
				_ = nc.SetWriteDeadline(time.Now().Add(t.handshakeTimeout))
				_, _ = nc.Write(dw.conn.buf)
			}
			_ = nc.Close()
		}
		var rej *ws.ConnectionRejectedError
		if errors.As(err, &rej) {
			return nil, fmt.Errorf("websocket: bad handshake: %w: %w", err, transport.ErrBadRequest)
		}
		return nil, fmt.Errorf("websocket: upgrade: %w", err)
	}

	if tc, ok := nc.(*net.TCPConn); ok && t.sendBuffer > 0 {
		_ = tc.SetWriteBuffer(t.sendBuffer)
	}
	// Bytes the client sent right after its request (its first frames)
	// may already sit in the hijacked buffer.
	var src io.Reader = nc
	if n := rw.Reader.Buffered(); n > 0 {
		b, _ := rw.Reader.Peek(n)
		src = &prefixReader{buf: bytes.Clone(b), r: nc}
	}
	c := newConn(t, nc, src, p.WithDefaults(), deflate)
	if dw.conn != nil && len(dw.conn.buf) > 0 {
		c.queue = append(c.queue, outFrame{raw: true, data: dw.conn.buf})
		c.budget.Add(int64(len(dw.conn.buf)) + transport.FrameOverhead)
	}
	return c, nil
}

// deferredWriter is the http.ResponseWriter given to the upgrader: the
// connection it hijacks keeps what the upgrader writes.
type deferredWriter struct {
	http.ResponseWriter
	conn *bufferedConn
}

func (w *deferredWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("websocket: the ResponseWriter cannot be hijacked")
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &bufferedConn{Conn: nc}
	return w.conn, bufio.NewReadWriter(rw.Reader, bufio.NewWriterSize(w.conn, 512)), nil
}

// bufferedConn keeps what is written to it.
type bufferedConn struct {
	net.Conn
	buf []byte
}

func (c *bufferedConn) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// checkHandshake validates an upgrade request; it returns the HTTP status
// and reason to answer when it is not a valid one, or 0.
func checkHandshake(r *http.Request) (status int, reason string) {
	h := r.Header
	switch {
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, "websocket: handshake must be a GET request"
	case !r.ProtoAtLeast(1, 1):
		return http.StatusBadRequest, "websocket: handshake needs HTTP/1.1 or later"
	case r.Host == "":
		return http.StatusBadRequest, "websocket: missing Host header"
	case !strings.EqualFold(h.Get("Upgrade"), "websocket"):
		return http.StatusBadRequest, `websocket: "Upgrade: websocket" header missing`
	case !hasToken(h.Get("Connection"), "upgrade"):
		return http.StatusBadRequest, `websocket: "Connection: Upgrade" header missing`
	case !validKey(h.Get("Sec-WebSocket-Key")):
		return http.StatusBadRequest, "websocket: missing or bad Sec-WebSocket-Key header (want base64 of 16 bytes)"
	}
	switch v := h.Get("Sec-WebSocket-Version"); v {
	case "13":
		return 0, ""
	case "":
		return http.StatusBadRequest, "websocket: missing Sec-WebSocket-Version header"
	default:
		return http.StatusUpgradeRequired, "websocket: unsupported Sec-WebSocket-Version (want 13)"
	}
}

// hasToken reports whether the comma-separated list v holds token
// (case-insensitively).
func hasToken(v, token string) bool {
	for s := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(s), token) {
			return true
		}
	}
	return false
}

// validKey reports whether k is the base64 encoding of 16 bytes.
func validKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(k))
	return err == nil && n == 16
}

// prefixReader reads buf, then r.
type prefixReader struct {
	buf []byte
	r   io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.buf) == 0 {
		return p.r.Read(b)
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	return n, nil
}
