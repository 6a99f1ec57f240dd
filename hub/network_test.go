package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

// wireClient speaks raw Engine.IO/Socket.IO to a hub over a real socket.
type wireClient interface {
	send(t *testing.T, packets ...string)
	// recv returns the next packet that is not a ping (pings are answered).
	recv(t *testing.T) transport.Frame
}

type wsWire struct{ c *websocket.ClientConn }

func (w *wsWire) send(t *testing.T, packets ...string) {
	for _, p := range packets {
		f := transport.TextFrame(p)
		if strings.HasPrefix(p, "bin:") {
			f = transport.BinaryFrame([]byte(p[4:]))
		}
		require.NoError(t, w.c.WriteFrame(f))
	}
}

func (w *wsWire) recv(t *testing.T) transport.Frame {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f, err := w.c.ReadFrame(ctx)
		cancel()
		require.NoError(t, err)
		if !f.Binary && string(f.Data) == "2" {
			require.NoError(t, w.c.WriteFrame(transport.TextFrame("3")))
			continue
		}
		return f
	}
}

// wireHTTP is the polling clients' HTTP client. Without keep-alive: a
// keep-alive transport may dial a spare connection while the previous
// request's connection returns to its pool, and http.Server.Shutdown waits
// up to 5 s for such a connection that never sends a request.
var wireHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

type pollWire struct {
	url    string
	queued []transport.Frame
}

func (p *pollWire) send(t *testing.T, packets ...string) {
	frames := make([]transport.Frame, 0, len(packets))
	for _, s := range packets {
		if strings.HasPrefix(s, "bin:") {
			frames = append(frames, transport.BinaryFrame([]byte(s[4:])))
		} else {
			frames = append(frames, transport.TextFrame(s))
		}
	}
	res, err := wireHTTP.Post(p.url, "text/plain", strings.NewReader(string(polling.AppendPayload(nil, frames))))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

func (p *pollWire) recv(t *testing.T) transport.Frame {
	for len(p.queued) == 0 {
		res, err := wireHTTP.Get(p.url)
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, string(body))
		frames, err := polling.DecodePayload(body)
		require.NoError(t, err)
		for _, f := range frames {
			if !f.Binary && string(f.Data) == "2" {
				p.send(t, "3")
				continue
			}
			p.queued = append(p.queued, f)
		}
	}
	f := p.queued[0]
	p.queued = p.queued[1:]
	return f
}

// dialWire opens an Engine.IO session on the hub's HTTP server.
func dialWire(t *testing.T, base, name string) wireClient {
	t.Helper()
	return dialWireWith(t, base, name, "", nil)
}

// dialWireWith is dialWire with extra query parameters (query, "&a=b...")
// and request headers.
func dialWireWith(t *testing.T, base, name, query string, header http.Header) wireClient {
	t.Helper()
	switch name {
	case "websocket":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket"+query, &websocket.DialOptions{Header: header})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		w := &wsWire{c: c}
		require.True(t, strings.HasPrefix(string(w.recv(t).Data), `0{"sid":`))
		return w
	default:
		req, err := http.NewRequest(http.MethodGet, base+"/socket.io/?EIO=4&transport=polling"+query, nil)
		require.NoError(t, err)
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := wireHTTP.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		open := string(body)
		require.True(t, strings.HasPrefix(open, `0{"sid":"`), open)
		sid := open[len(`0{"sid":"`) : len(`0{"sid":"`)+20]
		return &pollWire{url: base + "/socket.io/?EIO=4&transport=polling&sid=" + sid}
	}
}

