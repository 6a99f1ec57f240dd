package emitter_test

import (
	"context"
	"log"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/room/redis/emitter"
)

// A worker without a hub tells the cluster's sockets and servers about a
// finished job. (Not run: it needs Redis.)
func Example() {
	ctx := context.Background()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	em := emitter.New(rdb, nil)

	// To the sockets in room "job:42", but not those in "muted".
	if err := em.To("job:42").Except("muted").Emit(ctx, "done", map[string]any{"ok": true}); err != nil {
		log.Print(err)
	}
	// Move the sockets of the room elsewhere, and tell the servers.
	if err := em.In("job:42").SocketsJoin(ctx, "archive"); err != nil {
		log.Print(err)
	}
	if err := em.Of("/admin").ServerSideEmit(ctx, "job-done", 42); err != nil {
		log.Print(err)
	}
}
