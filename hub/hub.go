// Package hub is the Socket.IO server: it owns the namespaces and their
// rooms, speaks Socket.IO v5 over Engine.IO v4 (WebSocket and HTTP
// long-polling), and mounts in any net/http application.
//
// Call [New], register handlers on its namespaces, and mount it:
//
//	h := hub.New(nil)
//	h.OnConnection(func(s *namespace.Socket) {
//		namespace.Handle(s, "chat message", func(ctx context.Context, msg string) error {
//			return h.Emit("chat message", msg)
//		})
//	})
//	http.Handle("/socket.io/", h)
//
// The server is configured here ([Options]); what a server does with its
// clients, the namespaces, sockets, events, acks and broadcasts, is in
// package [github.com/go-realtime/realtime/namespace], whose documentation
// lists every method (socket.io's Namespace and Socket).
//
// [Server] implements [Hub], the interface to hold when code should accept
// a fake in tests; [github.com/go-realtime/realtime/hub/hubtest] runs a hub
// over an in-memory transport with real protocol clients.
//
// # Slow clients
//
// What waits to be written to one client is bounded in bytes (the
// MaxQueueBytes option). Sending to one socket can wait for its client to
// read: Socket.Emit, Socket.EmitWithAck, an AckFunc and a recovered
// socket's replay of missed broadcasts wait while the client's queue is
// full (the transport holds them back short of the bound), until it drains
// or the socket disconnects, so a client that keeps reading loses nothing.
// Broadcasts (Emit, To(...).Emit) never wait: a client whose queue is at
// the bound is disconnected ("transport error"). Volatile emits,
// Socket.Volatile().Emit and To(...).Volatile().Emit, never wait either:
// they are dropped for a client not ready for them, and counted in Stats
// (Dropped). The namespace package's documentation has the details.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
)

// Engine.IO's types that hub's options use.
type (
	// Cookie configures the Engine.IO session cookie (Options.Cookie).
	Cookie = engineio.Cookie
	// ConnectionError is a request the Engine.IO server refused
	// (Options.OnConnectionError); not to be confused with
	// namespace.ConnectError, a middleware's refusal of a namespace.
	ConnectionError = engineio.ConnectionError
	// Parser is the packet encoding (Options.Parser).
	Parser = namespace.Parser
)

// The parsers (Options.Parser).
const (
	// JSONParser is socket.io's default parser, the zero value.
	JSONParser = namespace.JSONParser
	// MsgpackParser is socket.io-msgpack-parser's; see
	// namespace.MsgpackParser.
	MsgpackParser = namespace.MsgpackParser
)

// Hub owns namespaces and rooms and emits events to clients through
// transports. [*Server] implements it; hold a Hub where a fake should fit.
type Hub interface {
	http.Handler
	// Of returns the namespace called name, creating it if needed.
	Of(name string) *namespace.Namespace
	// OnConnection registers a connection handler on the main namespace "/".
	OnConnection(fn func(s *namespace.Socket))
	// Use adds a middleware to the main namespace.
	Use(mw namespace.Middleware)
	// To returns a broadcast to rooms of the main namespace.
	To(rooms ...string) namespace.Broadcast
	// Emit sends an event to every socket of the main namespace.
	Emit(event string, args ...any) error
	// Shutdown disconnects every client and stops accepting new ones.
	Shutdown(ctx context.Context) error
	// ServeConn serves a client over an established message-based
	// connection, such as one end of a transport/memory pipe (hubtest
	// dials a Hub with it).
	ServeConn(conn transport.Conn, r *http.Request)
}