// TestOverTheNetwork runs the Socket.IO protocol over real sockets with
// both transports: connect with auth, unknown namespace, events, acks both
// ways, binary both ways, server disconnect.
func TestOverTheNetwork(t *testing.T) {
	for _, name := range []string{"websocket", "polling"} {
		t.Run(name, func(t *testing.T) {
			h := newHub(t, nil)
			h.Of("/custom")
			h.OnConnection(func(s *namespace.Socket) {
				_ = s.Emit("auth", s.Handshake().Auth)
				s.On("message", func(e *namespace.Event) { _ = s.Emit("message-back", e.Args.Values()...) })
				s.On("message-with-ack", func(e *namespace.Event) { _ = e.Ack(e.Args.Values()...) })
				s.On("ask", func(*namespace.Event) {
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						defer cancel()
						reply, err := s.EmitWithAck(ctx, "question")
						if err == nil {
							_ = s.Emit("answer", reply.Values()...)
						}
					}()
				})
				s.On("bye", func(*namespace.Event) { s.Disconnect(false) })
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			defer srv.CloseClientConnections()
			w := dialWire(t, srv.URL, name)
			text := func() string {
				f := w.recv(t)
				require.False(t, f.Binary, "binary %q", f.Data)
				return string(f.Data)
			}

			w.send(t, `40/nope,`)
			assert.Equal(t, `44/nope,{"message":"Invalid namespace"}`, text())
			w.send(t, `40{"token":"x"}`)
			connect := text()
			require.True(t, strings.HasPrefix(connect, `40{"sid":"`), connect)
			assert.Equal(t, `42["auth",{"token":"x"}]`, text())

			w.send(t, `42["message",1,"2",{"3":[true]}]`)
			assert.Equal(t, `42["message-back",1,"2",{"3":[true]}]`, text())
			w.send(t, `4213["message-with-ack",{"z":null,"a":[]}]`)
			assert.Equal(t, `4313[{"z":null,"a":[]}]`, text())

			w.send(t, `451-["message",{"_placeholder":true,"num":0}]`, "bin:\x01\x02\x03")
			assert.Equal(t, `451-["message-back",{"_placeholder":true,"num":0}]`, text())
			f := w.recv(t)
			assert.Equal(t, transport.BinaryFrame([]byte{1, 2, 3}), f)

			w.send(t, `42["ask"]`)
			ask := text()
			require.True(t, strings.HasPrefix(ask, `42`) && strings.HasSuffix(ask, `["question"]`), ask)
			id := strings.TrimSuffix(strings.TrimPrefix(ask, "42"), `["question"]`)
			w.send(t, `43`+id+`["yes",2]`)
			assert.Equal(t, `42["answer","yes",2]`, text())

			w.send(t, `40/custom,`)
			assert.True(t, strings.HasPrefix(text(), `40/custom,{"sid":"`))
			w.send(t, `42["bye"]`)
			assert.Equal(t, `41`, text())
		})
	}
}

// TestShutdownTellsClients runs a hub behind a real http.Server with
// WebSocket and long-polling clients and stops both in the two orders: the
// hub first (as documented), or the http.Server first with the hub hooked to
// it (RegisterOnShutdown). Both Shutdowns return nil, every WebSocket client
// gets close 1001, every polling client the close packet (hub first: also
// those between two polls, on their next GET), and every disconnect handler
// runs with socket.io's reason.
func TestShutdownTellsClients(t *testing.T) {
	const wsClients = 3
	for _, tt := range []struct {
		name        string
		serverFirst bool
		held        int // polling clients holding a GET
		betweenPoll int // polling clients with no GET held when the hub shuts down
	}{
		{"hub first", false, 3, 2},
		{"server first, hooked", true, 5, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, nil)
			total := wsClients + tt.held + tt.betweenPoll
			reasons := make(chan string, total)
			h.OnConnection(func(s *namespace.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
			// held tells that a held GET reached the hub: the http.Server
			// counts its connection as active from then on.
			held := make(chan struct{}, tt.held)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Held") != "" {
					held <- struct{}{}
				}
				h.ServeHTTP(w, r)
			})}
			if tt.serverFirst {
				srv.RegisterOnShutdown(h.StartShutdown)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			t.Cleanup(func() {
				_ = srv.Close()
				assert.ErrorIs(t, <-served, http.ErrServerClosed)
			})
			base := "http://" + ln.Addr().String()
			client := wireHTTP // no spare connections for Shutdown to wait for

			connect := func(name string) wireClient {
				w := dialWire(t, base, name)
				w.send(t, "40")
				require.True(t, strings.HasPrefix(string(w.recv(t).Data), "40{"))
				return w
			}
			var ws []*wsWire
			for range wsClients {
				ws = append(ws, connect("websocket").(*wsWire))
			}
			var polls, between []*pollWire
			for range tt.held {
				polls = append(polls, connect("polling").(*pollWire))
			}
			for range tt.betweenPoll {
				between = append(between, connect("polling").(*pollWire))
			}
			get := func(p *pollWire, hdr string) <-chan string {
				ch := make(chan string, 1)
				go func() {
					req, _ := http.NewRequest(http.MethodGet, p.url, nil)
					if hdr != "" {
						req.Header.Set("X-Held", hdr)
					}
					res, err := client.Do(req)
					if err != nil {
						ch <- err.Error()
						return
					}
					body, _ := io.ReadAll(res.Body)
					res.Body.Close()
					ch <- fmt.Sprint(res.StatusCode, " ", string(body))
				}()
				return ch
			}
			var answers []<-chan string
			for _, p := range polls {
				answers = append(answers, get(p, "1"))
			}
			for range tt.held {
				<-held
			}

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			first, second := h.Shutdown, srv.Shutdown
			if tt.serverFirst {
				first, second = srv.Shutdown, h.Shutdown
			}
			done := make(chan error, 1)
			go func() { done <- first(ctx) }()
			for range total {
				select {
				case r := <-reasons:
					assert.Equal(t, "server shutting down", r)
				case <-ctx.Done():
					t.Fatal("a disconnect handler did not run")
				}
			}
			for _, p := range between {
				// Its session is closed (its handler ran): its next GET
				// is told.
				answers = append(answers, get(p, ""))
			}
			for i, a := range answers {
				select {
				case got := <-a:
					assert.Equal(t, "200 1", got, "polling client %d", i)
				case <-ctx.Done():
					t.Fatalf("polling client %d not answered", i)
				}
			}
			for i, w := range ws {
				code := 0
				for code == 0 {
					_, err := w.c.ReadFrame(ctx)
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						code = ce.Code
					} else {
						require.NoError(t, err, "WebSocket client %d", i)
					}
				}
				assert.Equal(t, 1001, code, "WebSocket client %d is told the server is going away", i)
			}
			require.NoError(t, <-done)
			if !tt.serverFirst {
				res, err := client.Get(base + "/socket.io/?EIO=4&transport=polling")
				require.NoError(t, err)
				res.Body.Close()
				assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "no new clients")
			}
			require.NoError(t, second(ctx))
		})
	}
}

