package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/room"
)

// factory is what New returns: it creates the adapters of one hub's
// namespaces, all on one node (one uid, one subscription connection).
type factory struct {
	client goredis.UniversalClient
	opts   Options

	mu    sync.Mutex
	nodes []*node
}

// New returns the adapter factory for hub.Options.Adapter: every namespace
// of the hub gets an [*Adapter] on client. Give each hub its own New: the
// hub is one node of the cluster. A nil opts means defaults.
func New(client goredis.UniversalClient, opts *Options) func(room.Local) room.Adapter {
	f := &factory{client: client, opts: opts.resolve()}
	return f.adapter
}

func (f *factory) adapter(ns room.Local) room.Adapter {
	name := ns.Name()
	log := f.opts.Logger
	if log == nil {
		log = room.LoggerOf(ns)
	}
	if f.client == nil {
		log.Error("redis: New was given a nil client; namespace " + name + " stays on this node")
		return room.NewMemory(ns)
	}
	if name == "" {
		// A dynamic namespace's parent has no sockets: its instances,
		// which have names, get cluster adapters.
		return room.NewMemory(ns)
	}
	n := f.nodeFor(name, log)
	a := newAdapter(ns, n)
	n.register(a)
	return a
}

// nodeFor returns a node that serves no namespace called name yet,
// creating one (logging to log) if needed: a factory shared by two hubs
// then makes two nodes, so that they still see each other.
func (f *factory) nodeFor(name string, log *slog.Logger) *node {
	f.mu.Lock()
	for _, n := range f.nodes {
		if n.claim(name) {
			f.mu.Unlock()
			return n
		}
	}
	uid := f.opts.UID
	switch {
	case uid == "":
		uid = newUID(12)
	case len(f.nodes) > 0:
		uid += "-" + strconv.Itoa(len(f.nodes))
	}
	shared := len(f.nodes) > 0
	n := newNode(f.client, f.opts, uid, log)
	n.claim(name)
	f.nodes = append(f.nodes, n)
	f.mu.Unlock()
	if shared {
		log.Warn("redis: an adapter factory is serving a second namespace "+name+"; give each hub its own redis.New", "uid", uid)
	}
	return n
}

// route says which adapter handles a subscribed channel, and how.
type route struct {
	m    member
	kind int
}

// member is a namespace's adapter on a node: the pub/sub Adapter or the
// StreamsAdapter.
type member interface {
	// nspName is the namespace's name.
	nspName() string
	// subs lists the channels and patterns to subscribe to.
	subs() []sub
	// handle processes a message received on one of them.
	handle(kind int, channel, payload string)
}

// sub is one subscription of a member.
type sub struct {
	name    string
	pattern bool
	kind    int // routeBroadcast, routeRequest (counted for expectedNodes), routeResponse
}

func (s sub) key() string {
	if s.pattern {
		return "p:" + s.name
	}
	return "c:" + s.name
}

// subscribe subscribes subs on ps.
func subscribe(ctx context.Context, ps *goredis.PubSub, subs []sub) error {
	var chans, pats []string
	for _, s := range subs {
		if s.pattern {
			pats = append(pats, s.name)
		} else {
			chans = append(chans, s.name)
		}
	}
	var err error
	if len(chans) > 0 {
		err = ps.Subscribe(ctx, chans...)
	}
	if len(pats) > 0 {
		err = errors.Join(err, ps.PSubscribe(ctx, pats...))
	}
	return err
}

// unsubscribe undoes subscribe.
func unsubscribe(ctx context.Context, ps *goredis.PubSub, subs []sub) {
	for _, s := range subs {
		if s.pattern {
			_ = ps.PUnsubscribe(ctx, s.name)
		} else {
			_ = ps.Unsubscribe(ctx, s.name)
		}
	}
}

const (
	routeBroadcast = iota
	routeRequest
	routeResponse
)

