package redis

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The outbox is a node's one queue of messages to publish, in order:
// broadcasts, requests and the answers owed to other nodes. One goroutine
// (the publisher) empties it, sending whatever has accumulated in one
// pipeline, so that publishing costs a round trip per batch, not per
// message. The queue is bounded in bytes (Options.MaxQueueBytes): what
// does not fit is refused with ErrQueueFull, never dropped unseen.
//
// While Redis is known unreachable (the subscription connection broke or
// a pipeline failed), messages are refused at once with ErrUnavailable
// instead of queuing: Redis pub/sub keeps nothing, so they would reach no
// one, and callers must not wait for the client's retries. The publisher
// then probes Redis (PING, every 50ms) and accepts messages again as soon
// as it answers.

// pubItem is one queued message.
type pubItem struct {
	channel string
	payload []byte
	count   bool           // ask PUBSUB NUMSUB of channel in the same pipeline
	done    chan pubResult // nil: nobody waits (the count is in Stats)
	answer  bool           // owed to another node
	// entry, when set, makes the message an entry added to the stream
	// named by channel (XADD, trimmed to about maxLen entries) instead of
	// a PUBLISH: field, value, field, value...
	entry  []string
	maxLen int64
	// ttl > 0 makes the message a SET of key channel to payload expiring
	// after ttl; ttl < 0 a DEL of key channel.
	ttl time.Duration
	// failed, when set, is called (on the publisher goroutine) when a
	// queued message nobody waits for was not published.
	failed func(error)
	// sent, when set, is called (on the publisher goroutine) when Redis
	// took a queued message nobody waits for.
	sent func()
}

type pubResult struct {
	numSub int
	err    error
}

// itemOverhead approximates a queued message's fixed cost in bytes.
const itemOverhead = 64

func (it *pubItem) size() int64 {
	n := len(it.channel) + len(it.payload) + itemOverhead
	for _, f := range it.entry {
		n += len(f)
	}
	return int64(n)
}

