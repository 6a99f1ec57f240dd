package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/room"
)

// streamBlock is how long one XREAD waits for new entries.
const streamBlock = 5 * time.Second

// streamReader is the connection a node reads the stream on: a dedicated
// one, closed to interrupt a blocking XREAD when the node stops.
type streamReader struct {
	mu     sync.Mutex
	conn   *goredis.Client // a client of its own: closing it ends a blocking read
	closed bool
}

func (sr *streamReader) get(client goredis.UniversalClient) (goredis.Cmdable, bool) {
	c, ok := client.(*goredis.Client)
	if !ok {
		return client, true // a cluster: XREAD on the client, ended by its BLOCK timeout
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.closed {
		return nil, false
	}
	if sr.conn == nil {
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
		sr.conn = goredis.NewClient(&o)
	}
	return sr.conn, true
}

// reset drops a connection that failed.
func (sr *streamReader) reset() {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.conn != nil {
		_ = sr.conn.Close()
		sr.conn = nil
	}
}

func (sr *streamReader) close() {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	sr.closed = true
	if sr.conn != nil {
		_ = sr.conn.Close()
		sr.conn = nil
	}
}

// readStream reads the stream from its end at start, in order, handing
// each entry to the adapter of its namespace, while the run lasts. Redis
// errors are retried (every 100ms at most); what Redis lost meanwhile (a
// restart without persistence) is lost.
func (n *node) readStream(r *run) {
	defer r.wg.Done()
	st := n.streams
	name := st.opts.StreamName
	last, seen := r.streamStart, r.streamSeen // seen: entries ever added up to last (Redis 7's entries-added)
	failures := 0
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		c, ok := r.reader.get(n.client)
		if !ok {
			return
		}
		var err error
		if last == "" {
			last, seen, err = streamEnd(r.ctx, c, name)
			if err == nil {
				st.pos.Store(&last)
			}
		} else {
			var batch []goredis.XMessage
			batch, err = n.readBatch(r.ctx, c, name, last, &seen)
			for i := range batch {
				m := &batch[i]
				last = m.ID
				n.deliverEntry(m)
			}
			if err == nil && len(batch) == 0 {
				// Nothing new: wait for an entry (or the BLOCK timeout).
				_, err = c.XRead(r.ctx, &goredis.XReadArgs{Streams: []string{name, last}, Count: 1, Block: streamBlock}).Result()
				if errors.Is(err, goredis.Nil) {
					err = nil
				}
			}
		}
		if err == nil {
			if failures > 0 {
				n.log.Info("redis: reading the stream again", "stream", name)
				failures = 0
			}
			continue
		}
		select {
		case <-r.stop:
			return
		default:
		}
		st.rdErrs.Add(1)
		failures++
		if failures == 1 {
			n.log.Warn("redis: reading the stream failed; retrying", "stream", name, "err", err)
		}
		r.reader.reset()
		n.backoff(r, failures)
	}
}

