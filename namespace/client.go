package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/transport"
)

// waitSender is a Conn whose sends can wait for the client to read.
type waitSender interface {
	SendWait(ctx context.Context, frames ...transport.Frame) error
}

// trySender is a Conn that can drop volatile packets.
type trySender interface {
	TrySend(frames ...transport.Frame) bool
}

// headerConn is a Conn that keeps the handshake request's header.
type headerConn interface {
	Header() http.Header
}

// protocolConn is a Conn that says which Engine.IO protocol revision its
// client speaks, and its session id (*engineio.Session does).
type protocolConn interface {
	Protocol() int
	ID() string
}

// resolver finds the namespace a client asks to connect to, creating a
// dynamic one if it must; nil refuses with "Invalid namespace".
type resolver func(name string, auth json.RawMessage) *Namespace

// client is the Socket.IO side of one client connection: it decodes
// packets, connects the client to namespaces and routes packets to its
// sockets. The hub creates one per Engine.IO session (through package
// internal/wiring); it implements wiring.Client.
type client struct {
	conn    wiring.Conn
	opts    *wiring.ClientOptions // never nil; may be shared with other clients
	info    clientInfo
	resolve resolver
	decoder socketio.Decoder // used by the delivering goroutine only
	// v3ID is the Engine.IO session id of a client that speaks Engine.IO
	// revision 3 and Socket.IO protocol 4 (socket.io-client 2.x), "" for
	// others. Such a client joins "/" at once, puts the auth of a CONNECT
	// in its namespace's query, gets a CONNECT answer without payload, and
	// its socket ids derive from the session id (see v3.go).
	v3ID string

	mu      sync.Mutex
	sockets []*Socket   // one per namespace joined (few: a slice beats a map)
	timer   *time.Timer // connect timeout; nil once a namespace is joined
	closed  bool
}

// clientInfo is the part of a Handshake that all of a client's sockets
// share.
type clientInfo struct {
	header  http.Header
	address string
	url     string
	time    time.Time
	query   url.Values
	secure  bool
	xdomain bool
}

// newClient returns the client for a new connection. info describes the
// connection's handshake (its Auth is set per socket). When info.Header is
// nil and conn has a Header method (see wiring.Conn), the header is taken
// from conn on demand.
func newClient(conn wiring.Conn, info Handshake, resolve resolver, opts *wiring.ClientOptions) *client {
	o := opts
	if o == nil {
		o = &defaultClientOptions
	}
	c := &client{conn: conn, opts: o, resolve: resolve, info: clientInfo{
		header:  info.Header,
		address: info.Address,
		url:     info.URL,
		time:    info.Time,
		query:   info.Query,
		secure:  info.Secure,
		xdomain: info.XDomain,
	}}
	c.decoder.MaxAttachments = o.MaxAttachments
	if pc, ok := conn.(protocolConn); ok && pc.Protocol() == 3 {
		c.v3ID = pc.ID()
	}
	c.mu.Lock()
	c.timer = time.AfterFunc(connectTimeoutOf(o), c.connectTimeout)
	c.mu.Unlock()
	if c.v3ID != "" {
		// socket.io connects a protocol 3 client to "/" when its
		// connection opens: the client sends no CONNECT for "/".
		c.connect("/", nil)
	}
	return c
}

// defaultClientOptions stand in for a nil *wiring.ClientOptions.
var defaultClientOptions wiring.ClientOptions

// connectTimeout is ConnectTimeout or its default.
func connectTimeoutOf(o *wiring.ClientOptions) time.Duration {
	if o.ConnectTimeout > 0 {
		return o.ConnectTimeout
	}
	return 45 * time.Second
}

// logger is Logger or its default.
func loggerOf(o *wiring.ClientOptions) *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// eventBurst is EventBurst or its default.
func eventBurstOf(o *wiring.ClientOptions) int {
	if o.EventBurst > 0 {
		return o.EventBurst
	}
	return max(int(o.EventRate), 1)
}

// handshake returns the handshake the client's sockets share (without
// Auth, and with Query as given to newClient).
func (c *client) handshake() Handshake {
	hs := Handshake{
		Header:  c.info.header,
		Query:   c.info.query,
		Address: c.info.address,
		Time:    c.info.time,
		Secure:  c.info.secure,
		URL:     c.info.url,
		XDomain: c.info.xdomain,
	}
	if hs.Header == nil {
		if hc, ok := c.conn.(headerConn); ok {
			hs.Header = hc.Header()
		}
	}
	return hs
}

// connectTimeout closes a connection that joined no namespace in time.
func (c *client) connectTimeout() {
	c.mu.Lock()
	idle := len(c.sockets) == 0 && !c.closed && c.timer != nil
	c.mu.Unlock()
	if idle {
		loggerOf(c.opts).Debug("namespace: no namespace joined in time, closing")
		_ = c.conn.Close()
	}
}

