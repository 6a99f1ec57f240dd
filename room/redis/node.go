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
	mode   SubscriptionMode // "" for the classic pub/sub adapter

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

// NewSharded is [New] on Redis 7 sharded pub/sub (SSUBSCRIBE, SPUBLISH),
// wire-compatible with @socket.io/redis-adapter's createShardedAdapter:
// the adapter factory for hub.Options.Adapter, once per hub. client may be
// a *goredis.ClusterClient: each channel is then subscribed on the master
// that owns its slot, one subscription connection per master. A nil opts
// means defaults (SubscriptionMode Dynamic).
func NewSharded(client goredis.UniversalClient, opts *ShardedOptions) func(room.Local) room.Adapter {
	var o ShardedOptions
	if opts != nil {
		o = *opts
	}
	mode := o.SubscriptionMode
	switch mode {
	case Static, Dynamic, DynamicPrivate:
	default:
		mode = Dynamic
	}
	f := &factory{client: client, opts: o.Options.resolve(), mode: mode}
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
	n.mode = f.mode
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
	kind    int  // routeBroadcast, routeRequest (counted for expectedNodes), routeResponse, routeShard...
	shard   bool // a sharded channel (SSUBSCRIBE)
}

func (s sub) key() string {
	if s.shard {
		return "s:" + s.name
	}
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
	routeShardMain // sharded: the namespace's channel (requests and broadcasts)
	routeShardRoom // sharded: a room's channel
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
	mode   SubscriptionMode // "" for classic pub/sub; else sharded

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
	ps     *goredis.PubSub // guarded by node.psMu; not for a sharded node
	shards *shardSubs      // a sharded node's
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
	if n.mode != "" {
		n.mu.Lock()
		names := make([]string, 0, len(subs))
		for _, s := range subs {
			n.channels[s.name] = route{a, s.kind}
			names = append(names, s.name)
		}
		n.mu.Unlock()
		n.life.Unlock()
		r.shards.want(names...)
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestTimeout)
		defer cancel()
		if err := n.waitSubscribed(ctx, a); err != nil {
			n.log.Warn("redis: could not subscribe yet; the subscriptions are retried until Redis answers",
				"namespace", a.nspName(), "err", err)
		}
		return
	}
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
	if n.mode != "" {
		chans := a.(*Adapter).shardChannels()
		n.mu.Lock()
		for _, c := range chans {
			delete(n.channels, c)
		}
		n.mu.Unlock()
		n.users--
		r := n.cur.Load()
		if n.users > 0 {
			n.life.Unlock()
			r.shards.unwant(chans...)
			return
		}
		n.cur.Store(nil)
		n.life.Unlock()
		n.shutdown(r)
		return
	}
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
	if n.mode != "" {
		r.shards = newShardSubs(n, r)
	} else {
		r.ps = n.client.Subscribe(r.ctx) // no channels yet: connects on first use
	}
	n.mu.Lock()
	clear(n.confirmed) // a new connection
	n.signalLocked()
	n.mu.Unlock()
	n.cur.Store(r)
	r.wg.Add(3)
	if r.shards != nil {
		go r.shards.reconcile()
	} else {
		go n.receive(r)
	}
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
	if r.shards != nil {
		r.shards.close()
	} else {
		n.psMu.Lock()
		ps := r.ps
		n.psMu.Unlock()
		_ = ps.Close()
	}
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

// subConn is a subscription connection as a receive loop sees it: the
// classic adapter's one connection, or one of the sharded adapter's (a
// connection per master).
type subConn interface {
	// current is the connection to read now.
	current() *goredis.PubSub
	// failed is called on the first read error of an outage.
	failed(err error)
	// unresponsive replaces a connection that did not answer a ping.
	unresponsive(old *goredis.PubSub)
	// retry is called after each backoff of an outage.
	retry()
}

// classicConn is the classic adapter's one subscription connection.
type classicConn struct {
	n *node
	r *run
}

func (c classicConn) current() *goredis.PubSub { return c.n.pubsub(c.r) }
func (c classicConn) failed(err error)         { c.n.lost(err) }
func (c classicConn) unresponsive(old *goredis.PubSub) {
	c.n.replace(c.r, old, errors.New("no answer to a ping"))
}
func (c classicConn) retry() {} // go-redis reconnects and resubscribes on the next read

// receive is the loop reading the classic adapter's subscription
// connection.
func (n *node) receive(r *run) {
	defer r.wg.Done()
	n.receiveLoop(r, classicConn{n, r})
}

// receiveLoop reads a subscription connection until the run stops: it
// dispatches messages, tracks subscription confirmations, checks the
// connection's health (silent for HealthCheckInterval: ping; silent again:
// replace) and rides out Redis outages.
func (n *node) receiveLoop(r *run, c subConn) {
	failures := 0
	pinged := false
	for {
		ps := c.current()
		msg, err := ps.ReceiveTimeout(r.ctx, n.opts.HealthCheckInterval)
		if err != nil {
			select {
			case <-r.stop:
				return
			default:
			}
			if ps != c.current() { // replaced meanwhile
				continue
			}
			var oe *net.OpError
			if errors.As(err, &oe) && oe.Op == "read" && oe.Timeout() && failures == 0 {
				if pinged {
					c.unresponsive(ps)
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
				c.failed(err)
			}
			n.backoff(r, failures)
			c.retry()
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
	case "ssubscribe":
		key, on = "s:"+m.Channel, true
	case "sunsubscribe":
		key = "s:" + m.Channel
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
	if n.mode != "" {
		return n.shardNumSub(ctx, channel)
	}
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