// Options configure a hub. The zero value (or nil) means socket.io's
// defaults.
type Options struct {
	// Path the hub answers on. Default "/socket.io/".
	Path string
	// PingInterval between server pings. Default 25s.
	PingInterval time.Duration
	// PingTimeout: how long to wait for a pong. Default 20s.
	PingTimeout time.Duration
	// MaxPayload is the largest message or polling request body accepted,
	// in bytes. Default 1,000,000.
	MaxPayload int64
	// ConnectTimeout closes connections that join no namespace in time.
	// Default 45s.
	ConnectTimeout time.Duration
	// Transports accepted. Default long-polling and WebSocket (with
	// upgrades from the first to the second), logging to Logger.
	Transports []transport.Transport
	// HTTPCompression configures the gzip/deflate compression of
	// long-polling responses (socket.io's httpCompression). Default (nil):
	// on, for bodies of 1024 bytes or more, by the request's
	// Accept-Encoding; &hub.Compression{Disable: true} turns it off. Not
	// used with Transports, whose own options apply.
	HTTPCompression *Compression
	// DisableUpgrades keeps long-polling clients on long-polling
	// (socket.io's allowUpgrades: false).
	DisableUpgrades bool
	// UpgradeTimeout bounds a long-polling client's move to WebSocket.
	// Default 10s.
	UpgradeTimeout time.Duration
	// ClientFiles, when set, holds the official socket.io-client browser
	// bundle, the dist directory of the npm package (this module ships no
	// client code): the hub serves its socket.io.js, socket.io.min.js,
	// socket.io.esm.min.js and their source maps under Path, as socket.io's
	// serveClient does, so pages can load /socket.io/socket.io.js. For
	// example os.DirFS("node_modules/socket.io-client/dist"), or an
	// embed.FS through fs.Sub (see the README). Default: not served; those
	// URLs answer 404 with a body saying how to serve them.
	ClientFiles fs.FS
	// Cookie, when set, has the handshake response set a cookie holding
	// the Engine.IO session id, for load balancers that route by cookie
	// (sticky sessions, which long-polling on several servers needs).
	// &hub.Cookie{} is socket.io's cookie: true ("io", path "/", HttpOnly,
	// SameSite=Lax). Default: no cookie.
	Cookie *Cookie
	// GenerateID, when set, returns the Engine.IO session id of each new
	// connection from its handshake request (socket.io's
	// engine.generateId); see engineio.Options.GenerateID for what it may
	// return. A bad or duplicate id, an error or a panic refuses the
	// connection. Default: 20 random characters.
	GenerateID func(r *http.Request) (string, error)
	// OnConnectionError, when set, is told of every request the Engine.IO
	// server refuses, with the code, message, context and a copy of the
	// request (socket.io's io.engine.on("connection_error")). It runs on
	// its own goroutine, never holding a request; a panic is recovered and
	// logged.
	OnConnectionError func(e *ConnectionError)
	// AllowedOrigins and CheckOrigin decide which cross-origin browsers may
	// connect; see engineio.Options. Default: same origin only.
	AllowedOrigins []string
	CheckOrigin    func(r *http.Request) bool
	// MaxQueueBytes bounds what waits to be written to one client, in
	// bytes; a client further behind is disconnected. Default 4 MiB
	// (transport.DefaultMaxQueueBytes).
	MaxQueueBytes int64
	// MaxAttachments bounds the binary attachments of one packet (with
	// MsgpackParser: the binary values in one packet). Default 10.
	MaxAttachments int
	// Parser is the encoding of Socket.IO packets, socket.io's parser
	// option: JSONParser (the default, socket.io-parser) or MsgpackParser
	// (socket.io-msgpack-parser, for clients created with
	// parser: require("socket.io-msgpack-parser")). All clients of a hub
	// use the same one; another value is logged as an error and means
	// JSONParser. The Redis adapter's messages do not depend on it:
	// hubs with different parsers (and Node servers) may share one Redis.
	Parser Parser
	// Adapter creates each namespace's room adapter. Default room.NewMemory.
	Adapter func(room.Local) room.Adapter
	// MaxConnections bounds the client connections; further handshakes
	// are refused (HTTP 503, or WebSocket close 1013). Default: no bound.
	MaxConnections int
	// EventRate, when positive, bounds the events one socket may send per
	// second (with bursts of EventBurst, default EventRate); a socket that
	// sends faster is disconnected from its namespace. Default: no bound.
	EventRate  float64
	EventBurst int
	// ConnectionStateRecovery, when set, lets clients that lose their
	// connection recover their socket (id, rooms, data) and the broadcasts
	// they missed; see namespace.Recovery. Default: off.
	ConnectionStateRecovery *namespace.Recovery
	// KeepEmptyChildNamespaces keeps the instances of dynamic namespaces
	// (OfFunc, OfRegexp) when their last socket leaves. By default an empty
	// instance is removed, as socket.io does with
	// cleanupEmptyChildNamespaces (which is off by default there): clients
	// choose these names, so keeping them would let any client grow the
	// server's memory. The next client asking for a removed name gets a
	// fresh instance, with the dynamic namespace's middlewares and handlers
	// (and OnNewNamespace runs again). A removed instance forgets the
	// sessions it kept for connection state recovery.
	KeepEmptyChildNamespaces bool
	// AllowEIO3 accepts socket.io-client 2.x (Engine.IO protocol revision
	// 3, Socket.IO protocol 4), as socket.io's allowEIO3: over polling
	// (binary as binary, or base64 for clients that ask for it) and
	// WebSocket, with the upgrade, acks and binary data. Such a client is
	// connected to the main namespace "/" as soon as its connection opens
	// (its middlewares and connection handlers run then), the query of
	// its CONNECT to another namespace becomes that socket's
	// Handshake.Auth (a JSON object of strings), and its socket ids are
	// the Engine.IO session id for "/" and "<namespace>#<session id>"
	// elsewhere, as the client computes them. Connection state recovery
	// is not offered to it (the client has none). Stricter than
	// socket.io: only EIO=3 is taken for revision 3, and JSONP polling is
	// refused (see engineio.Options.AllowEIO3). Default false: such
	// clients are refused (HTTP 400, code 5, Unsupported protocol version).
	AllowEIO3 bool
	// Logger receives diagnostics: the hub's, its namespaces', the
	// Engine.IO server's, the default transports' and, unless their own
	// options name another, the room adapters' (room.LoggerOf). Transports
	// given in Transports log where their own options say. Default
	// slog.Default().
	Logger *slog.Logger
}

