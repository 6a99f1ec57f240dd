// Package websocket is the WebSocket transport: it turns an HTTP upgrade
// request into a [transport.Conn] that carries one Engine.IO packet per
// WebSocket message (RFC 6455, with optional permessage-deflate, RFC 7692).
//
// Call [New] once to get a [Transport], then [Transport.Accept] from an HTTP
// handler for each upgrade request; hand the returned [Conn] a
// [transport.Handler] with [Conn.Start]. Send queues frames without waiting on
// the peer. What waits to be written, queued or in the batch being written,
// is bounded in bytes (transport.Params.MaxQueueBytes): a Send that finds it
// at the bound disconnects the peer, a producer that waits on
// [Conn.Writable] until a write has brought it under half the bound loses
// nothing, and [Conn.TrySend] (volatile messages) queues only when nothing
// waits at all.
//
// Memory per idle connection is kept small and no goroutine waits on it: on
// Linux a shared edge-triggered epoll poller (internal/netpoll) reports
// readable sockets and a worker reads what arrived into a pooled buffer
// (elsewhere a goroutine per connection reads frame headers straight from
// the socket). Queued frames go out as one writev per batch, never copied:
// written at once by the sender when it answers from a handler (an ack, the
// open packet — which also carries the handshake response when
// transport.Params.SendsFirst is set), by a few shared flusher goroutines
// for other senders (a broadcast to many connections wakes one or two of
// them, and frames queued meanwhile join the batch), and by a writer
// goroutine of the connection's own only while a slow peer's socket is full
// (bounded by Options.WriteTimeout).
//
// [Dial] and [ClientConn] are a minimal client for tests and load
// generators.
package websocket
