// Package realtime brings the Socket.IO model to Go: an embeddable realtime
// hub, mounted as a net/http handler, that official Socket.IO v4 clients
// (Engine.IO protocol v4, Socket.IO protocol v5) connect to unchanged.
//
// Start with [github.com/go-realtime/realtime/hub]. The seed application
// this project grew from — namespaces /post and /get that greet their own
// clients, a room that sockets join and leave, and messages to the room
// that reach everyone in it except the sender — is a few lines:
//
//	h := hub.New(nil)
//	for _, name := range []string{"/post", "/get"} {
//		h.Of(name).OnConnection(func(s *namespace.Socket) {
//			s.Emit("new message", map[string]string{"mess": "welcome to " + name})
//		})
//	}
//	h.OnConnection(func(s *namespace.Socket) {
//		namespace.Handle(s, "join", func(ctx context.Context, room string) error {
//			s.Join(room)
//			return nil
//		})
//		namespace.Handle(s, "leave", func(ctx context.Context, room string) error {
//			s.Leave(room)
//			return nil
//		})
//		namespace.Handle(s, "message", func(ctx context.Context, m Message) error {
//			return s.To("room one").Emit("message", m) // socket.broadcast.to('room one')
//		})
//	})
//	http.Handle("/socket.io/", h)
//	http.ListenAndServe(":8080", nil)
//
// The packages:
//
//   - hub: the server (namespaces, rooms, events, acks, broadcast); hub/hubtest
//     runs it in memory for tests.
//   - namespace: Namespace, Socket, Event, Broadcast — the Socket.IO vocabulary.
//   - room: room membership and broadcasting behind the Adapter interface.
//   - transport: the Transport/Conn interface; transport/websocket (on
//     gobwas/ws), transport/polling (HTTP long-polling), transport/memory (in
//     process), and transport/engineio, the Engine.IO server on top of them,
//     usable alone as a plain message server.
package realtime
