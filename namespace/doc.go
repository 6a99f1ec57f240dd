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
//
// # Which calls wait
//
// Each client connection has a queue of what waits to be written to it,
// bounded in bytes (the hub's MaxQueueBytes). What is sent to one socket can
// wait for the client to read; what is sent to many never waits:
//
//   - [Socket.Emit], [Socket.EmitWithAck] and an event's [AckFunc] wait
//     while the client's queue is full (the transport holds such producers
//     back short of the bound), until the client has read enough or the
//     socket disconnects (EmitWithAck: or its ctx ends). A
//     client that keeps reading thus gets every event of any burst, in
//     order. Called from a handler, the wait holds up the socket's next
//     events (and those of the client's other namespaces) meanwhile; emit
//     from another goroutine when that matters. EmitWithAck then waits for
//     the acknowledgement.
//   - A recovered socket's missed broadcasts (see [Recovery]) are sent the
//     same way, as the client reads them, before the connection handlers
//     run.
//   - [Socket.Volatile] emits never wait: the event is dropped when the
//     client is not ready for it (counted in the hub's Stats).
//   - Broadcasts ([Broadcast.Emit], [Namespace.Emit], [RemoteSocket.Emit])
//     never wait for a client: one whose queue is at its bound is
//     disconnected with [ReasonTransportError], and volatile broadcasts skip
//     clients that are not ready. [Broadcast.EmitWithAck] waits only for the
//     acknowledgements.
package namespace
