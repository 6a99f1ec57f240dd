package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
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
//   - pair: two listeners emit pair-reply("a") and pair-reply("b");
//     off-first removes the first with its Listener.Off;
//   - join-rooms(rooms) and leave-rooms(rooms) call the variadic Join and
//     Leave with every room; rooms(ack) answers the socket's rooms, and
//     room-events(prefix, ack) the namespace's room events
//     (OnRoomEvent) for rooms starting with prefix, as "kind room" (with
//     " self" when the socket is the one that joined or left);
//   - PrependAnyOutgoing records each outgoing event's name before
//     OnAnyOutgoing does, in a list of its own: outgoing-first(ack)
//     answers it; off-any-outgoing removes both (OffAnyOutgoing);
//   - transport(ack) answers the connection's transport (Socket.Conn) now
//     and when the socket connected, and what its OnUpgrade hook was
//     called with ("" if not): {now, atConnect, upgraded};
//   - sync(ack) answers "ok": a barrier, since a socket's handlers run in
//     order.
func newEvents(logger *slog.Logger) *hub.Server {
	h := hub.New(pathOptions(logger, "/events/"))
	ns := h.Of("/")
	var roomLog eventRecord
	if err := ns.OnRoomEvent(func(e room.Event) {
		roomLog.add(&roomLog.in, string(e.Kind)+" "+e.Room+" "+e.ID)
	}); err != nil {
		panic(err) // the in-memory adapter reports room events
	}
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

		first := s.On("pair", func(*namespace.Event) { _ = s.Emit("pair-reply", "a") })
		s.On("pair", func(*namespace.Event) { _ = s.Emit("pair-reply", "b") })
		s.On("off-first", func(*namespace.Event) { first.Off() })

		namespace.Handle(s, "join-rooms", func(_ context.Context, rooms []string) error { s.Join(rooms...); return nil })
		namespace.Handle(s, "leave-rooms", func(_ context.Context, rooms []string) error { s.Leave(rooms...); return nil })
		namespace.HandleAck(s, "rooms", func(context.Context, struct{}) ([]string, error) { return s.Rooms(), nil })
		namespace.HandleAck(s, "room-events", func(_ context.Context, prefix string) ([]string, error) {
			out := []string{}
			for _, line := range roomLog.list(&roomLog.in) {
				kind, rest, _ := strings.Cut(line, " ")
				name, id, _ := strings.Cut(rest, " ")
				if !strings.HasPrefix(name, prefix) {
					continue
				}
				entry := kind + " " + name
				if id == s.ID() {
					entry += " self"
				}
				out = append(out, entry)
			}
			return out, nil
		})

		var firstOut eventRecord
		s.PrependAnyOutgoing(func(e *namespace.Event) { firstOut.add(&firstOut.out, e.Name) })
		s.On("outgoing-first", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(map[string][]string{"first": firstOut.list(&firstOut.out), "all": rec.list(&rec.out)})
			}
		})
		s.On("off-any-outgoing", func(*namespace.Event) { s.OffAnyOutgoing() })

		// The hook first: an upgrade it misses has already set the
		// transport that atConnect reads.
		var upgradedTo atomic.Value
		upgradedTo.Store("")
		s.Conn().OnUpgrade(func(transport string) { upgradedTo.Store(transport) })
		atConnect := s.Conn().Transport()
		namespace.HandleAck(s, "transport", func(context.Context, struct{}) (map[string]string, error) {
			return map[string]string{"now": s.Conn().Transport(), "atConnect": atConnect, "upgraded": upgradedTo.Load().(string)}, nil
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
