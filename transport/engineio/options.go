package engineio

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

// Options configure a [Server]. The zero value (or a nil *Options) means
// the reference server's defaults.
type Options struct {
	// PingInterval is how often the server pings each client. Default 25s.
	// One timer per server schedules all heartbeats; to share its wake-ups,
	// a ping may go out up to min(PingInterval/64, 50ms) early.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong before it closes
	// the session, counted from when the ping was sent or, if the ping was
	// late, from when it was due: a client that stops answering is gone
	// PingInterval+PingTimeout after its last pong, never later. Default 20s.
	PingTimeout time.Duration
	// MaxPayload is the largest message (WebSocket) or request body
	// (polling) a client may send, in bytes; it is announced in the
	// handshake. Default 1,000,000.
	MaxPayload int64
	// MaxQueueBytes bounds what waits to be written to one client, in bytes
	// (see transport.Params.MaxQueueBytes); a client that falls further
	// behind is disconnected. Default transport.DefaultMaxQueueBytes (4 MiB).
	MaxQueueBytes int64
	// UpgradeTimeout bounds the polling→WebSocket upgrade, from the
	// WebSocket's arrival to the client's upgrade packet. Default 10s.
	UpgradeTimeout time.Duration
	// Transports the server accepts, by their Name. Default: long-polling
	// and WebSocket with their own defaults, logging to Logger. Names other
	// than "polling" and "websocket" are accepted as given; transports
	// given here log where their own options say.
	Transports []transport.Transport
	// HTTPCompression configures the gzip/deflate compression of the
	// default long-polling transport's responses (engine.io's
	// httpCompression). Default (nil): on, for bodies of 1024 bytes or
	// more, by the request's Accept-Encoding; &polling.Compression{Disable:
	// true} turns it off. Transports given in Transports use their own
	// options instead.
	HTTPCompression *polling.Compression
	// DisableUpgrades stops polling sessions from moving to WebSocket (the
	// handshake then announces no upgrades).
	DisableUpgrades bool
	// AllowedOrigins lists the cross-origin callers allowed, as exact
	// origins ("https://app.example.com"), patterns with one "*"
	// ("https://*.example.com"), or "*" for any origin. Requests with no
	// Origin header and same-origin requests are always allowed. Default:
	// none, so browsers on other origins are refused with 403.
	//
	// Origins matched by "*" get CORS headers without credentials; listed
	// origins and patterns get credentials too. A refused request is
	// answered 403 and logged at Warn, once a minute per origin.
	AllowedOrigins []string
	// CheckOrigin, when set, decides instead of AllowedOrigins for requests
	// whose Origin is not the server's own. Allowed origins get CORS headers
	// with credentials.
	CheckOrigin func(r *http.Request) bool
	// MaxConnections bounds the open sessions; handshakes beyond it are
	// answered 503 (polling) or closed with status 1013 (WebSocket).
	// Default 0: no bound.
	MaxConnections int
	// Cookie, when set, has the handshake response set a cookie holding
	// the session id, for load balancers that route by cookie (sticky
	// sessions); see [Cookie]. Default: no cookie, as in engine.io.
	Cookie *Cookie
	// GenerateID, when set, returns the id of each new session from its
	// handshake request (engine.io's generateId): 1 to [MaxIDLength]
	// characters among A-Z, a-z, 0-9, '-', '_', '.' and '~', unique among
	// the open sessions. It runs on the handshake's goroutine, and should
	// be quick. A handshake whose id is invalid or in use, or for which it
	// returns an error or panics, is refused (HTTP 400, code 3 "Bad
	// request"; OnConnectionError is told, with Context["name"]
	// "ID_GENERATION_ERROR"). Default: 20 random URL-safe characters (120
	// bits).
	GenerateID func(r *http.Request) (string, error)
	// OnConnectionError, when set, is told of every request the server
	// refuses (bad or unknown transport, unknown session, bad handshake,
	// refused origin, unsupported protocol version, server full):
	// engine.io's "connection_error" event. It runs after the answer, on
	// a goroutine of its own, one refusal at a time and in order, so that
	// it never holds a request; a panic in it is recovered and logged.
	// Refusals that find more than 1024 others still waiting for it are
	// not reported (a warning says how many, once a minute).
	OnConnectionError func(e *ConnectionError)
	// AllowEIO3 accepts clients of revision 3 of the Engine.IO protocol
	// (handshake query EIO=3: socket.io-client 2.x), as engine.io's
	// allowEIO3: their polling payloads are framed as revision 3 frames
	// them, binary WebSocket messages carry a type byte, and the client
	// pings (the server answers each ping with a pong and closes the
	// session when no ping came for PingInterval+PingTimeout). A client
	// that asks for base64 (b64=1) gets binary messages as base64 text.
	// [Session.Protocol] tells the sessions apart. Stricter than engine.io:
	// only EIO=3 is taken for revision 3 (engine.io takes any EIO other
	// than 4, or none), and JSONP polling (the "j" query parameter),
	// which runs the response as a script in the page, is refused with
	// 400 (code 3, Bad request). Default false: EIO=3 is refused (400,
	// code 5, Unsupported protocol version).
	AllowEIO3 bool
	// Logger receives the server's diagnostics, and the default
	// transports'. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = transport.DefaultMaxPayload
	}
	if c.MaxQueueBytes <= 0 {
		c.MaxQueueBytes = transport.DefaultMaxQueueBytes
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.Transports) == 0 {
		c.Transports = []transport.Transport{
			polling.New(&polling.Options{Logger: c.Logger, Compression: c.HTTPCompression}),
			websocket.New(&websocket.Options{Logger: c.Logger}),
		}
	} else {
		c.Transports = append([]transport.Transport(nil), c.Transports...)
	}
	c.AllowedOrigins = append([]string(nil), c.AllowedOrigins...)
	return c
}
