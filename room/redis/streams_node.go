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
	last := ""
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
			last, err = streamEnd(r.ctx, c, name)
			if err == nil {
				st.pos.Store(&last)
			}
		} else {
			var res []goredis.XStream
			res, err = c.XRead(r.ctx, &goredis.XReadArgs{Streams: []string{name, last}, Count: st.opts.ReadCount, Block: streamBlock}).Result()
			if errors.Is(err, goredis.Nil) {
				err = nil
			}
			for _, s := range res {
				for i := range s.Messages {
					m := &s.Messages[i]
					last = m.ID
					n.deliverEntry(m)
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

// streamEnd returns the id of the stream's last entry, 0-0 when empty.
func streamEnd(ctx context.Context, c goredis.Cmdable, name string) (string, error) {
	msgs, err := c.XRevRangeN(ctx, name, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
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
		st.mu.RLock()
		members := make([]*StreamsAdapter, 0, len(st.members))
		for _, a := range st.members {
			members = append(members, a)
		}
		st.mu.RUnlock()
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
