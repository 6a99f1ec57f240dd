package hubtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
)

// A chat server's handlers, tested with two in-memory clients: no network,
// no sleeps.
func Example() {
	h := hub.New(nil)
	defer h.Shutdown(context.Background())
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("lobby") // done when Connect returns
		namespace.Handle(s, "join", func(_ context.Context, room string) error { s.Join(room); return nil })
		s.On("say", func(e *namespace.Event) {
			var room, text string
			if e.Args.Scan(&room, &text) == nil {
				_ = s.To(room).Emit("said", text)
			}
		})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	alice, _ := hubtest.Dial(ctx, h, nil)
	bob, _ := hubtest.Dial(ctx, h, nil)
	a, _ := alice.Connect(ctx, "/", nil)
	b, _ := bob.Connect(ctx, "/", nil)

	_ = b.Emit("join", "kitchen")
	_ = bob.Sync(ctx) // bob's "join" handler has run
	_ = a.Emit("say", "kitchen", "tea?")
	_ = a.Emit("say", "lobby", "hello")

	ev, _ := b.Expect(ctx, "said")
	var text string
	_ = ev.Args.Decode(0, &text)
	fmt.Println("bob heard:", text)
	ev, _ = b.ExpectMatch(ctx, "said", func(e *hubtest.Event) bool {
		var t string
		return e.Args.Decode(0, &t) == nil && t == "hello"
	})
	fmt.Println("bob heard the lobby too:", ev != nil)
	fmt.Println("alice heard nothing:", a.ExpectNone("said", 50*time.Millisecond) == nil)
	// Output:
	// bob heard: tea?
	// bob heard the lobby too: true
	// alice heard nothing: true
}
