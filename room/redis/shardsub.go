package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// shardSubs keeps the sharded subscriptions (SSUBSCRIBE) of one run of a
// node. In a Redis cluster a sharded channel can only be subscribed on
// the master that owns its slot, so there is a subscription connection
// per master (one in all on a single Redis), each with its own receive
// loop. Which channels the node wants (the namespaces' channels, and the
// rooms' in the dynamic modes) is recorded at once by want and unwant;
// one goroutine (reconcile) brings the connections in line, so that room
// events never wait for Redis.
type shardSubs struct {
	n *node
	r *run

	mu    sync.Mutex
	wants map[string]bool       // channel → wanted
	dirty map[string]struct{}   // channels whose state may differ from wants
	have  map[string]*shardConn // channels subscribed, and where
	conns map[string]*shardConn // by master address ("" on a single Redis)
	wake  chan struct{}         // capacity 1: reconcile has work
}

// shardConn is one subscription connection, to one master.
type shardConn struct {
	client goredis.UniversalClient // what subscribes: the master's client

	mu       sync.Mutex
	ps       *goredis.PubSub
	channels map[string]bool
}

func newShardSubs(n *node, r *run) *shardSubs {
	return &shardSubs{n: n, r: r,
		wants: make(map[string]bool), dirty: make(map[string]struct{}),
		have: make(map[string]*shardConn), conns: make(map[string]*shardConn),
		wake: make(chan struct{}, 1)}
}

// want records that the node subscribes to channels.
func (s *shardSubs) want(channels ...string) { s.set(true, channels) }

// unwant records that the node no longer subscribes to channels.
func (s *shardSubs) unwant(channels ...string) { s.set(false, channels) }

