// Package namespace holds the Socket.IO vocabulary: a [Namespace] with its
// middlewares and connection handlers, the [Socket] of each client in it,
// [Event]s and acks, and immutable [Broadcast] values that select sockets
// by room.
//
// Get a namespace from the hub (hub.Of), register OnConnection, and add the
// socket's listeners there:
//
//	chat := h.Of("/chat")
//	chat.OnConnection(func(s *namespace.Socket) {
//		s.Join("room one")
//		namespace.Handle(s, "message", func(ctx context.Context, m Message) error {
//			return s.To("room one").Emit("message", m) // everyone in the room but s
//		})
//	})
//
// # Listeners
//
// As in socket.io, an event may have several listeners, run in the order
// they were added ([Socket.On], [Socket.Once]); [Socket.Off] removes an
// event's listeners, [Listener.Off] one of them. Listeners take an
// [*Event] (untyped: read its Args, answer its Ack), or are typed with
// the generic [Handle] and [HandleAck], whose shape the compiler checks:
// data that does not fit the type, and errors the handler returns, answer
// the client's ack with {"error": "..."} ([AckError]) and are logged, so a
// client never waits for an ack that will not come. A nil handler panics
// where it is registered.
//
// Every event the client sends goes through the socket's [Socket.OnAny]
// listeners, then its middlewares ([Socket.Use], which may refuse it: the
// refusal goes to [Socket.OnError]), then the event's listeners. Every
// event sent to the client goes through its [Socket.OnAnyOutgoing]
// listeners first. Room changes are reported by [Namespace.OnRoomEvent].
//
// [Socket.Conn] is the connection under the socket (socket.io's
// socket.conn): its transport ("polling", then "websocket" once upgraded),
// and hooks on the upgrade and on every Engine.IO packet received or sent.
//
// Handlers of one socket run one at a time, in the order its client sent
// the events; never block in them.
package namespace
