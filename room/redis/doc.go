// Package redis is a [room.Adapter] that links the hubs of several server
// processes through Redis pub/sub, wire-compatible with socket.io's
// @socket.io/redis-adapter 8.x: Go hubs and Node.js socket.io servers on
// the same Redis (same key prefix) see each other's sockets, rooms and
// broadcasts.
//
// Call [New] with a go-redis client and give the result to the hub, once
// per hub:
//
//	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
//	h := hub.New(&hub.Options{Adapter: redis.New(rdb, nil)})
//
// Then everything a namespace does to its sockets applies to the whole
// cluster: broadcasts with rooms and exceptions (Emit, To, Except,
// socket.Broadcast), EmitWithAck (replies gathered from every node),
// SocketsJoin, SocketsLeave, DisconnectSockets and FetchSockets, and the
// server-to-server events of Namespace.ServerSideEmit,
// ServerSideEmitWithAck and OnServerSideEmit. A broadcast marked Local stays
// on this node. Room membership itself stays in memory on each node (as in
// socket.io): a node asks the others when it needs to know about their
// sockets.
//
// A Go process without a hub reaches the cluster through package
// room/redis/emitter, the counterpart of Node's @socket.io/redis-emitter.
//
// # Sharded pub/sub
//
// [NewSharded] is the same adapter on Redis 7 sharded pub/sub
// (SSUBSCRIBE, SPUBLISH), wire-compatible with @socket.io/redis-adapter's
// createShardedAdapter (socket.io-adapter's ClusterAdapter messages),
// for a Redis Cluster (give it a *goredis.ClusterClient) or a single
// Redis 7:
//
//	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
//	h := hub.New(&hub.Options{Adapter: redis.NewSharded(rdb, nil)})
//
// With key prefix K and namespace N, every message is {uid, nsp, type,
// data}, JSON, or msgpack when it carries binary. Everything goes to
// "K#N#" except answers, which go to the requester's "K#N#uid#", and, in
// the modes [Dynamic] and [DynamicPrivate], broadcasts without ack to
// exactly one room, which go to "K#N#room#": a node subscribes to a
// room's channel while the room has members there. Subscribing to a
// room's channel follows the join without making it wait (as in
// socket.io), so a broadcast published in the instant after a socket
// joins a new room on another node can miss it. The number of nodes is
// the number of subscribers of "K#N#" (PUBSUB SHARDNUMSUB on its master).
// In a cluster each channel is subscribed on the master that owns its
// slot, over one connection per master; when one breaks, it is replaced
// and its channels subscribed again one by one. The publish queue, the
// requests and the fault behaviour are as described below; with a
// cluster, messages are accepted again once every master answers. The
// sharded protocol has no message for [Adapter.AllRooms], which fails
// with [ErrUnsupported].
//
// # Wire protocol
//
// With key prefix K (default "socket.io") and namespace N, as the Node
// adapter does:
//   - broadcasts are published as msgpack [uid, packet, opts] on "K#N#", or
//     on "K#N#room#" when they target exactly one room; every node
//     subscribes to the pattern "K#N#*" and ignores rooms it has no member
//     of. Binary arguments travel inline as msgpack bin values.
//   - requests go to "K-request#N#" (JSON, but msgpack for broadcasts that
//     await acks); responses come back on "K-response#N#" or on the
//     requester's own "K-response#N#uid#".
//   - the number of nodes is the number of subscribers of the request
//     channel (PUBSUB NUMSUB); a request that expects answers waits for
//     that many minus one, at most [Options.RequestTimeout]. After a Redis
//     outage nodes resubscribe one by one, so for RequestTimeout after
//     Redis answers again the count does not drop below the one from
//     before the outage (sampled every second): a request then waits for
//     every node that was there and fails with [ErrTimeout] if one is
//     gone, rather than returning a short result without error.
//
// # Publishing
//
// Each node has one queue of messages to publish (broadcasts, requests,
// and the answers and acks owed to other nodes), emptied by one goroutine
// that sends whatever has accumulated in one pipeline: a round trip per
// batch, not per message. The queue is bounded in bytes
// ([Options.MaxQueueBytes]); nothing is dropped unseen:
//   - Emit and the other broadcasts queue and return without waiting for
//     Redis; they fail at once with [ErrQueueFull] when the queue is full,
//     or [ErrUnavailable] while Redis is known unreachable. A queued
//     broadcast that Redis then fails to take is counted in
//     [Stats].PublishFailed and logged.
//   - room operations (SocketsJoin, SocketsLeave, DisconnectSockets) and
//     server-side events wait until Redis took them (so another node's
//     later broadcast cannot overtake them), at most RequestTimeout.
//   - an answer that cannot be queued or published is counted in
//     [Stats].AnswersDropped and logged; the requesting node's request
//     ends with an error (a timeout), never with a short list.
//   - when the hub shuts down (its last adapter closed), what is queued is
//     still sent, within RequestTimeout, unless Redis is known down;
//   - server-side events and remote disconnects run on one worker
//     goroutine, through a bounded queue: when it is full the receive
//     loop waits for the worker ([Stats].HandlerQueueWaits) instead of
//     dropping anything.
//
// # Redis faults
//
// The adapter never stops on a Redis error: the subscription connection
// is re-established (retried every 100ms at most) and its channels
// resubscribed when Redis comes back, and [Adapter.Ready] reports when
// that is done. Redis pub/sub keeps nothing, so while a node cannot reach
// Redis:
//   - its broadcasts, with or without ack, reach its own sockets, and
//     return an error wrapping [ErrUnavailable] for the other nodes'
//     part, at once (Redis is probed every 50ms, and messages are accepted
//     again as soon as it answers);
//   - whatever other nodes publish meanwhile never reaches it;
//   - requests (FetchSockets, EmitWithAck, ServerSideEmitWithAck) fail
//     with [ErrUnavailable], or, in flight, with [ErrTimeout]; the
//     answers it owes others are counted as dropped.
//
// Nothing needs rebuilding afterwards, since no node keeps state about
// another: once resubscribed, the cluster works as before.
//
// # Redis Streams and recovery on any node
//
// [NewStreams] is the other adapter of this package, wire-compatible with
// @socket.io/redis-streams-adapter 0.3 (Go and Node.js nodes on one stream
// form one cluster), and a [room.SessionStore]: with connection state
// recovery on, a client recovers on whichever node it reconnects to.
//   - Broadcasts and room operations (SocketsJoin, SocketsLeave,
//     DisconnectSockets) are entries of the stream StreamsOptions.StreamName
//     (default "socket.io"; fields uid, nsp, type, data: JSON, or base64
//     msgpack when there is binary), appended with XADD MAXLEN ~ MaxLen
//     (default 10,000). Every node reads the stream in order, its own
//     entries included, and delivers each broadcast with its entry id as
//     offset: every client sees the broadcasts in the stream's order. A
//     broadcast reaches this node's sockets when the node reads it back
//     (a round trip), not at once.
//   - Requests that need answers (FetchSockets, EmitWithAck,
//     ServerSideEmit) are msgpack messages on the pub/sub channel "K#N#",
//     answered on "K#N#uid#", as in the Node adapter; they are not kept.
//   - A disconnected session is kept under SessionKeyPrefix+pid (default
//     "sio:session:"), the base64 of msgpack {sid, pid, rooms, data},
//     expiring after the recovery window; connected sockets' sessions are
//     saved every SessionSaveInterval too, so that a killed node's clients
//     recover (with the state of the last save). Restoring takes the
//     session (GET and DEL in one transaction) if the client's offset is
//     still in the stream, then the namespace replays the namespace's
//     broadcasts after it (XRANGE, page by page, as the client reads them)
//     up to what this node delivered; later ones follow directly.
//
// Retention: a client recovers if it comes back within the namespace's
// MaxDisconnectionDuration and before MaxLen newer entries pushed its
// offset out of the stream. Otherwise, and when Redis lost the session or
// the stream (a restart without persistence), it gets a new session: the
// outcome is counted ([StreamsStats]) and reported to
// StreamsOptions.OnRecovery. While Redis is unreachable, a broadcast
// reaches this node's sockets at once, without offset (those clients
// cannot recover it), and returns an error wrapping [ErrUnavailable]; the
// stream reader retries every 100ms at most and resumes after the last
// entry it read.
//
// Known limits: a session saved periodically may be up to
// SessionSaveInterval old when its node dies; when a node notices a
// disconnection late (after its client recovered elsewhere), the session
// it then saves replaces the newer one until that one is saved again.
package redis
