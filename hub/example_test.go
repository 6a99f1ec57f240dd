package hub_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
)

// The seed's server: namespaces greet their own clients.
func ExampleServer_Of() {
	h := hub.New(nil)
	defer h.Shutdown(context.Background())
	for _, name := range []string{"/post", "/get"} {
		h.Of(name).OnConnection(func(s *namespace.Socket) {
			_ = s.Emit("new message", map[string]string{"mess": "welcome to " + name})
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _ := hubtest.Dial(ctx, h, nil)
	defer conn.Close()
	post, _ := conn.Connect(ctx, "/post", nil)
	ev, _ := post.Expect(ctx, "new message")
	fmt.Println(ev.Name, string(ev.Args.Raw(0)))
	// Output: new message {"mess":"welcome to /post"}
}

// Rooms: socket.To(room) reaches everyone in the room except the sender.
func ExampleSocket_To() {
	h := hub.New(nil)
	defer h.Shutdown(context.Background())
	h.OnConnection(func(s *namespace.Socket) {
		namespace.Handle(s, "message", func(_ context.Context, text string) error {
			return s.To("room one").Emit("message", text)
		})
		s.Join("room one")
		_ = s.Emit("joined", "room one")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	connA, _ := hubtest.Dial(ctx, h, nil)
	defer connA.Close()
	alice, _ := connA.Connect(ctx, "/", nil)
	connB, _ := hubtest.Dial(ctx, h, nil)
	defer connB.Close()
	bob, _ := connB.Connect(ctx, "/", nil)
	_, _ = alice.Expect(ctx, "joined")
	_, _ = bob.Expect(ctx, "joined")

	_ = alice.Emit("message", "hi room")
	ev, _ := bob.Expect(ctx, "message")
	fmt.Println("bob got:", string(ev.Args.Raw(0)))
	// Output: bob got: "hi room"
}

// Acknowledgements: a func(*Event) handler reads its arguments and answers
// with e.Ack (nil when the client asked for no ack).
func ExampleSocket_On() {
	h := hub.New(nil)
	defer h.Shutdown(context.Background())
	h.OnConnection(func(s *namespace.Socket) {
		s.On("add", func(e *namespace.Event) {
			var a, b int
			if e.Args.Scan(&a, &b) == nil && e.Ack != nil {
				_ = e.Ack(a + b)
			}
		})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _ := hubtest.Dial(ctx, h, nil)
	defer conn.Close()
	s, _ := conn.Connect(ctx, "/", nil)
	reply, _ := s.EmitWithAck(ctx, "add", 2, 3)
	var sum int
	_ = reply.Decode(0, &sum)
	fmt.Println(sum)
	// Output: 5
}

// The msgpack parser: clients created with
// parser: require("socket.io-msgpack-parser") (here a hubtest client
// speaking it) exchange the same events, binary arguments as []byte.
func ExampleOptions_parser() {
	h := hub.New(&hub.Options{Parser: hub.MsgpackParser})
	defer h.Shutdown(context.Background())
	h.OnConnection(func(s *namespace.Socket) {
		namespace.HandleAck(s, "size", func(_ context.Context, b []byte) (int, error) { return len(b), nil })
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _ := hubtest.Dial(ctx, h, &hubtest.DialOptions{Parser: hub.MsgpackParser})
	defer conn.Close()
	s, _ := conn.Connect(ctx, "/", nil)
	reply, _ := s.EmitWithAck(ctx, "size", []byte{1, 2, 3})
	fmt.Println(h.Of("/").Name(), "parser", hub.MsgpackParser, "size:", string(reply.Raw(0)))
	// Output: / parser msgpack size: 3
}