func (s *shardSubs) set(on bool, channels []string) {
	s.mu.Lock()
	for _, c := range channels {
		if on {
			s.wants[c] = true
		} else {
			delete(s.wants, c)
		}
		s.dirty[c] = struct{}{}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// reconcile subscribes and unsubscribes until the connections match what
// is wanted, while the run lasts; what fails (Redis unreachable) is
// retried.
func (s *shardSubs) reconcile() {
	defer s.r.wg.Done()
	failures := 0
	for {
		select {
		case <-s.r.stop:
			return
		case <-s.wake:
		}
		if s.apply() {
			failures = 0
			continue
		}
		failures++
		s.n.backoff(s.r, failures)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// apply handles the dirty channels; false if some failed (they stay
// dirty).
func (s *shardSubs) apply() bool {
	s.mu.Lock()
	todo := make([]string, 0, len(s.dirty))
	for c := range s.dirty {
		todo = append(todo, c)
	}
	s.mu.Unlock()
	ok := true
	for _, c := range todo {
		ctx, cancel := context.WithTimeout(s.r.ctx, s.n.opts.RequestTimeout)
		err := s.applyOne(ctx, c)
		cancel()
		if err != nil {
			ok = false
		}
	}
	return ok
}

func (s *shardSubs) applyOne(ctx context.Context, c string) error {
	s.mu.Lock()
	want := s.wants[c]
	conn := s.have[c]
	delete(s.dirty, c)
	s.mu.Unlock()
	var err error
	switch {
	case want && conn == nil:
		if conn, err = s.connFor(ctx, c); err == nil {
			conn.mu.Lock()
			conn.channels[c] = true
			err = conn.ps.SSubscribe(ctx, c)
			conn.mu.Unlock()
			// Recorded even when the command failed: the connection's
			// receive loop resubscribes it once Redis answers.
			s.mu.Lock()
			s.have[c] = conn
			s.mu.Unlock()
		}
	case !want && conn != nil:
		conn.mu.Lock()
		delete(conn.channels, c)
		err = conn.ps.SUnsubscribe(ctx, c)
		conn.mu.Unlock()
		s.mu.Lock()
		delete(s.have, c)
		s.mu.Unlock()
		if err != nil {
			err = nil // the connection is being replaced, without it
		}
	}
	if err != nil && conn == nil {
		s.mu.Lock()
		s.dirty[c] = struct{}{}
		s.mu.Unlock()
	}
	return err
}

// connFor returns the connection for channel's master, creating it (and
// its receive loop) if needed.
func (s *shardSubs) connFor(ctx context.Context, channel string) (*shardConn, error) {
	client, key := s.n.client, ""
	if cc, ok := s.n.client.(*goredis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, channel)
		if err != nil {
			return nil, err
		}
		client, key = m, m.Options().Addr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[key]; c != nil {
		return c, nil
	}
	select {
	case <-s.r.stop:
		return nil, errNodeStopped
	default:
	}
	c := &shardConn{client: client, ps: client.SSubscribe(s.r.ctx), channels: make(map[string]bool)}
	s.conns[key] = c
	s.r.wg.Add(1) // reconcile, which calls this, holds the group open
	go s.receive(c)
	return c, nil
}

// close closes every connection (at the end of the run).
func (s *shardSubs) close() {
	s.mu.Lock()
	conns := make([]*shardConn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		_ = c.ps.Close()
		c.mu.Unlock()
	}
}

func (c *shardConn) pubsub() *goredis.PubSub {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ps
}

// keys returns the confirmation keys of c's channels.
func (c *shardConn) keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.channels))
	for ch := range c.channels {
		keys = append(keys, "s:"+ch)
	}
	return keys
}

// shardSub is one sharded connection as the receive loop sees it. After
// a failure the connection is replaced and each channel subscribed again
// by a command of its own: one SSUBSCRIBE naming channels of different
// slots is refused by a cluster (go-redis would resubscribe them all in
// one).
type shardSub struct {
	s *shardSubs
	c *shardConn
}

func (x shardSub) current() *goredis.PubSub { return x.c.pubsub() }
func (x shardSub) failed(err error) {
	n := x.s.n
	n.unconfirm(x.c.keys())
	n.log.Warn("redis: subscription connection lost; reconnecting", "err", err)
	n.setDown(true, err)
}
func (x shardSub) unresponsive(*goredis.PubSub) {
	x.s.n.log.Warn("redis: subscription connection unresponsive; replacing it")
	x.s.n.unconfirm(x.c.keys())
	x.s.replace(x.c)
}
func (x shardSub) retry() { x.s.replace(x.c) }

// receive reads one sharded connection while the run lasts.
func (s *shardSubs) receive(c *shardConn) {
	defer s.r.wg.Done()
	s.n.receiveLoop(s.r, shardSub{s, c})
}

// replace swaps c's connection for a new one subscribing c's channels.
func (s *shardSubs) replace(c *shardConn) {
	ps := c.client.SSubscribe(s.r.ctx)
	ctx, cancel := context.WithTimeout(s.r.ctx, s.n.opts.RequestTimeout)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-s.r.stop:
		_ = ps.Close()
		return
	default:
	}
	for ch := range c.channels {
		if err := ps.SSubscribe(ctx, ch); err != nil {
			break // the next read fails too, and replaces it again
		}
	}
	old := c.ps
	c.ps = ps
	_ = old.Close()
}

// unconfirm forgets the confirmations of keys (their connection broke).
func (n *node) unconfirm(keys []string) {
	n.mu.Lock()
	for _, k := range keys {
		delete(n.confirmed, k)
	}
	n.signalLocked()
	n.mu.Unlock()
}

// shardNumSub returns the number of subscribers of a sharded channel
// (PUBSUB SHARDNUMSUB), asked of the master that owns its slot.
func (n *node) shardNumSub(ctx context.Context, channel string) (int, error) {
	var c goredis.UniversalClient = n.client
	if cc, ok := n.client.(*goredis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, channel)
		if err != nil {
			return 0, err
		}
		c = m
	}
	m, err := c.PubSubShardNumSub(ctx, channel).Result()
	return int(m[channel]), err
}
