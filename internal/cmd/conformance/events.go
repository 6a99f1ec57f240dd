package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// newEvents returns the Socket.IO server mounted at /events/, which
// exercises the socket's event API for interop/events.test.mjs:
//
//   - a connection middleware joins the room named by the handshake's auth
//     {"room": R}; the connection handler then broadcasts welcome(id) to R
//     (it reaches the client only if the middleware's Join took effect);
//   - double: two listeners, each emits double-reply("first"), then
//     double-reply("second");
//   - once: a Once listener emits once-reply;
//   - gone emits gone-reply until off-gone removes its listeners (Off);
//   - a socket middleware (Use) refuses forbidden (whose listener would emit
//     forbidden-ran), panics on panic, and refuses guarded after answering
//     its ack with {"denied": "guarded"}; the OnError listener emits
//     refused(message);
//   - PrependAny and OnAny record "pre:NAME" and "any:NAME" for each
//     incoming event; incoming(ack) answers the record, off-any removes
//     them (OffAny);
//   - OnAnyOutgoing records the name of each event sent to the client;
//     tick(n) emits tock n times and outgoing(ack) answers the record;
//   - add([a, b], ack) → a+b, typed with namespace.HandleAck ({"error": ...} when
//     the data is not a list of numbers or not two of them);
//   - ask(question) asks the client question(question) with an ack, decoded
//     as an int by namespace.EmitWithAck; the reply comes back as answer(n*2), a
//     failure as answer-error(message);
//   - sync(ack) answers "ok": a barrier, since a socket's handlers run in
//     order.
func newEvents(logger *slog.Logger) *hub.Server {
	h := hub.New(pathOptions(logger, "/events/"))
	ns := h.Of("/")
	ns.Use(func(s *namespace.Socket) error {
		if r := authRoom(s); r != "" {
			s.Join(r)
		}
		return nil
	})
	ns.OnConnection(func(s *namespace.Socket) {
		var rec eventRecord
		s.OnAnyOutgoing(func(e *namespace.Event) { rec.add(&rec.out, e.Name) })
		if r := authRoom(s); r != "" {
			_ = ns.To(r).Emit("welcome", s.ID())
		}

		s.On("double", func(*namespace.Event) { _ = s.Emit("double-reply", "first") })
		s.On("double", func(*namespace.Event) { _ = s.Emit("double-reply", "second") })
		s.Once("once", func(*namespace.Event) { _ = s.Emit("once-reply") })
		s.On("gone", func(*namespace.Event) { _ = s.Emit("gone-reply") })
		s.On("off-gone", func(*namespace.Event) { s.Off("gone") })

		s.Use(func(e *namespace.Event) error {
			switch e.Name {
			case "forbidden":
				return errors.New("forbidden event")
			case "panic":
				panic("middleware panic")
			case "guarded":
				if e.Ack != nil {
					_ = e.Ack(map[string]string{"denied": e.Name})
				}
				return errors.New("guarded event")
			}
			return nil
		})
		s.OnError(func(err error) { _ = s.Emit("refused", err.Error()) })
		s.On("forbidden", func(*namespace.Event) { _ = s.Emit("forbidden-ran") })

		s.PrependAny(func(e *namespace.Event) { rec.add(&rec.in, "pre:"+e.Name) })
		s.OnAny(func(e *namespace.Event) { rec.add(&rec.in, "any:"+e.Name) })
		s.On("incoming", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(rec.list(&rec.in))
			}
		})
		s.On("off-any", func(*namespace.Event) { s.OffAny() })

		namespace.Handle(s, "tick", func(_ context.Context, n int) error {
			for range n {
				_ = s.Emit("tock")
			}
			return nil
		})
		s.On("outgoing", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(rec.list(&rec.out))
			}
		})

		namespace.HandleAck(s, "add", func(_ context.Context, xs []float64) (float64, error) {
			if len(xs) != 2 {
				return 0, errors.New("add takes two numbers")
			}
			return xs[0] + xs[1], nil
		})

		namespace.Handle(s, "ask", func(_ context.Context, question string) error {
			go func() {
				ctx, cancel := context.WithTimeout(s.Context(), 10*time.Second)
				defer cancel()
				n, err := namespace.EmitWithAck[int](ctx, s, "question", question)
				if err != nil {
					_ = s.Emit("answer-error", err.Error())
					return
				}
				_ = s.Emit("answer", n*2)
			}()
			return nil
		})

		namespace.HandleAck(s, "sync", func(context.Context, struct{}) (string, error) { return "ok", nil })
	})
	return h
}

// authRoom is the room named by the handshake's auth {"room": R}, or "".
func authRoom(s *namespace.Socket) string {
	var auth struct {
		Room string `json:"room"`
	}
	if raw := s.Handshake().Auth; len(raw) > 0 {
		_ = json.Unmarshal(raw, &auth)
	}
	return auth.Room
}

// eventRecord is what one socket's catch-all listeners saw.
type eventRecord struct {
	mu  sync.Mutex
	in  []string
	out []string
}

func (r *eventRecord) add(list *[]string, name string) {
	r.mu.Lock()
	*list = append(*list, name)
	r.mu.Unlock()
}

func (r *eventRecord) list(list *[]string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, *list...)
}
