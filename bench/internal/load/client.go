package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the load client.
var (
	// ErrProtocol: the server sent something a Socket.IO v4 client does not
	// expect.
	ErrProtocol = errors.New("load: protocol error")
	// ErrClosed: the connection is closed.
	ErrClosed = errors.New("load: connection closed")
)

// base is the origin of the clock the clients stamp messages with; all
// clients live in this process, so monotonic nanoseconds since base compare
// across connections.
var base = time.Now()

// Now is the load generator's clock: nanoseconds since the process started.
func Now() int64 { return int64(time.Since(base)) }

// Hooks receive what a connection reads. They run on the goroutine that
// reads the connection (one at a time per connection) and must not block.
type Hooks struct {
	// OnMsg is called for every "msg" event with its first argument (JSON).
	OnMsg func(c *Client, arg []byte)
}

// Client is one Socket.IO v4 client over WebSocket, connected to the main
// namespace. It answers Engine.IO pings itself. On Linux the shared poller
// (internal/netpoll) reads it when data arrives; elsewhere a reader
// goroutine does, which exits when the connection ends.
type Client struct {
	nc    net.Conn
	hooks *Hooks
	poll  *pollState // nil unless polled

	wmu  sync.Mutex
	wbuf []byte

	amu   sync.Mutex
	acks  map[uint64]func(data []byte)
	ackID uint64
	ended bool // the connection ended: no more acks

	// Msgs counts "msg" events received; Lat holds their latencies (ns) when
	// the scenario asks for them (only the reading side appends, in OnMsg).
	Msgs atomic.Int64
	Lat  []int64
	// Asks counts the events with an ack id received (each answered).
	Asks atomic.Int64

	done chan struct{}
	err  error // set before done is closed
}

// DialOptions tune one connection attempt.
type DialOptions struct {
	// Timeout bounds the whole attempt: TCP connect, HTTP upgrade,
	// Engine.IO open and namespace connect. Zero means 10s.
	Timeout time.Duration
	// Hooks receive events; nil means none.
	Hooks *Hooks
	// ReadBuffer is the size of the buffer the HTTP upgrade response is
	// read with. Zero means 2048. Afterwards messages are read into pooled 4 KiB
	// buffers (held only while a frame is incomplete when polled).
	ReadBuffer int
}

// Dial connects a client to the Socket.IO server at addr (host:port) and
// waits until it has joined the main namespace. It returns the time the
// whole handshake took.
func Dial(ctx context.Context, addr string, opts *DialOptions) (*Client, time.Duration, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 2048
	}
	start := time.Now()
	deadline := start.Add(o.Timeout)
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, fmt.Errorf("load: dial: %w", err)
	}
	c := &Client{nc: nc, hooks: o.Hooks, done: make(chan struct{})}
	if c.hooks == nil {
		c.hooks = &Hooks{}
	}
	r, err := c.handshake(addr, deadline, o.ReadBuffer)
	if err != nil {
		_ = nc.Close()
		return nil, 0, err
	}
	took := time.Since(start)
	_ = nc.SetDeadline(time.Time{})
	c.startReading(r)
	return c, took, nil
}

// handshake upgrades the connection, waits for the Engine.IO open packet
// and joins the main namespace. It returns the reader holding what came
// after the connect answer.
func (c *Client) handshake(addr string, deadline time.Time, bufSize int) (*reader, error) {
	_ = c.nc.SetDeadline(deadline)
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return nil, fmt.Errorf("load: upgrade request: %w", err)
	}
	br := bufio.NewReaderSize(c.nc, bufSize)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("load: upgrade response: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("%w: upgrade answered %s", ErrProtocol, resp.Status)
	}
	// The frames that came with the response, then what follows, go
	// through the reader the connection is read with afterwards; it stops
	// right after the connect answer.
	r := &reader{}
	if n := br.Buffered(); n > 0 {
		rest, _ := br.Peek(n)
		b := r.buf()
		if cap(b) < n {
			b = make([]byte, 0, n)
			r.in = &b
		}
		*r.in = append(b, rest...)
	}
	hs := &handshaker{c: c}
	for {
		if r.in != nil {
			switch err := r.consume(hs); {
			case errors.Is(err, errConnected):
				r.release()
				return r, nil
			case err != nil:
				return nil, err
			}
		}
		b := r.buf()
		n, err := c.nc.Read(b[len(b):cap(b)])
		*r.in = b[:len(b)+n]
		if err != nil && n == 0 {
			if !hs.opened {
				return nil, fmt.Errorf("load: open packet: %w", endErr(r, err))
			}
			return nil, fmt.Errorf("load: connect answer: %w", endErr(r, err))
		}
	}
}