// Server is the hub implementation; create it with [New].
type Server struct {
	opts Options
	eio  *engineio.Server
	path string // without trailing slash

	rateLimited atomic.Int64
	clientOpts  *wiring.ClientOptions // shared by every client
	client      *clientFiles          // the browser bundle's files

	mu             sync.RWMutex
	namespaces     map[string]*namespace.Namespace // static ones; dynamic instances are their parents' children
	dynamic        []dynamicNamespace
	onNewNamespace []func(*namespace.Namespace)
}

type dynamicNamespace struct {
	match  func(name string, auth json.RawMessage) bool
	parent *namespace.Namespace
	byName bool // match looks at the name only (OfRegexp): Of may make instances
}

var _ Hub = (*Server)(nil)

// nsImpl is package namespace's machinery: making namespaces and clients.
var nsImpl = wiring.Get[*namespace.Namespace, namespace.Handshake, namespace.Args, *namespace.Recovery]()

// New returns a hub with the main namespace "/" ready. A nil opts means
// defaults.
func New(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 45 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Parser != JSONParser && o.Parser != MsgpackParser {
		o.Logger.Error("hub: unknown Options.Parser, using JSONParser", "parser", o.Parser.String())
		o.Parser = JSONParser
	}
	s := &Server{opts: o, path: strings.TrimSuffix(o.Path, "/"), namespaces: make(map[string]*namespace.Namespace)}
	s.clientOpts = &wiring.ClientOptions{
		ConnectTimeout: o.ConnectTimeout,
		MaxAttachments: o.MaxAttachments,
		Parser:         uint8(o.Parser),
		EventRate:      o.EventRate,
		EventBurst:     o.EventBurst,
		OnRateLimit:    func() { s.rateLimited.Add(1) },
		Logger:         o.Logger,
	}
	s.eio = engineio.NewServer(engineio.HandlerFunc(s.open), &engineio.Options{
		PingInterval:      o.PingInterval,
		PingTimeout:       o.PingTimeout,
		MaxPayload:        o.MaxPayload,
		MaxQueueBytes:     o.MaxQueueBytes,
		UpgradeTimeout:    o.UpgradeTimeout,
		Transports:        o.Transports,
		DisableUpgrades:   o.DisableUpgrades,
		HTTPCompression:   o.HTTPCompression,
		AllowedOrigins:    o.AllowedOrigins,
		CheckOrigin:       o.CheckOrigin,
		MaxConnections:    o.MaxConnections,
		Cookie:            o.Cookie,
		GenerateID:        o.GenerateID,
		OnConnectionError: o.OnConnectionError,
		AllowEIO3:         o.AllowEIO3,
		Logger:            o.Logger,
	})
	s.client = newClientFiles(o.ClientFiles, o.Parser, o.Logger)
	s.Of("/")
	return s
}

// ServeHTTP serves Socket.IO clients on the hub's path (404 elsewhere),
// and the client bundle's files there (see Options.ClientFiles).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p != s.path && !strings.HasPrefix(p, s.path+"/") {
		http.NotFound(w, r)
		return
	}
	if len(p) > len(s.path)+1 && s.client.serve(w, r, p[len(s.path)+1:]) {
		return
	}
	s.eio.ServeHTTP(w, r)
}

// ServeConn serves a client over an established message-based connection,
// such as one end of a transport/memory pipe; r describes the handshake and
// may be nil. hubtest uses it.
func (s *Server) ServeConn(conn transport.Conn, r *http.Request) {
	s.eio.ServeConn(conn, r)
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.eio }

