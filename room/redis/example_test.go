package redis_test

import (
	"context"
	"log"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room/redis"
)

// One node of a cluster: run the same program on several machines (or
// ports) against one Redis, next to Node.js servers using
// @socket.io/redis-adapter if you like.
func Example() {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	h := hub.New(&hub.Options{Adapter: redis.New(rdb, nil)})

	h.OnConnection(func(s *namespace.Socket) {
		s.Join("lobby")
		// Reaches the lobby's sockets on every node, except s.
		_ = s.To("lobby").Emit("joined", s.ID())
	})
	// Messages between the servers themselves.
	h.Of("/").OnServerSideEmit("ping", func(e *namespace.Event) {
		if e.Ack != nil {
			_ = e.Ack("pong from this node")
		}
	})

	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		socks, err := h.Of("/").FetchSockets(ctx) // every node's sockets
		log.Println(len(socks), err)
		answers, err := h.Of("/").ServerSideEmitWithAck(ctx, "ping", "me")
		log.Println(len(answers), err)
	}()
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

// One node of a cluster on Redis Cluster's sharded pub/sub, next to
// Node.js servers using createShardedAdapter (same subscription mode).
func ExampleNewSharded() {
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
	})
	defer rdb.Close()
	h := hub.New(&hub.Options{Adapter: redis.NewSharded(rdb, &redis.ShardedOptions{
		SubscriptionMode: redis.Dynamic, // a channel per room with members on this node
	})})
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("lobby")
		_ = s.To("lobby").Emit("joined", s.ID()) // published on the lobby's own channel
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}

// A cluster on a Redis stream, where a client that loses its connection
// recovers on whichever node it reconnects to, next to Node.js servers
// using @socket.io/redis-streams-adapter if you like.
func ExampleNewStreams() {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	h := hub.New(&hub.Options{
		Adapter: redis.NewStreams(rdb, &redis.StreamsOptions{
			OnRecovery: func(ev redis.RecoveryEvent) {
				log.Println("recovery", ev.Outcome, ev.SID, ev.Err)
			},
		}),
		ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: 2 * time.Minute},
	})
	h.OnConnection(func(s *namespace.Socket) {
		if s.Recovered() {
			return // same id, rooms and data; the missed broadcasts were sent
		}
		s.Join("lobby")
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", h))
}