// TestHandshakeOverTheNetwork: the handshake a socket reports (header,
// query, address, cross-origin) comes from the real request, over both
// transports.
func TestHandshakeOverTheNetwork(t *testing.T) {
	for _, name := range []string{"websocket", "polling"} {
		t.Run(name, func(t *testing.T) {
			h := newHub(t, &hub.Options{CheckOrigin: func(*http.Request) bool { return true }})
			got := make(chan namespace.Handshake, 1)
			h.OnConnection(func(s *namespace.Socket) { got <- s.Handshake() })
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)

			hdr := http.Header{"X-Custom": {"one", "two"}, "Origin": {"http://elsewhere.example"}}
			w := dialWireWith(t, srv.URL, name, "&room=a%20b", hdr)
			w.send(t, "40")
			var hs namespace.Handshake
			select {
			case hs = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("no connection")
			}
			assert.Equal(t, []string{"one", "two"}, hs.Header.Values("X-Custom"))
			assert.Equal(t, "http://elsewhere.example", hs.Header.Get("Origin"))
			assert.True(t, hs.XDomain)
			assert.Equal(t, "a b", hs.Query.Get("room"))
			assert.Equal(t, "127.0.0.1", hs.Address)
			assert.False(t, hs.Secure)
			assert.Equal(t, "{}", string(hs.Auth))
		})
	}
}
