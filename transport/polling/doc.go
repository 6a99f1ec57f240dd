// Package polling implements the Engine.IO v4 HTTP long-polling transport.
//
// Start with [New], which returns a [Transport]. The Engine.IO server calls
// [Transport.Accept] for the handshake request, queues the open packet with
// [Conn.Send], calls [Conn.Start], and then passes that same request, and
// every later request of the session, to the Conn's [Conn.ServeHTTP]:
//
//	t := polling.New(nil)
//	c, _ := t.Accept(w, r, transport.Params{})
//	conn := c.(*polling.Conn)
//	conn.Send(transport.TextFrame(`0{"sid":"..."}`))
//	conn.Start(session)
//	conn.ServeHTTP(w, r) // answers the handshake GET with the open packet
//
// A GET receives: it is answered at once with queued frames, or held
// until [Conn.Send] queues one, the Conn closes, or the client goes away. A
// POST sends: its body is decoded with [DecodePayload] and each frame is
// handed to the [transport.Handler] in order. At most one GET and one POST
// may be in flight per session; an overlapping request closes the session.
// When [Conn.Close] finds no GET held, the frames it leaves (the close packet
// of a server shutting down, say) wait for the client's next GET, at most
// [Options.CloseTimeout], as the reference server's orderly close does.
//
// A GET takes the oldest queued frames that fit in Params.MaxPayload bytes
// (at least one). Queued frames, and those of a response still being
// written, count against Params.MaxQueueBytes: [Conn.Send] closes the
// session when they are at that bound, [Conn.Writable] tells a producer
// when GETs have taken enough of them, and [Conn.TrySend] (volatile
// messages) queues only when a GET is held, waiting for data.
//
// The payload format, shared by both directions, is implemented by
// [AppendPayload] and [DecodePayload], usable on their own (a test client
// uses them too).
//
// An idle session holds no goroutine of this package: a held GET is parked
// on the HTTP server's own request goroutine.
package polling