// errConnected ends the handshake's reading at the connect answer.
var errConnected = errors.New("load: connected")

// handshaker handles the frames of the handshake: the Engine.IO open
// packet (answered with the namespace CONNECT), pings, and the connect
// answer.
type handshaker struct {
	c      *Client
	opened bool // the open packet came
}

func (h *handshaker) handleFrame(op byte, p []byte) error {
	switch {
	case op == opPing:
		return h.c.sendFrame(opPong, p)
	case op == opClose:
		return fmt.Errorf("%w: close frame during the handshake", ErrClosed)
	case !h.opened:
		if op != opText || len(p) == 0 || p[0] != '0' {
			return fmt.Errorf("%w: open packet %q", ErrProtocol, p)
		}
		h.opened = true
		return h.c.send([]byte("40")) // Socket.IO CONNECT to the main namespace
	case op != opText || len(p) == 0:
		return nil
	case bytes.HasPrefix(p, []byte("40")):
		return errConnected
	case p[0] == '2':
		return h.c.send([]byte("3"))
	case bytes.HasPrefix(p, []byte("44")):
		return fmt.Errorf("%w: connect refused: %s", ErrProtocol, p)
	default:
		return fmt.Errorf("%w: expected connect answer, got %q", ErrProtocol, p)
	}
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err says why the connection ended (valid once Done is closed).
func (c *Client) Err() error {
	<-c.done
	return c.err
}

// Close closes the TCP connection (like a client going away) and waits
// until the reading side has stopped and the pending acks have failed.
func (c *Client) Close() error {
	c.unregister() // before the descriptor closes: its number may be reused
	err := c.nc.Close()
	c.wakeReader()
	<-c.done
	return err
}

// packet handles one Engine.IO packet.
func (c *Client) packet(p []byte) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: empty packet", ErrProtocol)
	}
	switch p[0] {
	case '2': // ping
		return c.send([]byte("3"))
	case '1': // close
		return fmt.Errorf("%w: server closed the session", ErrClosed)
	case '6':
		return nil
	case '4':
	default:
		return fmt.Errorf("%w: packet %q", ErrProtocol, p)
	}
	if len(p) < 2 {
		return fmt.Errorf("%w: packet %q", ErrProtocol, p)
	}
	switch p[1] {
	case '2': // EVENT: "msg", or "ask" with an ack id
		rest := p[2:]
		if len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
			// The server wants an ack: answered with 1 (bench/cluster's
			// broadcasts with ack).
			i := 0
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			c.Asks.Add(1)
			ack := make([]byte, 0, 8+i)
			ack = append(append(append(ack, "43"...), rest[:i]...), "[1]"...)
			return c.send(ack)
		}
		const prefix = `["msg",`
		if !bytes.HasPrefix(rest, []byte(prefix)) || rest[len(rest)-1] != ']' {
			return nil // other events are ignored
		}
		// Counted before the hook: a hook that sees the last message may
		// read every client's count.
		c.Msgs.Add(1)
		if h := c.hooks.OnMsg; h != nil {
			h(c, rest[len(prefix):len(rest)-1])
		}
		return nil
	case '3': // ACK
		i := 2
		var id uint64
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			id = id*10 + uint64(p[i]-'0')
			i++
		}
		if i == 2 {
			return fmt.Errorf("%w: ack without id %q", ErrProtocol, p)
		}
		c.amu.Lock()
		fn := c.acks[id]
		delete(c.acks, id)
		c.amu.Unlock()
		if fn != nil {
			fn(p[i:])
		}
		return nil
	case '1':
		return fmt.Errorf("%w: disconnected from the namespace", ErrClosed)
	case '0', '4':
		return nil
	default:
		return fmt.Errorf("%w: socket.io packet %q", ErrProtocol, p)
	}
}

