package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// Mode chooses what the UI gets; see the package documentation.
type Mode string

// The modes of socket.io's instrument().
const (
	// Development: stats, sockets, rooms and the live feed of events.
	Development Mode = "development"
	// Production: stats and aggregated figures only.
	Production Mode = "production"
)

// Options configure [Instrument]. Auth must be set; the zero value of the
// others means socket.io's defaults.
type Options struct {
	// Auth is how the UI logs in: BasicAuth (a username and a bcrypt hash
	// of the password), or NoAuth{} to let anyone who reaches the
	// namespace in. Required: Instrument fails without it.
	Auth Auth
	// Namespace is the admin namespace. Default "/admin".
	Namespace string
	// ReadOnly disables the UI's actions (join, leave, disconnect, emit).
	ReadOnly bool
	// ServerID names this node in the UI. Default: the host name.
	ServerID string
	// Mode is Development (default) or Production.
	Mode Mode
	// StatsInterval is how often the server stats are sent. Default 2s.
	StatsInterval time.Duration
	// FeedBytes bounds the events waiting to be sent to the UI (their
	// arguments' bytes, plus a fixed cost each). Default 1 MiB.
	FeedBytes int64
	// FeedRate bounds the events received and sent that the feed reports,
	// per second (the UI keeps the last 1,000 of each namespace); the
	// others are dropped and counted. Default 1,000.
	FeedRate int
	// SessionTTL is how long the session id given to a logged-in UI (with
	// which it reconnects without the password) stays valid. Default 24h.
	SessionTTL time.Duration
	// Logger receives diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// Errors returned by Instrument.
var (
	// ErrNoAuth: Options.Auth is nil (use NoAuth{} to allow anyone).
	ErrNoAuth = errors.New("admin: Options.Auth must be set: admin.BasicAuth, or admin.NoAuth{} to let anyone in")
	// ErrBadHash: BasicAuth.PasswordHash is not a bcrypt hash.
	ErrBadHash = errors.New("admin: BasicAuth.PasswordHash must be a bcrypt hash")
	// ErrBadMode: Options.Mode is neither Development nor Production.
	ErrBadMode = errors.New("admin: Options.Mode must be admin.Development or admin.Production")
)

// The UI's features (socket.io-admin-ui's Feature enum).
const (
	featureEmit        = "EMIT"
	featureJoin        = "JOIN"
	featureLeave       = "LEAVE"
	featureDisconnect  = "DISCONNECT"
	featureMJoin       = "MJOIN"
	featureMLeave      = "MLEAVE"
	featureMDisconnect = "MDISCONNECT"
	featureAggregated  = "AGGREGATED_EVENTS"
	featureAllEvents   = "ALL_EVENTS"
)

// Instrumentation is a hub instrumented for the admin UI; Close stops it.
type Instrumentation struct {
	h        *hub.Server
	admin    *namespace.Namespace
	opts     Options
	logger   *slog.Logger
	serverID string
	features []string
	auth     *basicAuth // nil with NoAuth
	feed     *feed

	closed    atomic.Bool
	ctx       context.Context // ends with Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	instrumented sync.Map // weak.Pointer[namespace.Namespace] → *observer; an entry goes with its namespace

	// Development mode: whether a UI watches (see watch.go).
	watching    atomic.Bool
	remoteUntil atomic.Int64 // a UI on another node watches until then (Unix ns)
	wmu         sync.Mutex   // serialises the setting of the observers
}

// Instrument makes the hub's admin namespace speak the admin UI's protocol
// and starts sending it server stats. Call it once per hub.
func Instrument(h *hub.Server, opts Options) (*Instrumentation, error) {
	if h == nil {
		return nil, errors.New("admin: Instrument: nil hub")
	}
	if opts.Auth == nil {
		return nil, ErrNoAuth
	}
	if opts.Namespace == "" {
		opts.Namespace = "/admin"
	}
	if opts.Mode == "" {
		opts.Mode = Development
	}
	if opts.Mode != Development && opts.Mode != Production {
		return nil, fmt.Errorf("%w, not %q", ErrBadMode, opts.Mode)
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = 2 * time.Second
	}
	if opts.FeedBytes <= 0 {
		opts.FeedBytes = 1 << 20
	}
	if opts.FeedRate <= 0 {
		opts.FeedRate = 1000
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ServerID == "" {
		opts.ServerID, _ = os.Hostname()
	}
	auth, err := opts.Auth.middleware(opts.SessionTTL)
	if err != nil {
		return nil, err
	}
	ins := &Instrumentation{h: h, opts: opts, logger: opts.Logger, serverID: opts.ServerID, auth: auth}
	ins.ctx, ins.cancel = context.WithCancel(context.Background())
	if auth == nil {
		ins.logger.Warn("admin: authentication is off (admin.NoAuth): anyone who reaches the admin namespace may watch and act on the hub", "namespace", opts.Namespace)
	}
	if !opts.ReadOnly {
		ins.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect, featureMJoin, featureMLeave, featureMDisconnect}
	}
	ins.features = append(ins.features, featureAggregated)
	dev := opts.Mode == Development
	if dev {
		ins.features = append(ins.features, featureAllEvents)
	}

	ins.admin = h.Of(opts.Namespace)
	ins.admin.Use(ins.authenticate)
	ins.admin.OnConnection(ins.onAdminConnection)
	ins.admin.OnServerSideEmit(detailsEvent, ins.answerDetails)

	if dev {
		ins.feed = newFeed(opts.FeedBytes, opts.FeedRate)
		ins.admin.OnServerSideEmit(watchEvent, func(*namespace.Event) { ins.remoteWatch() })
		h.OnNewNamespace(ins.instrument)
		for _, ns := range h.Namespaces() {
			ins.instrument(ns)
		}
		ins.wg.Add(1)
		go ins.runFeed()
	}
	ins.wg.Add(1)
	go ins.runStats()
	return ins, nil
}

// Close stops the stats and the feed, and disconnects the UIs connected to
// this node; the admin namespace then refuses them. It does not wait for
// the UIs' disconnect handlers.
func (ins *Instrumentation) Close() error {
	ins.closeOnce.Do(func() {
		ins.closed.Store(true)
		ins.cancel()
		ins.wg.Wait()
		ins.updateWatching() // off: the observers are removed
		_ = ins.admin.All().Local().DisconnectSockets(false)
	})
	return nil
}

// Dropped returns how many feed records were dropped: the UIs' feed was
// Options.FeedBytes behind, or its events over Options.FeedRate.
func (ins *Instrumentation) Dropped() int64 {
	if ins.feed == nil {
		return 0
	}
	return ins.feed.dropped.Load()
}

// errClosed refuses UIs after Close.
var errClosed = errors.New("admin: instrumentation closed")

// authenticate is the admin namespace's middleware.
func (ins *Instrumentation) authenticate(s *namespace.Socket) error {
	if ins.closed.Load() {
		return errClosed
	}
	if ins.auth == nil {
		return nil
	}
	return ins.auth.check(s)
}

// onAdminConnection sets up a UI's socket: its session id, the actions,
// the config, and (in development mode) the sockets.
func (ins *Instrumentation) onAdminConnection(s *namespace.Socket) {
	if ins.auth != nil {
		if id := ins.auth.takeNewSession(s); id != "" {
			_ = s.Emit("session", id)
		}
	}
	if !ins.opts.ReadOnly {
		ins.registerActions(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": ins.features})
	if ins.opts.Mode == Development {
		ins.updateWatching()
		s.OnDisconnect(func(string) { ins.updateWatching() })
		ins.wg.Add(1)
		go func() {
			defer ins.wg.Done()
			ins.announce()
			ctx, cancel := ins.context(s.Context())
			defer cancel()
			sockets := ins.allSockets(ctx)
			if s.Connected() {
				_ = s.Emit("all_sockets", sockets)
			}
		}()
	}
}

// context returns a context that ends with parent, with Close, or after
// fetchTimeout.
func (ins *Instrumentation) context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, fetchTimeout)
	stop := context.AfterFunc(ins.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// fetchTimeout bounds the collection of the sockets of every node.
const fetchTimeout = 5 * time.Second