// Of returns the namespace called name ("/" is the main one; a missing
// leading slash is added), creating it if needed. A name served by an
// instance of a dynamic namespace returns that instance.
func (s *Server) Of(name string) *namespace.Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.RLock()
	ns := s.namespaces[name]
	dyn := s.dynamic
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, d := range dyn {
		if child := nsImpl.Child(d.parent, name); child != nil {
			return child
		}
	}
	for _, d := range dyn {
		if d.byName && s.matches(d, name, nil) {
			return s.instance(d, name)
		}
	}
	s.mu.Lock()
	ns = s.namespaces[name]
	created := ns == nil
	if created {
		ns = nsImpl.NewNamespace(name, s.nsConfig())
		s.namespaces[name] = ns
	}
	s.mu.Unlock()
	if created {
		s.newNamespace(ns)
	}
	return ns
}

// OnNewNamespace registers fn to run whenever a namespace is created: by
// Of, or as an instance of a dynamic namespace when a client first asks
// for its name (before that client's middlewares run, so fn may add
// middlewares or handlers of the instance's own). socket.io's
// io.on("new_namespace").
func (s *Server) OnNewNamespace(fn func(ns *namespace.Namespace)) {
	s.mu.Lock()
	s.onNewNamespace = append(s.onNewNamespace, fn)
	s.mu.Unlock()
}