// readBatch reads the entries after last, with the stream's state at the
// same instant (one transaction), to detect entries trimmed (MaxLen)
// before this node read them: Redis 7 counts the entries ever added, and
// *seen those added up to last. When the oldest entry left is after last,
// every entry added after last should be there; those missing were never
// read. Their broadcasts cannot be delivered, so, failing closed, the
// node closes its sockets' connections: their clients reconnect and,
// their offsets gone from the stream, are told they were not recovered.
// Counted in StreamsStats.EntriesMissed and logged.
func (n *node) readBatch(ctx context.Context, c goredis.Cmdable, name, last string, seen *int64) ([]goredis.XMessage, error) {
	st := n.streams
	var xr *goredis.XStreamSliceCmd
	var xi *goredis.XInfoStreamCmd
	_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		xr = p.XRead(ctx, &goredis.XReadArgs{Streams: []string{name, last}, Count: st.opts.ReadCount, Block: -1})
		xi = p.XInfoStream(ctx, name)
		return nil
	})
	if err != nil && !isRedisReply(err) && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	var batch []goredis.XMessage
	if res, err := xr.Result(); err == nil && len(res) > 0 {
		batch = res[0].Messages
	} else if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	info, err := xi.Result()
	if err != nil || info.EntriesAdded == 0 {
		*seen += int64(len(batch))
		return batch, nil // no stream (any more), or before Redis 7: nothing to check
	}
	var lost int64
	if compareIDs(info.FirstEntry.ID, last) > 0 {
		// Every entry left is after last: those added after last and not
		// there were lost (fewer added than there are: the stream was
		// recreated, Redis lost it; what it lost is gone for everyone).
		lost = max(info.EntriesAdded-*seen-info.Length, 0)
		*seen = info.EntriesAdded - info.Length + int64(len(batch))
	} else {
		*seen += int64(len(batch))
	}
	if lost > 0 {
		total := st.missed.Add(1)
		n.log.Warn("redis: stream entries were trimmed before this node read them (MaxLen too small for the load); closing this node's connections so that their clients know",
			"stream", name, "after", last, "lost", lost, "total", total)
		members := st.adapters()
		for _, a := range members {
			a.node.do(func() {
				_ = a.local.DisconnectSockets(context.Background(), room.Options{Flags: room.Flags{Local: true}}, true)
			})
		}
	}
	return batch, nil
}

// initPosition reads where the stream ends, so that the reader delivers
// every entry added after the node started (at most RequestTimeout;
// when Redis does not answer, the reader finds the end itself later).
func (st *streamState) initPosition(ctx context.Context, n *node) (string, int64) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.RequestTimeout)
	defer cancel()
	last, seen, err := streamEnd(ctx, n.client, st.opts.StreamName)
	if err != nil {
		return "", 0
	}
	st.pos.Store(&last)
	return last, seen
}

// streamEnd returns the id of the stream's last entry (0-0 when there is
// no stream) and how many entries were ever added to it (0 before Redis
// 7).
func streamEnd(ctx context.Context, c goredis.Cmdable, name string) (string, int64, error) {
	info, err := c.XInfoStream(ctx, name).Result()
	if err != nil {
		if isRedisReply(err) {
			return "0-0", 0, nil // no such key
		}
		return "", 0, err
	}
	return info.LastGeneratedID, info.EntriesAdded, nil
}

// deliverEntry records m as the position reached, then hands it to its
// namespace's adapter (the order matters to recovering sockets; see
// namespace's replay).
func (n *node) deliverEntry(m *goredis.XMessage) {
	st := n.streams
	id := m.ID
	st.pos.Store(&id)
	st.entries.Add(1)
	nsp, _ := m.Values["nsp"].(string)
	st.mu.RLock()
	a := st.members[nsp]
	st.mu.RUnlock()
	if a == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			n.log.Error("redis: stream entry handler panicked", "id", id, "panic", fmt.Sprint(p))
		}
	}()
	a.onEntry(id, m.Values)
}

// saveSessions saves the sessions of the connected sockets of the node's
// namespaces every SessionSaveInterval, so that they survive this
// process.
func (n *node) saveSessions(r *run) {
	defer r.wg.Done()
	st := n.streams
	t := time.NewTicker(st.opts.SessionSaveInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		members := st.adapters()
		for _, a := range members {
			src, ok := a.ns.(room.SessionSource)
			if !ok {
				continue
			}
			sessions, ttl := src.Sessions()
			if len(sessions) == 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(r.ctx, n.opts.RequestTimeout)
			if err := a.saveSessions(ctx, sessions, ttl); err != nil && r.ctx.Err() == nil {
				n.log.Debug("redis: saving the sessions of connected sockets failed", "namespace", a.name, "err", err)
			}
			cancel()
		}
	}
}

// adapters returns the node's streams adapters.
func (st *streamState) adapters() []*StreamsAdapter {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]*StreamsAdapter, 0, len(st.members))
	for _, a := range st.members {
		out = append(out, a)
	}
	return out
}
