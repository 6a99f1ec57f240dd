package load_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/bench/internal/load"
)

// readModes are the two ways a client reads its connection: through the
// shared poller (Linux) and with a goroutine of its own (elsewhere).
var readModes = []struct {
	name string
	poll bool
}{{"polled", true}, {"goroutine", false}}

func forModes(t *testing.T, f func(t *testing.T)) {
	for _, m := range readModes {
		t.Run(m.name, func(t *testing.T) {
			restore := load.SetPolling(m.poll)
			defer restore()
			f(t)
		})
	}
}

// TestBursts: many clients receive bursts of messages of several sizes
// (some larger than a read buffer, with 16- and 64-bit lengths), all of
// them, in order, intact.
func TestBursts(t *testing.T) {
	forModes(t, func(t *testing.T) {
		addr, _ := hubServer(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		sizes := []int{1, 100, 3000, 5000, 20000, 70000, 10, 4000}
		const receivers, bursts = 60, 3
		total := int64(receivers * bursts * len(sizes))
		var (
			got     atomic.Int64
			all     = make(chan struct{})
			mu      sync.Mutex
			next    = map[*load.Client]int{}
			badMsgs []string
		)
		hooks := &load.Hooks{OnMsg: func(c *load.Client, arg []byte) {
			mu.Lock()
			i := next[c]
			next[c] = i + 1
			want := msgArg(i, sizes[i%len(sizes)])
			if string(arg) != want && len(badMsgs) < 5 {
				badMsgs = append(badMsgs, fmt.Sprintf("message %d: %.60q... (%d bytes), want %d bytes", i, arg, len(arg), len(want)))
			}
			mu.Unlock()
			if got.Add(1) == total {
				close(all)
			}
		}}
		clients := make([]*load.Client, receivers)
		for i := range clients {
			c, _, err := load.Dial(ctx, addr, &load.DialOptions{Hooks: hooks})
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Call(ctx, []byte(`["join","room"]`))
			require.NoError(t, err)
			clients[i] = c
		}
		send, _, err := load.Dial(ctx, addr, nil)
		require.NoError(t, err)
		defer send.Close()
		for b := range bursts {
			batch := make([][]byte, len(sizes))
			for i, n := range sizes {
				batch[i] = []byte(`42["bcast","room",` + msgArg(b*len(sizes)+i, n) + `]`)
			}
			require.NoError(t, send.SendBatch(batch), "%v", func() error {
				select {
				case <-send.Done():
					return send.Err()
				default:
					return nil
				}
			}())
		}
		select {
		case <-all:
		case <-ctx.Done():
			t.Fatalf("%d of %d messages received", got.Load(), total)
		}
		mu.Lock()
		assert.Empty(t, badMsgs)
		mu.Unlock()
		for _, c := range clients {
			assert.Equal(t, int64(bursts*len(sizes)), c.Msgs.Load())
		}
		// Still connected and answering.
		_, err = clients[0].Call(ctx, []byte(`["echo",1]`))
		require.NoError(t, err)
	})
}

func msgArg(seq, size int) string {
	return `{"s":` + strconv.Itoa(seq) + `,"p":"` + strings.Repeat("x", size) + `"}`
}

// TestServerShutdown: the server ends every session; every client ends
// with ErrClosed and fails its pending calls.
func TestServerShutdown(t *testing.T) {
	forModes(t, func(t *testing.T) {
		addr, h := hubServer(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		clients := make([]*load.Client, 50)
		for i := range clients {
			c, _, err := load.Dial(ctx, addr, nil)
			require.NoError(t, err)
			defer c.Close()
			clients[i] = c
		}
		require.NoError(t, h.Shutdown(ctx))
		for _, c := range clients {
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("client still open after the server shut down")
			}
			assert.ErrorIs(t, c.Err(), load.ErrClosed)
			_, err := c.Call(ctx, []byte(`["echo",1]`))
			assert.ErrorIs(t, err, load.ErrClosed)
		}
	})
}

// TestCloseWhileReceiving: clients close while messages pour in; Close
// returns once the reading side has stopped, and nothing leaks.
func TestCloseWhileReceiving(t *testing.T) {
	forModes(t, func(t *testing.T) {
		addr, _ := hubServer(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		const receivers = 40
		first := make(chan struct{}, receivers)
		var seen sync.Map
		hooks := &load.Hooks{OnMsg: func(c *load.Client, _ []byte) {
			if _, dup := seen.LoadOrStore(c, true); !dup {
				first <- struct{}{}
			}
		}}
		clients := make([]*load.Client, receivers)
		for i := range clients {
			c, _, err := load.Dial(ctx, addr, &load.DialOptions{Hooks: hooks})
			require.NoError(t, err)
			_, err = c.Call(ctx, []byte(`["join","room"]`))
			require.NoError(t, err)
			clients[i] = c
		}
		send, _, err := load.Dial(ctx, addr, nil)
		require.NoError(t, err)
		defer send.Close()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			msg := []byte(`42["bcast","room",` + msgArg(0, 2000) + `]`)
			batch := [][]byte{msg, msg, msg, msg}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if send.SendBatch(batch) != nil {
					return
				}
				// Keep the sender's own acks flowing, so that the server
				// reads it at the pace it delivers.
				if _, err := send.Call(ctx, []byte(`["echo",1]`)); err != nil {
					return
				}
			}
		})
		defer wg.Wait()
		defer close(stop)
		for range receivers {
			select {
			case <-first:
			case <-ctx.Done():
				t.Fatal("messages did not arrive")
			}
		}
		var cwg sync.WaitGroup
		for _, c := range clients {
			cwg.Go(func() {
				assert.NoError(t, c.Close())
				select {
				case <-c.Done():
				default:
					t.Error("Close returned before the reading side stopped")
				}
				assert.ErrorIs(t, c.Err(), load.ErrClosed)
				n := c.Msgs.Load()
				assert.Positive(t, n)
				_, err := c.Call(ctx, []byte(`["echo",1]`))
				assert.ErrorIs(t, err, load.ErrClosed)
				assert.Equal(t, n, c.Msgs.Load(), "messages after Close")
			})
		}
		cwg.Wait()
	})
}