// Receive handles one Engine.IO message. An error means the message is not
// valid Socket.IO (socket.io's decoder would throw): the caller closes the
// connection (socket.io's reason: "forced close"). A valid packet the
// client may not send now (a second CONNECT to a namespace, a
// CONNECT_ERROR, a packet for a namespace it has not joined) makes the
// client close the connection itself, as socket.io does ("forced server
// close"), and Receive returns nil.
func (c *client) Receive(binary bool, data []byte) error {
	var (
		pkt socketio.Packet // most packets are decoded here, on the stack
		p   *socketio.Packet
		err error
	)
	switch {
	case Parser(c.opts.Parser) == MsgpackParser:
		p, err = c.decodeMsgpack(binary, data, &pkt)
	case binary:
		p, err = c.decoder.AddBinary(data)
	default:
		p, err = c.decoder.AddTextTo(data, &pkt)
	}
	if err != nil || p == nil {
		return err
	}
	auth := p.Data
	if c.v3ID != "" {
		auth = splitV3Namespace(p)
	}
	c.mu.Lock()
	s := c.socketLocked(p.Namespace)
	c.mu.Unlock()
	switch p.Type {
	case socketio.Connect:
		if s != nil {
			return c.refuse(p)
		}
		c.connect(p.Namespace, auth)
		return nil
	case socketio.ConnectError:
		return c.refuse(p)
	}
	if s == nil {
		return c.refuse(p)
	}
	switch p.Type {
	case socketio.Disconnect:
		s.closed(ReasonClientDisconnect)
		return nil
	case socketio.Event, socketio.BinaryEvent:
		if c.opts.EventRate > 0 && !s.allowEvent(c.opts.EventRate, eventBurstOf(c.opts)) {
			loggerOf(c.opts).Warn("namespace: socket sends events too fast, disconnecting", "namespace", s.ns.name, "socket", s.id)
			if c.opts.OnRateLimit != nil {
				c.opts.OnRateLimit()
			}
			s.disconnectWith(ReasonRateLimit)
			return nil
		}
		return s.onEvent(p)
	default: // Ack, BinaryAck
		return s.onAck(p)
	}
}

// decodeMsgpack decodes a message of a client using the msgpack parser:
// every packet is one binary message.
func (c *client) decodeMsgpack(binary bool, data []byte, p *socketio.Packet) (*socketio.Packet, error) {
	if !binary {
		return nil, msgpack.ErrNotBinary
	}
	lim := msgpack.Limits{MaxAttachments: c.opts.MaxAttachments}
	if err := msgpack.DecodePacket(data, lim, p); err != nil {
		return nil, err
	}
	return p, nil
}

// refuse closes the connection of a client that sent packet p, which it may
// not send in its state.
func (c *client) refuse(p *socketio.Packet) error {
	loggerOf(c.opts).Debug("namespace: packet not allowed, closing", "type", p.Type.String(), "namespace", p.Namespace)
	_ = c.conn.Close()
	return nil
}

// connect handles a CONNECT packet.
func (c *client) connect(name string, auth json.RawMessage) {
	var (
		ns  *Namespace
		s   *Socket
		rp  *replay
		err error
	)
	for {
		ns = c.resolve(name, auth)
		if ns == nil {
			p := socketio.Packet{Type: socketio.ConnectError, Namespace: name, Data: []byte(`{"message":"Invalid namespace"}`)}
			if frames, err := Parser(c.opts.Parser).encode(&p); err == nil {
				_ = c.conn.Send(frames...)
			}
			return
		}
		s, rp, err = ns.connect(c, auth)
		if !errors.Is(err, errGone) {
			break
		}
		// An empty dynamic namespace instance was being removed: the
		// resolver makes a fresh one.
	}
	if err != nil {
		var ce *ConnectError
		if !errors.As(err, &ce) {
			ce = &ConnectError{Message: err.Error()}
		}
		payload := ce.payload
		if c.v3ID != "" {
			payload = ce.payloadV3
		}
		if frames, err := ns.encodeSimple(socketio.ConnectError, payload()); err == nil {
			_ = c.conn.Send(frames...)
		} else {
			loggerOf(c.opts).Error("namespace: CONNECT_ERROR cannot be encoded, closing", "namespace", name, "err", err)
			_ = c.conn.Close()
		}
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.closed(ReasonTransportClose)
		return
	}
	c.sockets = append(c.sockets, s)
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
	var reply []byte // none for a protocol 3 client
	if c.v3ID == "" {
		reply = make([]byte, 0, 64)
		reply = append(reply, `{"sid":"`...)
		reply = append(reply, s.id...)
		if s.pid != "" {
			reply = append(reply, `","pid":"`...)
			reply = append(reply, s.pid...)
		}
		reply = append(reply, `"}`...)
	}
	ctx := s.waitCtx()
	frames, err := ns.encodeSimple(socketio.Connect, reply)
	if err == nil {
		err = s.sendWait(ctx, frames)
	}
	if err != nil {
		s.closed(ReasonTransportError)
		return
	}
	if rp != nil && !ns.recovery.replay(ctx, s, rp) {
		return
	}
	ns.welcome(s)
}

// socketLocked returns the client's socket in namespace name, or nil.
func (c *client) socketLocked(name string) *Socket {
	for _, s := range c.sockets {
		if s.ns.name == name {
			return s
		}
	}
	return nil
}

// remove forgets a socket that disconnected.
func (c *client) remove(s *Socket) {
	c.mu.Lock()
	if i := slices.Index(c.sockets, s); i >= 0 {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// disconnectAll disconnects every socket of the client and closes the
// connection.
func (c *client) disconnectAll() {
	for _, s := range c.snapshot() {
		s.Disconnect(false)
	}
	_ = c.conn.Close()
}

func (c *client) snapshot() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.sockets)
	return out
}

// Closed tells the client its connection has closed, for reason (one of
// the Reason constants); every socket disconnects with it.
func (c *client) Closed(reason string) {
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
	for _, s := range c.snapshot() {
		s.closed(reason)
	}
}