// node is one cluster member: the uid and the subscription connection
// shared by a hub's namespaces. Its goroutines (receive loop, publisher
// of responses, worker for handlers) run while it serves at least one
// namespace.
type node struct {
	client goredis.UniversalClient
	opts   Options
	uid    string
	log    *slog.Logger
	seq    atomic.Uint64

	life  sync.Mutex // serialises start, stop, register, unregister
	users int
	names map[string]bool // namespaces served

	cur atomic.Pointer[run] // the goroutines serving now; nil while idle

	psMu sync.Mutex // guards run.ps swaps and subscription commands

	mu        sync.RWMutex // routes and subscription state
	channels  map[string]route
	patterns  map[string]route
	confirmed map[string]bool // "c:"+channel or "p:"+pattern, on the current connection
	changed   chan struct{}   // closed and replaced when confirmed changes

	down  atomic.Bool // Redis known unreachable: publishing refused
	stats counters

	streams *streamState // a streams node (NewStreams); nil for pub/sub

	countMu    sync.Mutex     // the node counts of expectedNodes
	known      map[string]int // request channel: nodes counted last
	recovering bool           // Redis down: keep the counts from before
	graceUntil time.Time      // after an outage, counts do not drop before this
}

// run is one generation of a node's goroutines, from the first namespace
// registered to the last one closed.
type run struct {
	stop   chan struct{}
	ctx    context.Context // cancelled at stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	out    *outbox
	work   chan func()
	ps     *goredis.PubSub // guarded by node.psMu
	reader *streamReader   // a streams node's
	// Where its reader starts ("" to find out), and the entries added
	// up to there.
	streamStart string
	streamSeen  int64
}

func newNode(client goredis.UniversalClient, opts Options, uid string, log *slog.Logger) *node {
	return &node{
		client: client, opts: opts, uid: uid, log: log.With("uid", uid),
		names:     make(map[string]bool),
		channels:  make(map[string]route),
		patterns:  make(map[string]route),
		confirmed: make(map[string]bool),
		changed:   make(chan struct{}),
	}
}

func (n *node) claim(name string) bool {
	n.life.Lock()
	defer n.life.Unlock()
	if n.names[name] {
		return false
	}
	n.names[name] = true
	return true
}

// requestID returns a request id unique in the cluster.
func (n *node) requestID() string {
	return n.uid + "-" + strconv.FormatUint(n.seq.Add(1), 36)
}

// register subscribes a's channels, starting the node if it was idle, and
// waits (at most RequestTimeout) until Redis confirms the subscriptions.
func (n *node) register(a member) {
	subs := a.subs()
	n.life.Lock()
	if n.users == 0 {
		n.start()
	}
	r := n.cur.Load()
	n.users++
	n.mu.Lock()
	for _, s := range subs {
		if s.pattern {
			n.patterns[s.name] = route{a, s.kind}
		} else {
			n.channels[s.name] = route{a, s.kind}
		}
	}
	n.mu.Unlock()
	n.life.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestTimeout)
	defer cancel()
	n.psMu.Lock()
	err := subscribe(ctx, r.ps, subs)
	n.psMu.Unlock()
	if err == nil {
		err = n.waitSubscribed(ctx, a)
	}
	if err != nil {
		n.log.Warn("redis: could not subscribe yet; the subscriptions are retried until Redis answers",
			"namespace", a.nspName(), "err", err)
	}
}

// unregister drops a's channels, stopping the node when it was the last.
func (n *node) unregister(a member) {
	subs := a.subs()
	n.life.Lock()
	delete(n.names, a.nspName())
	n.mu.Lock()
	for _, s := range subs {
		if s.pattern {
			delete(n.patterns, s.name)
		} else {
			delete(n.channels, s.name)
		}
	}
	n.mu.Unlock()
	n.users--
	r := n.cur.Load()
	if n.users > 0 {
		n.life.Unlock()
		ctx, cancel := context.WithTimeout(r.ctx, n.opts.RequestTimeout)
		n.psMu.Lock()
		unsubscribe(ctx, r.ps, subs)
		n.psMu.Unlock()
		cancel()
		return
	}
	n.cur.Store(nil)
	n.life.Unlock()
	n.shutdown(r)
}

