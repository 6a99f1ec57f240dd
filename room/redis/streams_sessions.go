package redis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/room"
)

// Sessions are kept as @socket.io/redis-streams-adapter keeps them, so
// that Go and Node.js nodes restore each other's: under
// SessionKeyPrefix+pid, the base64 of the msgpack map {sid, pid, rooms,
// data}, expiring after the recovery window.

// wireSession is a kept session.
type wireSession struct {
	SID   string          `json:"sid"`
	PID   string          `json:"pid"`
	Rooms roomList        `json:"rooms"`
	Data  json.RawMessage `json:"data"`
}

func encodeSession(s room.Session) (string, error) {
	// With the socket's own id room, as a Node.js node keeps it (its
	// restore matches broadcasts against these rooms).
	rooms := append([]string{s.SID}, slices.DeleteFunc(slices.Clone(s.Rooms), func(r string) bool { return r == s.SID })...)
	j, err := json.Marshal(wireSession{SID: s.SID, PID: s.PID, Rooms: rooms, Data: rawOr(s.Data, "null")})
	if err != nil {
		return "", err
	}
	mp, err := msgpack.AppendFromJSON(nil, j, nil)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(mp), nil
}

func decodeSession(v string) (*room.Session, error) {
	mp, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	j, _, err := decodeJSON(mp)
	if err != nil {
		return nil, err
	}
	var ws wireSession
	if err := json.Unmarshal(j, &ws); err != nil {
		return nil, err
	}
	// A Node.js node keeps the socket's own id among its rooms.
	rooms := slices.DeleteFunc([]string(ws.Rooms), func(r string) bool { return r == ws.SID })
	return &room.Session{SID: ws.SID, PID: ws.PID, Rooms: rooms, Data: ws.Data}, nil
}

func (a *StreamsAdapter) sessionKey(pid string) string { return a.st.opts.SessionKeyPrefix + pid }

// PersistSession implements [room.SessionStore]: SET with an expiry of
// ttl, queued for the node's publisher (in order with its broadcasts,
// within Options.MaxQueueBytes, and still sent when the hub shuts down).
// It returns once queued; a SET Redis then refuses is counted in
// StreamsStats.SessionSaveFailed.
func (a *StreamsAdapter) PersistSession(_ context.Context, s room.Session, ttl time.Duration) error {
	v, err := encodeSession(s)
	if err != nil {
		return fmt.Errorf("redis: saving a session: %w", err)
	}
	st := a.st
	err = a.node.enqueue(pubItem{channel: a.sessionKey(s.PID), payload: []byte(v), ttl: max(ttl, time.Millisecond),
		sent:   func() { st.saved.Add(1) },
		failed: func(error) { st.saveFailed.Add(1) }})
	if err != nil {
		st.saveFailed.Add(1)
		return fmt.Errorf("redis: saving a session: %w", err)
	}
	return nil
}