// outbox holds the queued messages of a node's current run.
type outbox struct {
	mu    sync.Mutex
	items []pubItem
	bytes int64
	wake  chan struct{} // capacity 1: the publisher has work
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// counters are a node's running totals, read by Adapter.Stats.
type counters struct {
	refused        atomic.Uint64
	failed         atomic.Uint64
	answersDropped atomic.Uint64
	handlerWaits   atomic.Uint64
	published      atomic.Uint64
	batches        atomic.Uint64
}

// enqueue queues it for the publisher. It fails with ErrUnavailable while
// Redis is known down, ErrQueueFull when the queue is over its bound, and
// errNodeStopped when the node is stopped.
func (n *node) enqueue(it pubItem) error {
	r := n.cur.Load()
	if r == nil {
		return errNodeStopped
	}
	if n.down.Load() {
		n.refuse(it)
		return fmt.Errorf("redis: publish on %s: %w", it.channel, ErrUnavailable)
	}
	size := it.size()
	ob := r.out
	ob.mu.Lock()
	if ob.bytes+size > n.opts.MaxQueueBytes {
		ob.mu.Unlock()
		n.refuse(it)
		return fmt.Errorf("redis: publish on %s: %d bytes queued, %d more would exceed %d: %w",
			it.channel, ob.bytes, size, n.opts.MaxQueueBytes, ErrQueueFull)
	}
	ob.items = append(ob.items, it)
	ob.bytes += size
	ob.mu.Unlock()
	select {
	case ob.wake <- struct{}{}:
	default:
	}
	return nil
}

// refuse counts a message that was not queued.
func (n *node) refuse(it pubItem) {
	if it.answer {
		if c := n.stats.answersDropped.Add(1); isLogPoint(c) {
			n.log.Warn("redis: answers to other nodes could not be queued; their requests will time out",
				"channel", it.channel, "total", c)
		}
		return
	}
	n.stats.refused.Add(1)
}

// isLogPoint is true for 1, 2, 4, 8...: a condition that repeats is
// logged at most logarithmically often; Stats has the exact count.
func isLogPoint(c uint64) bool { return bits.OnesCount64(c) == 1 }

// publishAsync queues a message nobody waits for; the error says why it
// could not be queued.
func (n *node) publishAsync(channel string, payload []byte) error {
	return n.enqueue(pubItem{channel: channel, payload: payload})
}

// publishWait queues a message and waits until Redis took it, at most
// RequestTimeout or until ctx ends: for operations whose caller expects
// them published when they return (room operations, server-side events),
// so that another node's later broadcast cannot overtake them.
func (n *node) publishWait(ctx context.Context, channel string, payload []byte) error {
	_, err := n.publishAndCount(ctx, pubItem{channel: channel, payload: payload})
	return err
}

// send queues an answer owed to another node. When it cannot be queued,
// it is counted (Stats.AnswersDropped) and logged: the requester sees an
// error (its request times out) rather than a silently short result.
func (n *node) send(channel string, payload []byte) {
	_ = n.enqueue(pubItem{channel: channel, payload: payload, answer: true})
}

// publishCounted publishes payload on a request channel and returns how
// many nodes subscribe to it (this one included), read in the same
// pipeline as the publish. It waits for Redis, at most RequestTimeout or
// until ctx ends.
func (n *node) publishCounted(ctx context.Context, channel string, payload []byte) (int, error) {
	numSub, err := n.publishAndCount(ctx, pubItem{channel: channel, payload: payload, count: true})
	if err != nil {
		return 0, err
	}
	return n.expectedNodes(channel, numSub), nil
}

func (n *node) publishAndCount(ctx context.Context, it pubItem) (int, error) {
	done := make(chan pubResult, 1)
	it.done = done
	channel := it.channel
	if err := n.enqueue(it); err != nil {
		return 0, err
	}
	t := time.NewTimer(n.opts.RequestTimeout)
	defer t.Stop()
	select {
	case res := <-done:
		return res.numSub, res.err
	case <-t.C:
		return 0, fmt.Errorf("redis: publish on %s: %w", channel, ErrTimeout)
	case <-ctx.Done():
		return 0, fmt.Errorf("redis: publish on %s: %w", channel, ctx.Err())
	}
}

// Batches are bounded so that one pipeline stays a reasonable write.
const (
	maxBatchItems = 1024
	maxBatchBytes = 1 << 20
)

// take removes the next batch from the queue.
func (ob *outbox) take(buf []pubItem) []pubItem {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	var size int64
	k := 0
	for k < len(ob.items) && k < maxBatchItems && (k == 0 || size < maxBatchBytes) {
		size += ob.items[k].size()
		k++
	}
	buf = append(buf[:0], ob.items[:k]...)
	clear(ob.items[:k])
	ob.items = ob.items[k:]
	if len(ob.items) == 0 {
		ob.items = nil // let the backing array go
	}
	ob.bytes -= size
	return buf
}

// publisher empties the outbox, a pipeline per batch, while the run lasts;
// while Redis is down it fails what was queued and probes Redis. Every
// SampleInterval it reads the node counts (see expectedNodes).
func (n *node) publisher(r *run) {
	defer r.wg.Done()
	sample := time.NewTicker(nodeSampleInterval)
	defer sample.Stop()
	var batch []pubItem
	for {
		if n.down.Load() {
			for batch = r.out.take(batch); len(batch) > 0; batch = r.out.take(batch) {
				n.finish(batch, fmt.Errorf("redis: publish: %w", ErrUnavailable))
			}
			if n.probe(r) {
				continue
			}
			t := time.NewTimer(probeInterval)
			select {
			case <-r.stop:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		select {
		case <-r.stop:
			// What was accepted is still sent (the node's last sessions
			// among it), while Redis answers within RequestTimeout.
			ctx, cancel := context.WithTimeout(context.Background(), n.opts.RequestTimeout)
			for batch = r.out.take(batch); len(batch) > 0; batch = r.out.take(batch) {
				if n.down.Load() || ctx.Err() != nil {
					n.finish(batch, errNodeStopped)
				} else {
					n.flush(ctx, r, batch)
				}
			}
			cancel()
			return
		case <-r.out.wake:
			for batch = r.out.take(batch); len(batch) > 0 && !n.down.Load(); batch = r.out.take(batch) {
				n.flush(context.Background(), r, batch) // not cut short by a stop: what was accepted is sent
			}
			if len(batch) > 0 { // went down meanwhile
				n.finish(batch, fmt.Errorf("redis: publish: %w", ErrUnavailable))
			}
		case <-sample.C:
			n.sampleCounts(r)
		}
	}
}

const (
	probeInterval      = 50 * time.Millisecond
	nodeSampleInterval = time.Second
)

// probe pings Redis (every master of a cluster, for the sharded adapter)
// and marks it up when it answers.
func (n *node) probe(r *run) bool {
	ctx, cancel := context.WithTimeout(r.ctx, 250*time.Millisecond)
	defer cancel()
	var err error
	if cc, ok := n.client.(*goredis.ClusterClient); ok && n.mode != "" {
		// Sharded: every master, since each owns some of the channels.
		err = cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			return m.Ping(ctx).Err()
		})
	} else {
		err = n.client.Ping(ctx).Err()
	}
	if err != nil {
		return false
	}
	n.setDown(false, nil)
	return true
}

// flush publishes a batch in one pipeline and reports each message's
// result.
func (n *node) flush(parent context.Context, r *run, batch []pubItem) {
	ctx, cancel := context.WithTimeout(parent, n.opts.RequestTimeout)
	defer cancel()
	// NUMSUB is per shard in a Redis cluster, and SHARDNUMSUB is asked of
	// the channel's master: both outside the pipeline.
	_, cluster := n.client.(*goredis.ClusterClient)
	cluster = cluster || n.mode != ""
	counts := make([]int, len(batch))
	numCmds := make([]*goredis.MapStringIntCmd, len(batch))
	pubCmds := make([]goredis.Cmder, len(batch))
	var errs []error
	if cluster { // NUMSUB is per shard there: added up outside the pipeline
		errs = make([]error, len(batch))
		for i := range batch {
			if batch[i].count {
				counts[i], errs[i] = n.numSub(ctx, batch[i].channel)
			}
		}
	}
	pipe := n.client.Pipeline()
	for i := range batch {
		if batch[i].count && !cluster {
			numCmds[i] = pipe.PubSubNumSub(ctx, batch[i].channel)
		}
		if it := &batch[i]; it.entry != nil {
			pubCmds[i] = pipe.XAdd(ctx, &goredis.XAddArgs{Stream: it.channel, MaxLen: it.maxLen, Approx: true, Values: it.entry})
		} else if it.ttl > 0 {
			pubCmds[i] = pipe.Set(ctx, it.channel, it.payload, it.ttl)
		} else if it.ttl < 0 {
			pubCmds[i] = pipe.Del(ctx, it.channel)
		} else if n.mode != "" {
			pubCmds[i] = pipe.SPublish(ctx, it.channel, it.payload)
		} else {
			pubCmds[i] = pipe.Publish(ctx, it.channel, it.payload)
		}
	}
	_, err := pipe.Exec(ctx)
	n.stats.batches.Add(1)
	for i := range batch {
		e := pubCmds[i].Err()
		if e == nil && numCmds[i] != nil {
			e = numCmds[i].Err()
			counts[i] = int(numCmds[i].Val()[batch[i].channel])
		}
		if e == nil && errs != nil {
			e = errs[i]
		}
		if e != nil {
			e = fmt.Errorf("redis: publish on %s: %w", batch[i].channel, e)
		} else {
			n.stats.published.Add(1)
		}
		n.report(&batch[i], pubResult{counts[i], e})
	}
	if err != nil && r.ctx.Err() == nil && !isRedisReply(err) {
		n.setDown(true, err)
	}
}

// isRedisReply tells an error Redis answered (the connection is fine)
// from a connection failure.
func isRedisReply(err error) bool {
	var re goredis.Error
	return errors.As(err, &re) && !errors.Is(err, context.DeadlineExceeded)
}

// finish reports err for every message of batch.
func (n *node) finish(batch []pubItem, err error) {
	for i := range batch {
		n.report(&batch[i], pubResult{err: err})
	}
}

// report hands a message's result to whoever waits for it, or counts a
// failure nobody waits for.
func (n *node) report(it *pubItem, res pubResult) {
	if it.done != nil {
		it.done <- res // buffered
		return
	}
	if res.err == nil {
		if it.sent != nil {
			it.sent()
		}
		return
	}
	if it.failed != nil {
		it.failed(res.err)
	}
	if it.answer {
		if c := n.stats.answersDropped.Add(1); isLogPoint(c) {
			n.log.Warn("redis: answers to other nodes not delivered; their requests will time out", "err", res.err, "total", c)
		}
		return
	}
	if c := n.stats.failed.Add(1); isLogPoint(c) {
		n.log.Warn("redis: queued messages not delivered to the other nodes", "err", res.err, "total", c)
	}
}

// setDown records whether Redis is unreachable; coming back opens the
// grace period of expectedNodes.
func (n *node) setDown(down bool, why error) {
	if n.down.Swap(down) == down {
		return
	}
	n.countMu.Lock()
	if down {
		n.recovering = true
	} else {
		n.recovering = false
		n.graceUntil = time.Now().Add(n.opts.RequestTimeout)
	}
	n.countMu.Unlock()
	n.mu.Lock()
	n.signalLocked() // for waitSubscribed
	n.mu.Unlock()
	if down {
		n.log.Warn("redis: Redis unreachable; publishing refused until it answers", "err", why)
		if r := n.cur.Load(); r != nil {
			select {
			case r.out.wake <- struct{}{}: // the publisher starts probing
			default:
			}
		}
	} else {
		n.log.Info("redis: Redis reachable again")
	}
}

// sampleCounts reads the number of subscribers of the node's request
// channels, so that expectedNodes knows the cluster's size from before an
// outage.
func (n *node) sampleCounts(r *run) {
	n.mu.RLock()
	var chans []string
	for c, rt := range n.channels {
		if rt.kind == routeRequest || rt.kind == routeShardMain {
			chans = append(chans, c)
		}
	}
	n.mu.RUnlock()
	if len(chans) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, n.opts.RequestTimeout)
	defer cancel()
	for _, c := range chans {
		k, err := n.numSub(ctx, c)
		if err != nil {
			return
		}
		n.expectedNodes(c, k)
	}
}