// newNamespace runs the OnNewNamespace hooks; a hook that panics is
// logged and the others still run.
func (s *Server) newNamespace(ns *namespace.Namespace) {
	s.mu.RLock()
	hooks := s.onNewNamespace
	s.mu.RUnlock()
	for _, fn := range hooks {
		func() {
			defer func() {
				if r := recover(); r != nil {
					s.opts.Logger.Error("hub: new namespace hook panicked", "namespace", ns.Name(),
						"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				}
			}()
			fn(ns)
		}()
	}
}

// OfFunc returns a dynamic namespace: clients may connect to any name for
// which match returns true; each name gets its own namespace (created on
// first connection) sharing the returned namespace's middlewares and
// connection handlers, and the returned namespace's broadcasts reach them
// all. An instance is removed when its last socket leaves, unless
// Options.KeepEmptyChildNamespaces is set.
func (s *Server) OfFunc(match func(name string, auth json.RawMessage) bool) *namespace.Namespace {
	return s.addDynamic(dynamicNamespace{match: match})
}

// OfRegexp is OfFunc for names matching re. Of, given a name that matches,
// returns (or makes) its instance, as socket.io's io.of(name) does.
func (s *Server) OfRegexp(re *regexp.Regexp) *namespace.Namespace {
	return s.addDynamic(dynamicNamespace{match: func(name string, _ json.RawMessage) bool { return re.MatchString(name) }, byName: true})
}

func (s *Server) addDynamic(d dynamicNamespace) *namespace.Namespace {
	d.parent = nsImpl.NewNamespace("", s.nsConfig())
	s.mu.Lock()
	s.dynamic = append(s.dynamic, d)
	s.mu.Unlock()
	return d.parent
}

func (s *Server) nsConfig() *wiring.Config[*namespace.Recovery] {
	return &wiring.Config[*namespace.Recovery]{Adapter: s.opts.Adapter, Logger: s.opts.Logger, Recovery: s.opts.ConnectionStateRecovery,
		KeepEmptyChildren: s.opts.KeepEmptyChildNamespaces, Parser: uint8(s.opts.Parser)}
}

// resolve finds the namespace a client asks for: a static one, a live
// instance of a dynamic namespace, or a new instance of the first dynamic
// namespace whose matcher accepts the name.
func (s *Server) resolve(name string, auth json.RawMessage) *namespace.Namespace {
	s.mu.RLock()
	ns := s.namespaces[name]
	dyn := s.dynamic
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, d := range dyn {
		if child := nsImpl.Child(d.parent, name); child != nil {
			return child
		}
	}
	for _, d := range dyn {
		if s.matches(d, name, auth) {
			return s.instance(d, name)
		}
	}
	return nil
}

// instance returns d's instance called name, making it if needed.
func (s *Server) instance(d dynamicNamespace, name string) *namespace.Namespace {
	child, created := nsImpl.NewChild(d.parent, name)
	if created {
		s.newNamespace(child)
	}
	return child
}

// Namespaces returns the namespaces that exist now, sorted by name: the
// static ones (made by Of) and the live instances of the dynamic ones
// (socket.io's io._nsps). The namespaces OfFunc and OfRegexp return, which
// no client joins, are not among them; [Server.OnNewNamespace] tells of the
// ones created later.
func (s *Server) Namespaces() []*namespace.Namespace {
	out := s.all()
	slices.SortFunc(out, func(a, b *namespace.Namespace) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// all returns every namespace: the static ones, and the live instances of
// the dynamic ones.
func (s *Server) all() []*namespace.Namespace {
	s.mu.RLock()
	out := make([]*namespace.Namespace, 0, len(s.namespaces))
	for _, ns := range s.namespaces {
		out = append(out, ns)
	}
	dyn := s.dynamic
	s.mu.RUnlock()
	for _, d := range dyn {
		out = append(out, d.parent.Children()...)
	}
	return out
}

// matches runs a dynamic namespace's matcher; one that panics does not
// match (the client gets "Invalid namespace"), and the panic is logged.
func (s *Server) matches(d dynamicNamespace, name string, auth json.RawMessage) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.opts.Logger.Error("hub: dynamic namespace matcher panicked", "namespace", name,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	return d.match(name, auth)
}

// OnConnection registers a connection handler on the main namespace.
func (s *Server) OnConnection(fn func(sock *namespace.Socket)) { s.Of("/").OnConnection(fn) }

// Use adds a middleware to the main namespace.
func (s *Server) Use(mw namespace.Middleware) { s.Of("/").Use(mw) }

// To returns a broadcast to rooms of the main namespace.
func (s *Server) To(rooms ...string) namespace.Broadcast { return s.Of("/").To(rooms...) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// Shutdown stops accepting clients, disconnects every client (they are
// told, so they can reconnect elsewhere), and waits for their disconnect
// handlers to finish and every long-polling client to be answered, or for
// ctx to end.
//
// Call it before the http.Server's Shutdown, which waits for the
// long-polling requests the hub holds open (and not for WebSockets):
//
//	err := h.Shutdown(ctx)                    // clients told, handlers done
//	err = errors.Join(err, srv.Shutdown(ctx)) // then the HTTP server
//
// A long-polling client between two requests gets the close packet in
// answer to its next one, which the http.Server must still accept. When
// the http.Server shuts down first (a framework may do it for you), hook the
// hub to it with [Server.StartShutdown].
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.eio.Shutdown(ctx)
	for _, ns := range s.all() {
		_ = ns.Adapter().Close()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, d := range s.dynamic {
		_ = d.parent.Adapter().Close()
	}
	return err
}

// StartShutdown starts Shutdown and returns at once: the hub refuses new
// clients and disconnects every connected one, answering the long-polling
// requests it holds. Register it on your http.Server, so that the server's
// Shutdown does not wait for those requests until its context ends:
//
//	srv.RegisterOnShutdown(h.StartShutdown)
//
// then call Shutdown to wait for the disconnect handlers. Long-polling
// clients between two requests miss the close packet in that order (the
// http.Server closes their idle connections) and see a transport error;
// Shutdown waits for their next request all the same, up to the polling
// transport's CloseTimeout (2s by default).
func (s *Server) StartShutdown() { s.eio.StartShutdown() }

// open creates the Socket.IO client of a new Engine.IO session.
func (s *Server) open(sess *engineio.Session) engineio.SessionHandler {
	addr := sess.RemoteAddr()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	hs := namespace.Handshake{
		// Header nil: Socket.Handshake asks the session (which keeps the
		// header compactly) when the application wants it.
		Address: addr,
		Time:    sess.Created(),
		Secure:  sess.Secure(),
		URL:     sess.RequestURI(), // Socket.Handshake parses the query on demand
		XDomain: sess.HeaderValue("Origin") != "",
	}
	c := nsImpl.NewClient(sess, hs, s.resolve, s.clientOpts) // shared: one copy per hub, not per client
	return sessionHandler{c}
}

// sessionHandler feeds an Engine.IO session's messages to its client.
type sessionHandler struct{ c wiring.Client }

// errInvalidPacket marks the error of a message that is not valid Socket.IO.
var errInvalidPacket = errors.New("hub: invalid packet")

func (h sessionHandler) HandleMessage(m engineio.Message) error {
	if err := h.c.Receive(m.Binary, m.Data); err != nil {
		return fmt.Errorf("%w: %w", errInvalidPacket, err)
	}
	return nil
}

// HandleClose passes the reason on as socket.io does: the session's own
// reason, except that a session the server closed is a "forced server
// close", unless it was closed for a packet that is not valid Socket.IO
// ("forced close": socket.io closes the connection when its decoder fails).
func (h sessionHandler) HandleClose(err error) {
	reason := engineio.Reason(err)
	if reason == namespace.ReasonForcedClose && !errors.Is(err, errInvalidPacket) {
		reason = namespace.ReasonForcedServerClose
	}
	h.c.Closed(reason)
}
