package polling

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/internal/flow"
)

// Options configure a [Transport]. A nil *Options or a zero field means the
// default stated on the field.
type Options struct {
	// Logger receives debug records about sessions that end with an error.
	// Default: slog.Default().
	Logger *slog.Logger
	// WriteTimeout bounds the writing of one response to a client that
	// does not read it. It is set as the response's write deadline right
	// before the body is written, so it also lifts an http.Server
	// WriteTimeout shorter than a held GET. Default: 10 s; negative: no
	// deadline of ours.
	WriteTimeout time.Duration
	// StartTimeout bounds how long a POST that arrives before [Conn.Start]
	// waits for it. When it expires the POST is answered 400 and the Conn
	// closes with [ErrNotStarted]. Default: 10 s.
	StartTimeout time.Duration
	// CloseTimeout bounds how long the frames queued when [Conn.Close] is
	// called with no GET held (such as the close packet of a server that
	// shuts down) wait for the client's next GET; then they are dropped.
	// A live client polls again at once. Default: 2 s; negative: dropped at
	// once.
	CloseTimeout time.Duration
	// Compression configures the gzip/deflate compression of responses
	// by the request's Accept-Encoding. Default (nil): on, for bodies of
	// 1024 bytes or more; see [Compression].
	Compression *Compression
}

// Defaults for zero Options fields.
const (
	DefaultWriteTimeout = 10 * time.Second
	DefaultStartTimeout = 10 * time.Second
	DefaultCloseTimeout = 2 * time.Second
)

// Errors a Conn closes with (seen by [transport.Handler.HandleClose]), besides
// errors wrapping [transport.ErrTooLarge], [transport.ErrQueueFull], the
// [PayloadError]s of [DecodePayload] and the Handler's own errors.
var (
	// ErrOverlap: a second GET, or a second POST, arrived while one was
	// in flight. It wraps [transport.ErrBadRequest].
	ErrOverlap error = &wrapError{"polling: overlapping request", transport.ErrBadRequest}
	// ErrAborted: the client went away before its request was answered or
	// while its body was read or its response written.
	ErrAborted = errors.New("polling: request aborted by client")
	// ErrNotStarted: a POST waited for [Conn.Start] longer than
	// [Options.StartTimeout].
	ErrNotStarted = errors.New("polling: POST before Start timed out")
)

var errClosed error = &wrapError{"polling: connection closed", transport.ErrClosed}

// wrapError is a sentinel error whose message stands alone and which also
// matches the transport error it refines.
type wrapError struct {
	msg  string
	base error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.base }

// Transport is the long-polling [transport.Transport]. It is safe for
// concurrent use.
type Transport struct {
	log          *slog.Logger
	writeTimeout time.Duration
	startTimeout time.Duration
	closeTimeout time.Duration // <= 0: no waiting for the next GET
	compression  compression
	hooks        *testHooks // nil outside tests
}

// testHooks let tests wait for states that have no outside sign.
type testHooks struct {
	getParked   func(*Conn) // a GET is now held
	postWaiting func(*Conn) // a POST now waits for Start
}

// New returns a Transport configured by opts (nil for defaults).
func New(opts *Options) *Transport {
	var o Options
	if opts != nil {
		o = *opts
	}
	t := &Transport{log: o.Logger, writeTimeout: o.WriteTimeout, startTimeout: o.StartTimeout, closeTimeout: o.CloseTimeout, compression: newCompression(o.Compression)}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.writeTimeout == 0 {
		t.writeTimeout = DefaultWriteTimeout
	}
	if t.startTimeout <= 0 {
		t.startTimeout = DefaultStartTimeout
	}
	if t.closeTimeout == 0 {
		t.closeTimeout = DefaultCloseTimeout
	}
	return t
}

// Name returns [transport.NamePolling].
func (t *Transport) Name() string { return transport.NamePolling }

// Accept creates the [*Conn] of a new session from its handshake request r.
// It neither reads nor answers r: the caller queues the open packet with
// Send, calls Start, and then passes w and r to the Conn's ServeHTTP. The
// returned error is always nil.
func (t *Transport) Accept(w http.ResponseWriter, r *http.Request, p transport.Params) (transport.Conn, error) {
	p = p.WithDefaults()
	c := &Conn{t: t, maxPayload: p.MaxPayload, budget: flow.NewBudget(p.MaxQueueBytes), eio3: p.EIO3, b64: p.EIO3 && p.Base64}
	if r != nil {
		c.remoteAddr = r.RemoteAddr
	}
	return c, nil
}

var _ transport.Transport = (*Transport)(nil)