// expectedNodes returns how many nodes serve channel's namespace, given
// the count Redis reports now (PUBSUB NUMSUB). After an outage, nodes
// resubscribe one by one, so for a grace period (RequestTimeout from
// when Redis answers again) the count is at least what it was before the
// outage: requests then wait for every node that was there, and end with
// ErrTimeout if one is gone, never with a silently short result.
func (n *node) expectedNodes(channel string, now int) int {
	n.countMu.Lock()
	defer n.countMu.Unlock()
	if n.known == nil {
		n.known = make(map[string]int)
	}
	if n.recovering || time.Now().Before(n.graceUntil) {
		now = max(now, n.known[channel])
	}
	n.known[channel] = now
	return now
}

// Stats are a node's running totals: what its publish queue holds, and
// every message it could not deliver, so that none goes unseen. The
// adapters of one hub's namespaces share them.
type Stats struct {
	// QueuedBytes is what the publish queue holds now (Options.MaxQueueBytes
	// bounds it).
	QueuedBytes int64
	// Published counts the messages Redis took; Batches the pipelines that
	// carried them.
	Published, Batches uint64
	// Refused counts the operations that failed at once, with
	// ErrQueueFull or ErrUnavailable returned to their caller.
	Refused uint64
	// PublishFailed counts queued messages Redis did not take (it became
	// unreachable); their callers had already returned.
	PublishFailed uint64
	// AnswersDropped counts answers owed to other nodes (acks, socket
	// lists, counts) that could not be queued or published: the requesting
	// node's request ends with a timeout error.
	AnswersDropped uint64
	// HandlerQueueWaits counts the times the receive loop waited for a
	// full handler queue (server-side events, remote disconnects) instead
	// of dropping work.
	HandlerQueueWaits uint64
}

// Stats returns the node's totals.
func (a *Adapter) Stats() Stats { return a.node.totals() }

func (n *node) totals() Stats {
	s := Stats{
		Published:         n.stats.published.Load(),
		Batches:           n.stats.batches.Load(),
		Refused:           n.stats.refused.Load(),
		PublishFailed:     n.stats.failed.Load(),
		AnswersDropped:    n.stats.answersDropped.Load(),
		HandlerQueueWaits: n.stats.handlerWaits.Load(),
	}
	if r := n.cur.Load(); r != nil {
		r.out.mu.Lock()
		s.QueuedBytes = r.out.bytes
		r.out.mu.Unlock()
	}
	return s
}
