package namespace

import (
	"context"
	"fmt"

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

// Emit is [Socket.Emit] with the emitter's compression flag.
func (e SocketEmitter) Emit(event string, args ...any) error {
	frames, err := e.s.encodeOut(event, args, 0, false)
	if err != nil {
		return err
	}
	e.mark(frames)
	return e.s.send(frames)
}

// EmitWithAck is [Socket.EmitWithAck] with the emitter's compression flag.
func (e SocketEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	s := e.s
	id := s.ns.nextAckID()
	frames, err := s.encodeOut(event, args, id, true)
	if err != nil {
		return Args{}, err
	}
	e.mark(frames)
	replies := make(chan Args, 1)
	if !s.registerAck(id, func(a Args) { replies <- a }) {
		return Args{}, ErrDisconnected
	}
	if err := s.send(frames); err != nil {
		s.forgetAck(id)
		return Args{}, err
	}
	select {
	case a := <-replies:
		return a, nil
	case <-s.Done():
		return Args{}, ErrDisconnected
	case <-ctx.Done():
		s.forgetAck(id)
		return Args{}, fmt.Errorf("namespace: ack for %q: %w", event, ctx.Err())
	}
}

func (e SocketEmitter) mark(frames []transport.Frame) {
	if e.noCompress {
		noCompress(frames)
	}
}

// noCompress sets NoCompress on frames, which the caller encoded and owns.
func noCompress(frames []transport.Frame) {
	for i := range frames {
		frames[i].NoCompress = true
	}
}
