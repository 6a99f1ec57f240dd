package namespace_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
)

// A typed handler: the client's argument is decoded into the handler's
// type, and its result answers the client's ack. Data that does not fit,
// or an error, answers {"error": ...}.
func ExampleHandleAck() {
	type Point struct {
		X int `json:"x"`
		Y int `json:"y"`
	}
	h := hub.New(nil)
	defer h.Shutdown(context.Background())
	h.OnConnection(func(s *namespace.Socket) {
		namespace.HandleAck(s, "distance", func(ctx context.Context, p Point) (int, error) {
			if p.X < 0 || p.Y < 0 {
				return 0, errors.New("outside the board")
			}
			return p.X + p.Y, nil
		})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _ := hubtest.Dial(ctx, h, nil)
	defer conn.Close()
	s, _ := conn.Connect(ctx, "/", nil)
	for _, arg := range []any{Point{3, 4}, Point{-1, 0}, map[string]any{"x": "three"}} {
		reply, _ := s.EmitWithAck(ctx, "distance", arg)
		fmt.Println(string(reply.Raw(0)))
	}
	// Output:
	// 7
	// {"error":"outside the board"}
	// {"error":"namespace: argument 0 (Point.x): want number, got string"}
}

// Several listeners per event, and a per-event middleware whose refusals
// reach the socket's error listeners.
func ExampleSocket_Use() {
	h := hub.New(nil)
	defer h.Shutdown(context.Background())
	refused := make(chan error, 1)
	h.OnConnection(func(s *namespace.Socket) {
		s.Use(func(e *namespace.Event) error {
			if e.Name == "admin" {
				return errors.New("unauthorized event")
			}
			return nil
		})
		s.OnError(func(err error) { refused <- err })
		s.On("hello", func(e *namespace.Event) { fmt.Println("first listener") })
		s.On("hello", func(e *namespace.Event) { fmt.Println("second listener") })
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _ := hubtest.Dial(ctx, h, nil)
	defer conn.Close()
	s, _ := conn.Connect(ctx, "/", nil)
	_ = s.Emit("hello")
	_ = s.Emit("admin")
	_ = conn.Sync(ctx)
	fmt.Println(<-refused)
	// Output:
	// first listener
	// second listener
	// unauthorized event
}
