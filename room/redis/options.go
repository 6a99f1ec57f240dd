package redis

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-realtime/realtime/room"
)

// Options configure the adapter. The zero value (or a nil *Options) means
// defaults, which match @socket.io/redis-adapter's.
type Options struct {
	// Key prefixes the Redis channel names; every node of a cluster, Go or
	// Node.js, must use the same. Default "socket.io".
	Key string
	// RequestTimeout bounds how long a request waits for the other nodes'
	// answers (FetchSockets, ServerSideEmitWithAck, AllRooms, and the
	// per-node counts of EmitWithAck), and how long one Redis publish may
	// take. Default 5s.
	RequestTimeout time.Duration
	// UID identifies this node in the messages it publishes; it must be
	// unique in the cluster. Default: 12 random alphanumeric characters.
	UID string
	// HealthCheckInterval: when the subscription connection has been
	// silent this long it is pinged, and replaced if the ping goes
	// unanswered as long again. Default 15s.
	HealthCheckInterval time.Duration
	// MaxQueueBytes bounds the node's queue of messages to publish
	// (broadcasts, requests, and answers owed to other nodes), in bytes of
	// payload. An operation that would exceed it fails with ErrQueueFull;
	// an answer that would is counted in Stats.AnswersDropped (its
	// requester times out). Default 64 MiB.
	MaxQueueBytes int64
	// Logger receives diagnostics (connection loss and recovery, dropped
	// messages). Default: the namespace's logger (a hub's Options.Logger;
	// see room.LoggerOf).
	Logger *slog.Logger
}

// ErrTimeout is returned (wrapped, with how many nodes answered) when some
// nodes did not answer a request within Options.RequestTimeout.
var ErrTimeout = errors.New("redis: timed out waiting for other server nodes")

// ErrQueueFull is returned (wrapped) when the node's publish queue is over
// Options.MaxQueueBytes: Redis does not take messages as fast as they
// come.
var ErrQueueFull = errors.New("redis: publish queue full")

// ErrUnavailable is returned (wrapped) while the node cannot reach Redis:
// local sockets got the broadcast, the other nodes did not.
var ErrUnavailable = errors.New("redis: Redis unreachable")

// errNodeStopped: the node's namespaces are all closed.
var errNodeStopped = fmt.Errorf("redis: node stopped: %w", room.ErrClosed)

func (o *Options) resolve() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Key == "" {
		r.Key = "socket.io"
	}
	if r.RequestTimeout <= 0 {
		r.RequestTimeout = 5 * time.Second
	}
	if r.HealthCheckInterval <= 0 {
		r.HealthCheckInterval = 15 * time.Second
	}
	if r.MaxQueueBytes <= 0 {
		r.MaxQueueBytes = 64 << 20
	}
	return r
}

const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newUID returns n random alphanumeric characters.
func newUID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	for i, c := range b {
		b[i] = uidAlphabet[int(c)%len(uidAlphabet)]
	}
	return string(b)
}

// SubscriptionMode says which sharded channels a node of [NewSharded]
// subscribes to, as @socket.io/redis-adapter's createShardedAdapter
// option of the same name. Every node of a cluster, Go or Node.js, must
// use the same mode.
type SubscriptionMode string

const (
	// Static: two channels per namespace (the namespace's and the node's
	// own for answers); every broadcast goes to every node.
	Static SubscriptionMode = "static"
	// Dynamic (the default): besides those, a channel per public room
	// with members on this node; a broadcast to exactly one public room
	// (without ack) is published on that room's channel, so it reaches
	// only the nodes where the room has members. A room whose name is 20
	// characters long (the length of socket ids) is treated as private.
	Dynamic SubscriptionMode = "dynamic"
	// DynamicPrivate: as Dynamic, and private rooms (each socket's own
	// room) get channels too: one subscription per socket.
	DynamicPrivate SubscriptionMode = "dynamic-private"
)

// ShardedOptions configure [NewSharded]. The zero value (or a nil
// *ShardedOptions) means defaults, which match createShardedAdapter's.
type ShardedOptions struct {
	// Options are the adapter's common options; Key is Node's
	// channelPrefix (default "socket.io").
	Options
	// SubscriptionMode; default Dynamic.
	SubscriptionMode SubscriptionMode
}

// ErrUnsupported is returned (wrapped) by the operations the sharded
// protocol has no message for (AllRooms).
// It matches errors.ErrUnsupported too.
var ErrUnsupported = fmt.Errorf("redis: not supported by the sharded adapter: %w", errors.ErrUnsupported)
