package websocket

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

const (
	sampleKey    = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 section 1.3
	sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

func handshake(extra ...string) string {
	h := map[string]string{
		"Host":                  "example.com",
		"Upgrade":               "websocket",
		"Connection":            "Upgrade",
		"Sec-WebSocket-Key":     sampleKey,
		"Sec-WebSocket-Version": "13",
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, ":")
		h[k] = strings.TrimSpace(v)
	}
	var b strings.Builder
	b.WriteString("GET /ws HTTP/1.1\r\n")
	for k, v := range h {
		if v != "-" { // "-" removes the header
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// rawRequest sends req over a new TCP connection and reads the response
// (and then closes the connection unless keep).
func rawRequest(t *testing.T, f *fixture, req string) (*http.Response, string, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitTimeout)))
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	var body string
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		body = string(b)
	}
	return resp, body, conn, br
}

func TestHandshakeOK(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	tests := []struct {
		name  string
		extra []string
	}{
		{
			name: "plain",
		},
		{
			name:  "connection token list and subprotocol ignored",
			extra: []string{"Connection: keep-alive, Upgrade", "Sec-WebSocket-Protocol: chat, superchat", "Upgrade: WebSocket"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, conn, _ := rawRequest(t, f, handshake(tt.extra...))
			assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			assert.Equal(t, sampleAccept, resp.Header.Get("Sec-WebSocket-Accept"))
			assert.True(t, strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"))
			assert.Empty(t, resp.Header.Get("Sec-WebSocket-Protocol"))
			assert.Empty(t, resp.Header.Get("Sec-WebSocket-Extensions"))

			c := f.accept()
			assert.Equal(t, transport.NameWebSocket, c.Name())
			assert.Equal(t, conn.LocalAddr().String(), c.RemoteAddr().String())
			assert.False(t, c.Compression())
			rec := newRecorder()
			c.Start(rec)
			conn.Close()
			err := rec.wait(t)
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestHandshakeBad(t *testing.T) {
	f := newFixture(t, &Options{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") != "http://evil.example"
	}}, transport.Params{})
	tests := []struct {
		name    string
		req     string
		status  int
		header  [2]string
		wantErr error
	}{
		{
			name:    "POST",
			req:     strings.Replace(handshake("Content-Length: 0"), "GET", "POST", 1),
			status:  http.StatusMethodNotAllowed,
			header:  [2]string{"Allow", "GET"},
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "HTTP/1.0",
			req:     strings.Replace(handshake(), "HTTP/1.1", "HTTP/1.0", 1),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "no Upgrade",
			req:     handshake("Upgrade: -"),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "Upgrade not websocket",
			req:     handshake("Upgrade: h2c"),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "no Connection upgrade",
			req:     handshake("Connection: keep-alive"),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "no key",
			req:     handshake("Sec-WebSocket-Key: -"),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "short key",
			req:     handshake("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "key not base64",
			req:     handshake("Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "no version",
			req:     handshake("Sec-WebSocket-Version: -"),
			status:  http.StatusBadRequest,
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "version 8",
			req:     handshake("Sec-WebSocket-Version: 8"),
			status:  http.StatusUpgradeRequired,
			header:  [2]string{"Sec-WebSocket-Version", "13"},
			wantErr: transport.ErrBadRequest,
		},
		{
			name:    "origin refused",
			req:     handshake("Origin: http://evil.example"),
			status:  http.StatusForbidden,
			wantErr: ErrOriginNotAllowed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, _, _ := rawRequest(t, f, tt.req)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
			assert.NotEmpty(t, strings.TrimSpace(body))
			if tt.header[0] != "" {
				assert.Equal(t, tt.header[1], resp.Header.Get(tt.header[0]))
			}
			assert.ErrorIs(t, f.acceptErr(), tt.wantErr)
		})
	}
}

// The client's first frames may arrive in the same packet as its handshake:
// they are in the server's hijacked buffer and must not be lost.
func TestHandshakePipelinedFrames(t *testing.T) {
	f := newFixture(t, nil, transport.Params{})
	req := handshake() + string(cframe(0x1, "hello")) + string(cframe(0x2, "bin"))
	resp, _, conn, br := rawRequest(t, f, req)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.Zero(t, br.Buffered())

	c := f.accept()
	rec := newRecorder()
	c.Start(rec)
	assert.Equal(t, transport.TextFrame("hello"), rec.next(t))
	assert.Equal(t, transport.BinaryFrame([]byte("bin")), rec.next(t))
	conn.Close()
	rec.wait(t)
}

func TestHandshakeDeflateNegotiation(t *testing.T) {
	tests := []struct {
		name      string
		enabled   bool
		offer     string
		accepted  bool
		wantParam []string
	}{
		{
			name:      "enabled and offered",
			enabled:   true,
			offer:     "permessage-deflate; client_max_window_bits",
			accepted:  true,
			wantParam: []string{"server_no_context_takeover", "client_no_context_takeover"},
		},
		{
			name:     "disabled",
			enabled:  false,
			offer:    "permessage-deflate; client_max_window_bits",
			accepted: false,
		},
		{
			name:     "enabled, not offered",
			enabled:  true,
			accepted: false,
		},
		{
			name:     "small server window declined",
			enabled:  true,
			offer:    "permessage-deflate; server_max_window_bits=10",
			accepted: false,
		},
		{
			name:      "second offer taken",
			enabled:   true,
			offer:     "permessage-deflate; server_max_window_bits=9, permessage-deflate; server_max_window_bits=15",
			accepted:  true,
			wantParam: []string{"server_max_window_bits=15"},
		},
		{
			name:     "malformed offer declined",
			enabled:  true,
			offer:    "permessage-deflate; no_such_param",
			accepted: false,
		},
		{
			name:     "other extension ignored",
			enabled:  true,
			offer:    "x-webkit-deflate-frame",
			accepted: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, &Options{Compression: tt.enabled}, transport.Params{})
			extra := []string{}
			if tt.offer != "" {
				extra = append(extra, "Sec-WebSocket-Extensions: "+tt.offer)
			}
			resp, _, conn, _ := rawRequest(t, f, handshake(extra...))
			require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			c := f.accept()
			assert.Equal(t, tt.accepted, c.Compression())
			if tt.accepted {
				assert.True(t, strings.HasPrefix(ext, "permessage-deflate"), ext)
				for _, p := range tt.wantParam {
					assert.Contains(t, ext, p)
				}
			} else {
				assert.Empty(t, ext)
			}
			rec := newRecorder()
			c.Start(rec)
			conn.Close()
			rec.wait(t)
		})
	}
}

// With Params.SendsFirst the handshake response waits for the first frames,
// or for Start or Close, and goes out with them.
func TestHandshakeResponseSentWithFirstFrames(t *testing.T) {
	tests := []struct {
		name  string
		after func(c *Conn)
		check func(t *testing.T, cc *ClientConn)
	}{
		{
			name: "first frame",
			after: func(c *Conn) {
				_ = c.Send(transport.TextFrame("hello"))
				c.Start(nil)
			},
			check: func(t *testing.T, cc *ClientConn) {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				f, err := cc.ReadFrame(ctx)
				require.NoError(t, err)
				assert.Equal(t, transport.TextFrame("hello"), f)
			},
		},
		{
			name:  "start only",
			after: func(c *Conn) { c.Start(nil) },
			check: func(t *testing.T, cc *ClientConn) {
				require.NoError(t, cc.WriteFrame(transport.TextFrame("x")))
			},
		},
		{
			name:  "close before start",
			after: func(c *Conn) { _ = c.CloseWithStatus(4000, "go away") },
			check: func(t *testing.T, cc *ClientConn) {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				_, err := cc.ReadFrame(ctx)
				var ce *CloseError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, 4000, ce.Code)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(nil)
			done := make(chan *Conn, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := tr.Accept(w, r, transport.Params{SendsFirst: true})
				if err != nil {
					done <- nil
					return
				}
				tt.after(c.(*Conn))
				done <- c.(*Conn)
			}))
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			cc, err := Dial(ctx, "ws"+srv.URL[len("http"):]+"/ws", nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = cc.Close() })
			c := <-done
			require.NotNil(t, c)
			tt.check(t, cc)
			_ = c.Close()
		})
	}
}

// The response and the first frame leave in one write: a single read gets
// both.
func TestHandshakeResponseAndFirstFrameInOneWrite(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks the Linux writev path")
	}
	tr := New(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := tr.Accept(w, r, transport.Params{SendsFirst: true})
		if err != nil {
			return
		}
		_ = c.Send(transport.TextFrame("first"))
		c.Start(nil)
		t.Cleanup(func() { _ = c.Close() })
	}))
	t.Cleanup(srv.Close)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	_, err = io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(waitTimeout)))
	buf := make([]byte, 4096)
	n, err := nc.Read(buf)
	require.NoError(t, err)
	got := string(buf[:n])
	assert.True(t, strings.HasPrefix(got, "HTTP/1.1 101 "), got)
	assert.True(t, strings.HasSuffix(got, "\r\n\r\n\x81\x05first"), "%q", got)
}