// saveSessions writes sessions in one pipeline.
func (a *StreamsAdapter) saveSessions(ctx context.Context, sessions []room.Session, ttl time.Duration) error {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	pipe := a.node.client.Pipeline()
	n := 0
	var errs []error
	for _, s := range sessions {
		v, err := encodeSession(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pipe.Set(ctx, a.sessionKey(s.PID), v, ttl)
		n++
	}
	if n > 0 {
		cmds, err := pipe.Exec(ctx)
		ok := 0
		for _, c := range cmds {
			if c.Err() == nil {
				ok++
			}
		}
		a.st.saved.Add(uint64(ok))
		a.st.saveFailed.Add(uint64(n - ok))
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redis: saving sessions: %w", err)
	}
	return nil
}

// DropSession implements [room.SessionStore]: DEL, queued as
// PersistSession's SET is.
func (a *StreamsAdapter) DropSession(_ context.Context, pid string) error {
	if err := a.node.enqueue(pubItem{channel: a.sessionKey(pid), ttl: -1}); err != nil {
		return fmt.Errorf("redis: deleting a session: %w", err)
	}
	return nil
}

// RestoreSession implements [room.SessionStore]: it takes the session
// (GET and DEL in one transaction) if offset is still an entry of the
// stream, and reports the outcome to Options.OnRecovery.
func (a *StreamsAdapter) RestoreSession(ctx context.Context, pid, offset string) (*room.Session, error) {
	s, err := a.restore(ctx, pid, offset)
	ev := RecoveryEvent{Namespace: a.name, PID: pid, Err: err}
	switch {
	case err == nil:
		ev.Outcome, ev.SID = Recovered, s.SID
		a.st.recovered.Add(1)
	case errors.Is(err, room.ErrNoSession):
		ev.Outcome = RecoveryExpired
		a.st.expired.Add(1)
	default:
		ev.Outcome = RecoveryFailed
		a.st.failed.Add(1)
		a.node.log.Warn("redis: restoring a session failed", "namespace", a.name, "err", err)
	}
	if fn := a.st.opts.OnRecovery; fn != nil {
		fn(ev)
	}
	return s, err
}

func (a *StreamsAdapter) restore(ctx context.Context, pid, offset string) (*room.Session, error) {
	if !offsetPattern.MatchString(offset) {
		return nil, fmt.Errorf("redis: offset %q: %w", offset, room.ErrNoSession)
	}
	key := a.sessionKey(pid)
	var get *goredis.StringCmd
	var at *goredis.XMessageSliceCmd
	_, err := a.node.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		at = p.XRangeN(ctx, a.st.opts.StreamName, offset, offset, 1)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: restoring a session: %w", err)
	}
	raw, gerr := get.Result()
	if errors.Is(gerr, goredis.Nil) {
		return nil, fmt.Errorf("redis: session %s: %w", pid, room.ErrNoSession)
	}
	if gerr != nil {
		return nil, fmt.Errorf("redis: restoring a session: %w", gerr)
	}
	msgs, xerr := at.Result()
	if xerr != nil {
		return nil, fmt.Errorf("redis: restoring a session: %w", xerr)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("redis: offset %s is not in the stream: %w", offset, room.ErrNoSession)
	}
	s, err := decodeSession(raw)
	if err != nil {
		return nil, fmt.Errorf("redis: reading session %s: %w", pid, err)
	}
	if s.PID != pid {
		return nil, fmt.Errorf("redis: session %s holds another private id: %w", pid, room.ErrNoSession)
	}
	return s, nil
}

// Position implements [room.SessionStore]: the id of the last stream entry
// this node read.
func (a *StreamsAdapter) Position() string { return a.st.position() }

// Compare implements [room.SessionStore]: stream ids in order.
func (a *StreamsAdapter) Compare(x, y string) int { return compareIDs(x, y) }

// History implements [room.SessionStore]: the namespace's broadcasts in
// the stream after offset after, up to upTo (XRANGE, max entries at a
// time).
func (a *StreamsAdapter) History(ctx context.Context, after, upTo string, max int) ([]room.Stored, string, error) {
	if compareIDs(after, upTo) >= 0 {
		return nil, after, nil
	}
	msgs, err := a.node.client.XRangeN(ctx, a.st.opts.StreamName, nextID(after), upTo, int64(max)).Result()
	if err != nil {
		a.st.failed.Add(1)
		if fn := a.st.opts.OnRecovery; fn != nil {
			fn(RecoveryEvent{Namespace: a.name, Outcome: RecoveryFailed, Err: err})
		}
		return nil, after, fmt.Errorf("redis: reading the stream: %w", err)
	}
	var out []room.Stored
	for i := range msgs {
		m := &msgs[i]
		if nsp, _ := m.Values["nsp"].(string); nsp != a.name {
			continue
		}
		if typ, _ := m.Values["type"].(string); typ != "3" {
			continue
		}
		raw, _ := m.Values["data"].(string)
		p, opts, withAck, err := a.broadcastEntry(raw)
		if err != nil || withAck {
			continue
		}
		p.Offset = m.ID
		out = append(out, room.Stored{Packet: p, Opts: opts})
	}
	next := upTo
	if len(msgs) == max {
		next = msgs[len(msgs)-1].ID
	}
	return out, next, nil
}
