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
//     that many minus one, at most [Options.RequestTimeout].
//
// # Redis faults
//
// The adapter never stops on a Redis error: the subscription connection
// is re-established (with backoff) and its channels resubscribed when
// Redis comes back, and [Adapter.Ready] reports when that is done. Redis
// pub/sub keeps nothing, so while a node cannot reach Redis:
//   - its broadcasts and room operations reach its own sockets only: Emit
//     and friends return an error wrapping the Redis one;
//   - whatever other nodes publish meanwhile never reaches it;
//   - requests in flight (FetchSockets, EmitWithAck, ServerSideEmitWithAck)
//     end with [ErrTimeout] or a Redis error, and the answers it owes
//     others are dropped.
//
// Nothing needs rebuilding afterwards, since no node keeps state about
// another: once resubscribed, the cluster works as before.
package redis