// start launches a generation of the node's goroutines (with n.life
// held).
func (n *node) start() {
	r := &run{stop: make(chan struct{}), out: newOutbox(), work: make(chan func(), workQueueLen)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.ps = n.client.Subscribe(r.ctx) // no channels yet: connects on first use
	n.mu.Lock()
	clear(n.confirmed) // a new connection
	n.signalLocked()
	n.mu.Unlock()
	n.cur.Store(r)
	r.wg.Add(3)
	go n.receive(r)
	go n.publisher(r)
	go n.worker(r)
	if n.streams != nil {
		r.reader = &streamReader{}
		r.streamStart, r.streamSeen = n.streams.initPosition(r.ctx, n) // entries added from now on are read
		r.wg.Add(2)
		go n.readStream(r)
		go n.saveSessions(r)
	}
}

// shutdown stops a generation of goroutines, closes its connection and
// waits for them (the node may meanwhile start a new generation).
func (n *node) shutdown(r *run) {
	close(r.stop)
	r.cancel()
	n.psMu.Lock()
	ps := r.ps
	n.psMu.Unlock()
	_ = ps.Close()
	if r.reader != nil {
		r.reader.close()
	}
	r.wg.Wait()
}

func (n *node) signalLocked() {
	close(n.changed)
	n.changed = make(chan struct{})
}

// waitSubscribed waits until Redis has confirmed a's subscriptions on the
// current connection and the node publishes again.
func (n *node) waitSubscribed(ctx context.Context, a member) error {
	subs := a.subs()
	for {
		n.mu.RLock()
		all := !n.down.Load()
		for _, s := range subs {
			all = all && n.confirmed[s.key()]
		}
		changed := n.changed
		n.mu.RUnlock()
		if all {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("redis: waiting for the subscriptions of %s: %w", a.nspName(), ctx.Err())
		}
	}
}

func (n *node) pubsub(r *run) *goredis.PubSub {
	n.psMu.Lock()
	defer n.psMu.Unlock()
	return r.ps
}

// receive is the loop reading the subscription connection: it dispatches
// messages, tracks subscription confirmations, checks the connection's
// health and rides out Redis outages (go-redis reconnects and resubscribes
// on the next read).
func (n *node) receive(r *run) {
	defer r.wg.Done()
	failures := 0
	pinged := false
	for {
		ps := n.pubsub(r)
		msg, err := ps.ReceiveTimeout(r.ctx, n.opts.HealthCheckInterval)
		if err != nil {
			select {
			case <-r.stop:
				return
			default:
			}
			if ps != n.pubsub(r) { // replaced after a failed health check
				continue
			}
			var oe *net.OpError
			if errors.As(err, &oe) && oe.Op == "read" && oe.Timeout() && failures == 0 {
				// Silent for HealthCheckInterval: ping; silent again: replace.
				if pinged {
					n.replace(r, ps, errors.New("no answer to a ping"))
					pinged = false
					continue
				}
				ctx, cancel := context.WithTimeout(r.ctx, n.opts.RequestTimeout)
				_ = ps.Ping(ctx)
				cancel()
				pinged = true
				continue
			}
			failures++
			if failures == 1 {
				n.lost(err)
			}
			n.backoff(r, failures)
			continue
		}
		pinged = false
		if failures > 0 {
			n.log.Info("redis: subscription connection restored")
			failures = 0
		}
		switch m := msg.(type) {
		case *goredis.Message:
			n.dispatch(m)
		case *goredis.Subscription:
			n.subscription(m)
		}
	}
}

// lost records that the subscription connection failed.
func (n *node) lost(err error) {
	n.mu.Lock()
	clear(n.confirmed)
	n.signalLocked()
	n.mu.Unlock()
	n.log.Warn("redis: subscription connection lost; reconnecting", "err", err)
	n.setDown(true, err)
}

// backoff waits before the next reconnection attempt, or until stop.
func (n *node) backoff(r *run, failures int) {
	// Short and capped: Redis back, the node resumes within 100ms.
	d := min(25*time.Millisecond<<min(failures, 3), maxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.stop:
	}
}

// replace swaps a dead subscription connection for a new one.
func (n *node) replace(r *run, old *goredis.PubSub, why error) {
	n.mu.Lock()
	clear(n.confirmed)
	n.signalLocked()
	channels := make([]string, 0, len(n.channels))
	for c := range n.channels {
		channels = append(channels, c)
	}
	patterns := make([]string, 0, len(n.patterns))
	for p := range n.patterns {
		patterns = append(patterns, p)
	}
	n.mu.Unlock()
	n.log.Warn("redis: subscription connection unresponsive; replacing it", "err", why)

	n.psMu.Lock()
	if r.ps != old {
		n.psMu.Unlock()
		return
	}
	ps := n.client.Subscribe(r.ctx)
	ctx, cancel := context.WithTimeout(r.ctx, n.opts.RequestTimeout)
	if len(channels) > 0 {
		_ = ps.Subscribe(ctx, channels...)
	}
	if len(patterns) > 0 {
		_ = ps.PSubscribe(ctx, patterns...)
	}
	cancel()
	r.ps = ps
	n.psMu.Unlock()
	_ = old.Close()
}

func (n *node) subscription(m *goredis.Subscription) {
	var key string
	var on bool
	switch m.Kind {
	case "subscribe":
		key, on = "c:"+m.Channel, true
	case "psubscribe":
		key, on = "p:"+m.Channel, true
	case "unsubscribe":
		key = "c:" + m.Channel
	case "punsubscribe":
		key = "p:" + m.Channel
	default:
		return
	}
	n.mu.Lock()
	if on {
		n.confirmed[key] = true
	} else {
		delete(n.confirmed, key)
	}
	n.signalLocked()
	n.mu.Unlock()
}

// dispatch hands a message to its adapter. Handlers never see bad input
// as fatal; a panic would be a bug, and is logged rather than crashing
// the loop.
func (n *node) dispatch(m *goredis.Message) {
	var r route
	var ok bool
	n.mu.RLock()
	if m.Pattern != "" {
		r, ok = n.patterns[m.Pattern]
	} else {
		r, ok = n.channels[m.Channel]
	}
	n.mu.RUnlock()
	if !ok {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("redis: message handler panicked", "channel", m.Channel, "panic", fmt.Sprint(p))
		}
	}()
	r.m.handle(r.kind, m.Channel, m.Payload)
}

