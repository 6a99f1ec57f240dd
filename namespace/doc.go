// Package namespace holds the Socket.IO vocabulary: a [Namespace] with its
// middlewares and connection handlers, the [Socket] of each client in it,
// [Event]s and acks, and immutable [Broadcast] values that select sockets
// by room.
//
// Get a namespace from the hub (hub.Of), register OnConnection, and set the
// socket's event handlers there:
//
//	chat := h.Of("/chat")
//	chat.OnConnection(func(s *namespace.Socket) {
//		s.Join("room one")
//		s.On("message", func(m Message) {
//			s.To("room one").Emit("message", m) // everyone in the room but s
//		})
//	})
//
// Handlers of one socket run one at a time, in the order its client sent
// the events; never block in them.
package namespace