// scripted serves one connection with script after the handshake (the
// HTTP upgrade, Engine.IO open and namespace connect); extra is written
// together with the connect answer. It returns the address.
func scripted(t *testing.T, extra []byte, script func(s *peer)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		nc, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer nc.Close()
		s := &peer{t: t, nc: nc, br: bufio.NewReader(nc)}
		for {
			line, err := s.br.ReadString('\n')
			if err != nil {
				t.Errorf("upgrade request: %v", err)
				return
			}
			if line == "\r\n" {
				break
			}
		}
		s.write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"))
		s.write(frame(0x81, []byte(`0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)))
		if op, p := s.read(); op != 1 || string(p) != "40" {
			t.Errorf("connect: got %d %q", op, p)
			return
		}
		s.write(append(frame(0x81, []byte(`40{"sid":"b"}`)), extra...))
		script(s)
	})
	return ln.Addr().String()
}

// peer is the server side of a scripted connection.
type peer struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (s *peer) write(b []byte) {
	if _, err := s.nc.Write(b); err != nil {
		s.t.Errorf("server write: %v", err)
	}
}

// writeSplit writes b in pieces of varying sizes, so that frames reach the
// client across several reads.
func (s *peer) writeSplit(b []byte) {
	pieces := []int{1, 3, 7, 64, 1000, 4095, 5000, 2}
	for i := 0; len(b) > 0; i++ {
		n := min(pieces[i%len(pieces)], len(b))
		s.write(b[:n])
		b = b[n:]
	}
}

// read reads one client frame (masked, not fragmented).
func (s *peer) read() (byte, []byte) {
	var h [2]byte
	if _, err := io.ReadFull(s.br, h[:]); err != nil {
		s.t.Errorf("server read: %v", err)
		return 0, nil
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		_, _ = io.ReadFull(s.br, e[:])
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		_, _ = io.ReadFull(s.br, e[:])
		n = int(binary.BigEndian.Uint64(e[:]))
	}
	var key [4]byte
	_, _ = io.ReadFull(s.br, key[:])
	p := make([]byte, n)
	if _, err := io.ReadFull(s.br, p); err != nil {
		s.t.Errorf("server read: %v", err)
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
	return h[0] & 0x0f, p
}

// frame encodes a server frame: b0 is the first byte (FIN, opcode).
func frame(b0 byte, p []byte) []byte {
	b := []byte{b0}
	switch n := len(p); {
	case n < 126:
		b = append(b, byte(n))
	case n < 1<<16:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

// waitEnd waits until c's connection has ended (the server ended it).
func waitEnd(t *testing.T, c *load.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client still open")
	}
}

func msgFrame(arg string) []byte { return frame(0x81, []byte(`42["msg",`+arg+`]`)) }

// collector gathers a client's "msg" arguments.
type collector struct {
	mu   sync.Mutex
	args []string
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 100)} }

func (c *collector) hooks() *load.Hooks {
	return &load.Hooks{OnMsg: func(_ *load.Client, arg []byte) {
		c.mu.Lock()
		c.args = append(c.args, string(arg))
		c.mu.Unlock()
		c.ch <- struct{}{}
	}}
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	for range n {
		select {
		case <-c.ch:
		case <-time.After(10 * time.Second):
			t.Fatal("message missing")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.args)
}

// TestSplitFrames: frames arriving in pieces, a fragmented message with a
// ping between its fragments, 16- and 64-bit lengths, an Engine.IO ping;
// the client answers both pings and ends on the close frame.
func TestSplitFrames(t *testing.T) {
	forModes(t, func(t *testing.T) {
		big := `"` + strings.Repeat("b", 70000) + `"`
		mid := `"` + strings.Repeat("m", 300) + `"`
		pongs := make(chan string, 2)
		release := make(chan struct{})
		addr := scripted(t, nil, func(s *peer) {
			var stream []byte
			stream = append(stream, msgFrame(`"a"`)...)
			stream = append(stream, frame(0x01, []byte(`42["msg",`))...) // text, not final
			stream = append(stream, frame(0x89, []byte("pp"))...)        // ping within
			stream = append(stream, frame(0x00, []byte(`"frag`))...)     // continuation
			stream = append(stream, frame(0x80, []byte(`ments"]`))...)   // final continuation
			stream = append(stream, msgFrame(mid)...)
			stream = append(stream, msgFrame(big)...)
			stream = append(stream, frame(0x81, []byte("2"))...) // Engine.IO ping
			s.writeSplit(stream)
			for range 2 {
				op, p := s.read()
				pongs <- fmt.Sprintf("%x %s", op, p)
			}
			<-release
			s.write(frame(0x88, []byte{0x03, 0xe8}))
		})
		col := newCollector()
		c, _, err := load.Dial(context.Background(), addr, &load.DialOptions{Hooks: col.hooks()})
		require.NoError(t, err)
		defer c.Close()
		got := col.wait(t, 4)
		assert.Equal(t, []string{`"a"`, `"fragments"`, mid, big}, got)
		assert.Equal(t, "a pp", <-pongs)
		assert.Equal(t, "1 3", <-pongs)
		close(release)
		waitEnd(t, c)
		assert.ErrorIs(t, c.Err(), load.ErrClosed)
		assert.ErrorContains(t, c.Err(), "close frame")
		assert.Equal(t, int64(4), c.Msgs.Load())
	})
}