// Emit sends an event whose JSON array (["name",...]) is args.
func (c *Client) Emit(args []byte) error {
	buf := make([]byte, 0, 2+len(args))
	buf = append(buf, "42"...)
	buf = append(buf, args...)
	return c.send(buf)
}

// EmitAck sends an event asking for an acknowledgement; fn receives the
// ack's JSON array (a copy is the caller's business: it is valid only
// during the call), or nil if the connection ended first. fn runs on the
// reading side, like Hooks, and must not block.
func (c *Client) EmitAck(args []byte, fn func(reply []byte)) error {
	id, err := c.addAcks(1, fn)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 24+len(args))
	buf = append(buf, "42"...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, args...)
	if err := c.send(buf); err != nil {
		c.dropAcks(id, 1)
		return err
	}
	return nil
}

// EmitAcks is EmitAck for several events sent with one write, pipelined:
// fn is called for each reply, in any order.
func (c *Client) EmitAcks(args [][]byte, fn func(reply []byte)) error {
	first, err := c.addAcks(len(args), fn)
	if err != nil {
		return err
	}
	size := 0
	for _, a := range args {
		size += 24 + len(a)
	}
	buf := make([]byte, 0, size)
	ends := make([]int, len(args))
	for i, a := range args {
		buf = append(buf, "42"...)
		buf = strconv.AppendUint(buf, first+uint64(i), 10)
		buf = append(buf, a...)
		ends[i] = len(buf)
	}
	frames := make([][]byte, len(args))
	start := 0
	for i, end := range ends {
		frames[i] = buf[start:end:end]
		start = end
	}
	if err := c.SendBatch(frames); err != nil {
		c.dropAcks(first, len(args))
		return err
	}
	return nil
}

// addAcks registers fn for n acks and returns the first of their ids.
func (c *Client) addAcks(n int, fn func(reply []byte)) (uint64, error) {
	c.amu.Lock()
	defer c.amu.Unlock()
	if c.ended {
		return 0, ErrClosed
	}
	if c.acks == nil {
		c.acks = make(map[uint64]func([]byte))
	}
	first := c.ackID
	for range n {
		c.acks[c.ackID] = fn
		c.ackID++
	}
	return first, nil
}

// dropAcks forgets the n acks from id first, whose events were not sent.
func (c *Client) dropAcks(first uint64, n int) {
	c.amu.Lock()
	defer c.amu.Unlock()
	for id := range uint64(n) {
		delete(c.acks, first+id)
	}
}

// Call sends an event with an ack and waits for the reply (a copy).
func (c *Client) Call(ctx context.Context, args []byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	if err := c.EmitAck(args, func(reply []byte) { ch <- bytes.Clone(reply) }); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r == nil {
			return nil, fmt.Errorf("%w: %w", ErrClosed, c.err)
		}
		return r, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("load: waiting for ack: %w", ctx.Err())
	}
}

// send writes one text frame holding p.
func (c *Client) send(p []byte) error { return c.sendFrame(opText, p) }

// SendBatch writes several text frames with one write.
func (c *Client) SendBatch(ps [][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	for _, p := range ps {
		b = appendFrame(b, opText, p)
	}
	c.wbuf = b
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("load: write: %w", err)
	}
	return nil
}

func (c *Client) sendFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendFrame(c.wbuf[:0], op, p)
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 4096 {
		c.wbuf = nil
	}
	if err != nil {
		return fmt.Errorf("load: write: %w", err)
	}
	return nil
}

// WebSocket opcodes.
const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// appendFrame appends a final, masked client frame.
func appendFrame(dst []byte, op byte, p []byte) []byte {
	dst = append(dst, 0x80|op)
	n := len(p)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], mrand.Uint32())
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, p...)
	m := dst[start:]
	for i := range m {
		m[i] ^= key[i&3]
	}
	return dst
}

// CheckLoopback returns an error unless addr (host:port) is a loopback
// address: the bench commands only ever connect to this machine.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("load: -addr: %w", err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load: -addr %s: only loopback addresses are allowed", addr)
	}
	return nil
}