// serverCount returns the number of nodes serving a namespace.
func (n *node) serverCount(ctx context.Context, channel string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.RequestTimeout)
	defer cancel()
	count, err := n.numSub(ctx, channel)
	if err != nil {
		return 0, fmt.Errorf("redis: PUBSUB NUMSUB: %w", err)
	}
	return count, nil
}

// numSub returns the number of subscribers of channel (PUBSUB NUMSUB),
// added up over the shards of a Redis cluster, where it is per shard.
func (n *node) numSub(ctx context.Context, channel string) (int, error) {
	cc, ok := n.client.(*goredis.ClusterClient)
	if !ok {
		m, err := n.client.PubSubNumSub(ctx, channel).Result()
		return int(m[channel]), err
	}
	var total atomic.Int64
	err := cc.ForEachShard(ctx, func(ctx context.Context, shard *goredis.Client) error {
		m, err := shard.PubSubNumSub(ctx, channel).Result()
		total.Add(m[channel])
		return err
	})
	return int(total.Load()), err
}

// workQueueLen bounds the handler queue; maxBackoff the wait between two
// attempts to reconnect the subscription.
const (
	workQueueLen = 1024
	maxBackoff   = 100 * time.Millisecond
)

// do queues fn for the node's worker goroutine: code that may run
// application handlers, kept off the receive loop. Nothing is dropped:
// when the queue is full, the receive loop waits for the worker (counted
// in Stats.HandlerQueueWaits), and Redis holds the node's messages
// meanwhile (up to its client-output-buffer-limit for pub/sub clients).
// A handler that waits for other nodes' answers (FetchSockets,
// ServerSideEmitWithAck) while the queue is full therefore waits until
// the queue drains, or times out.
func (n *node) do(fn func()) {
	r := n.cur.Load()
	if r == nil {
		return
	}
	select {
	case r.work <- fn:
		return
	default:
	}
	if c := n.stats.handlerWaits.Add(1); isLogPoint(c) {
		n.log.Warn("redis: handler queue full; reading from Redis waits for the handlers", "total", c)
	}
	select {
	case r.work <- fn:
	case <-r.stop:
	}
}

func (n *node) worker(r *run) {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case fn := <-r.work:
			func() {
				defer func() {
					if p := recover(); p != nil {
						n.log.Error("redis: handler panicked", "panic", fmt.Sprint(p))
					}
				}()
				fn()
			}()
		}
	}
}