// TestHandshakeLeftover: messages that arrive with the connect answer (in
// the handshake's buffer) are delivered, whether or not more bytes follow.
func TestHandshakeLeftover(t *testing.T) {
	first, second := msgFrame(`"first"`), msgFrame(`"second"`)
	tests := []struct {
		name        string
		extra, rest []byte
	}{
		{"complete", append(slices.Clone(first), second...), nil},
		{"partial", append(slices.Clone(first), second[:5]...), second[5:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T) {
				addr := scripted(t, tt.extra, func(s *peer) {
					if tt.rest != nil {
						s.write(tt.rest)
					}
					_, _ = s.br.ReadByte() // until the client goes
				})
				col := newCollector()
				c, _, err := load.Dial(context.Background(), addr, &load.DialOptions{Hooks: col.hooks()})
				require.NoError(t, err)
				defer c.Close()
				assert.Equal(t, []string{`"first"`, `"second"`}, col.wait(t, 2))
				require.NoError(t, c.Close())
				assert.ErrorIs(t, c.Err(), load.ErrClosed)
			})
		})
	}
}

// TestServerHangsUp: the server writes and closes at once (the data must
// be read before the end), or closes within a frame.
func TestServerHangsUp(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		msgs    int
		wantErr error
	}{
		{"after messages", bytes.Repeat(msgFrame(`"x"`), 3000), 3000, load.ErrClosed},
		{"after a message", msgFrame(`"x"`), 1, load.ErrClosed},
		{"within a frame", append(msgFrame(`"x"`), msgFrame(`"yyyyyy"`)[:6]...), 1, io.ErrUnexpectedEOF},
		{"within a fragmented message", append(msgFrame(`"x"`), frame(0x01, []byte(`42["msg",`))...), 1, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T) {
				addr := scripted(t, nil, func(s *peer) { s.write(tt.data) })
				c, _, err := load.Dial(context.Background(), addr, nil)
				require.NoError(t, err)
				defer c.Close()
				waitEnd(t, c)
				assert.ErrorIs(t, c.Err(), tt.wantErr)
				assert.Equal(t, int64(tt.msgs), c.Msgs.Load())
			})
		})
	}
}

