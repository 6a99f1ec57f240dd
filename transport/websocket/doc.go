// Package websocket is the WebSocket transport: it turns an HTTP upgrade
// request into a [transport.Conn] that carries one Engine.IO packet per
// WebSocket message (RFC 6455, with optional permessage-deflate, RFC 7692).
//
// Call [New] once to get a [Transport], then [Transport.Accept] from an HTTP
// handler for each upgrade request; hand the returned [Conn] a
// [transport.Handler] with [Conn.Start]. Send queues frames without waiting on
// the peer; a peer that does not read is disconnected when its bounded queue
// overflows.
//
// Memory per idle connection is kept small: the reader reads frame headers
// straight from the socket (no per-connection read buffer), and the writer is a
// goroutine started only while frames are queued, which writes each batch of
// queued frames with a single writev system call without copying them.
//
// [Dial] and [ClientConn] are a minimal client for tests and load
// generators.
package websocket
