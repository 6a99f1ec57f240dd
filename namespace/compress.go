package namespace

import (
	"context"

	"github.com/go-realtime/realtime/transport"
)

// Compress returns a Broadcast whose packets are sent compressed or not:
// with false, they go out without permessage-deflate on WebSocket and do
// not count towards compressing a long-polling response (socket.io's
// broadcast.compress(false)). Compression is allowed by default.
func (b Broadcast) Compress(on bool) Broadcast { b.flags.NoCompress = !on; return b }

// SocketEmitter emits to one socket's client with the compression flag set
// by [Socket.Compress].
type SocketEmitter struct {
	s          *Socket
	noCompress bool
}

// Compress returns an emitter for s whose packets are sent compressed or
// not (socket.io's socket.compress(false).emit(...)): with false they go
// out without permessage-deflate on WebSocket, and a long-polling response
// carrying only such packets is not compressed. Compression is allowed by
// default (Socket.Emit).
func (s *Socket) Compress(on bool) SocketEmitter { return SocketEmitter{s: s, noCompress: !on} }

// Compress returns the emitter with its compression flag set to on.
func (e SocketEmitter) Compress(on bool) SocketEmitter { e.noCompress = !on; return e }

// Emit is [Socket.Emit] with the emitter's compression flag; like it, it
// waits while the client's queue is full.
func (e SocketEmitter) Emit(event string, args ...any) error {
	return e.s.emit(event, args, e.noCompress)
}

// EmitWithAck is [Socket.EmitWithAck] with the emitter's compression flag.
func (e SocketEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return e.s.emitWithAck(ctx, event, args, e.noCompress)
}

// markNoCompress sets NoCompress on frames, which the caller encoded and owns.
func markNoCompress(frames []transport.Frame) {
	for i := range frames {
		frames[i].NoCompress = true
	}
}