// TestProtocolErrors: what a Socket.IO server never sends ends the
// connection with ErrProtocol (or ErrClosed for a disconnect).
func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr error
	}{
		{"unknown engine.io packet", frame(0x81, []byte("x")), load.ErrProtocol},
		{"empty packet", frame(0x81, nil), load.ErrProtocol},
		{"unknown socket.io packet", frame(0x81, []byte("49")), load.ErrProtocol},
		{"ack without id", frame(0x81, []byte(`43["x"]`)), load.ErrProtocol},
		{"oversized frame", []byte{0x81, 127, 0, 0, 0, 0, 0, 0x20, 0, 0}, load.ErrProtocol},
		{"continuation without a message", frame(0x80, []byte("x")), load.ErrProtocol},
		{"data frame within a message", append(frame(0x01, []byte("4")), frame(0x81, []byte("2"))...), load.ErrProtocol},
		{"namespace disconnect", frame(0x81, []byte("41")), load.ErrClosed},
		{"engine.io close", frame(0x81, []byte("1")), load.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T) {
				addr := scripted(t, nil, func(s *peer) {
					s.write(tt.data)
					_, _ = s.br.ReadByte() // until the client goes
				})
				c, _, err := load.Dial(context.Background(), addr, nil)
				require.NoError(t, err)
				defer c.Close()
				waitEnd(t, c)
				assert.ErrorIs(t, c.Err(), tt.wantErr)
			})
		})
	}
}

// TestCloseFailsAcks: Close fails the calls still waiting for an ack
// before it returns, also while the server floods the client.
func TestCloseFailsAcks(t *testing.T) {
	forModes(t, func(t *testing.T) {
		flooding := make(chan struct{})
		addr := scripted(t, nil, func(s *peer) {
			s.read() // the emit with ack: never answered
			close(flooding)
			m := bytes.Repeat(msgFrame(`"flood"`), 100)
			for {
				if _, err := s.nc.Write(m); err != nil {
					return // the client went
				}
			}
		})
		c, _, err := load.Dial(context.Background(), addr, nil)
		require.NoError(t, err)
		acked := make(chan []byte, 1)
		require.NoError(t, c.EmitAck([]byte(`["echo",1]`), func(reply []byte) { acked <- reply }))
		<-flooding
		require.NoError(t, c.Close())
		select {
		case r := <-acked:
			assert.Nil(t, r)
		default:
			t.Fatal("pending ack not failed when Close returned")
		}
		assert.ErrorIs(t, c.Err(), load.ErrClosed)
		assert.True(t, errors.Is(c.EmitAck([]byte(`["echo"]`), func([]byte) {}), load.ErrClosed))
	})
}

// TestAnswersServerAcks: the bench server's bcastAck asks every client in
// the room with an ack; each client answers, and the caller learns how
// many did (what bench/cluster measures across nodes).
func TestAnswersServerAcks(t *testing.T) {
	forModes(t, func(t *testing.T) {
		addr, _ := hubServer(t, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		const n = 20
		clients := make([]*load.Client, n)
		for i := range clients {
			c, _, err := load.Dial(ctx, addr, nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			_, err = c.Call(ctx, []byte(`["join","r"]`))
			require.NoError(t, err)
			clients[i] = c
		}
		for round := 1; round <= 3; round++ {
			reply, err := clients[0].Call(ctx, []byte(`["bcastAck","r",{"p":"x"}]`))
			require.NoError(t, err)
			assert.Equal(t, "["+strconv.Itoa(n)+"]", string(reply))
			for _, c := range clients {
				assert.Equal(t, int64(round), c.Asks.Load())
			}
		}
	})
}
