// Package wire hands package redis's message encoders to the emitter
// (room/redis/emitter) without exporting them from redis: redis sets these
// functions when it is initialised, so a package that imports both (the
// emitter does) always finds them set.
package wire

import (
	"encoding/json"

	"github.com/go-realtime/realtime/room"
)

var (
	// Broadcast encodes a broadcast message, msgpack [uid, packet, opts],
	// as @socket.io/redis-adapter publishes it on "K#nsp#" (or
	// "K#nsp#room#" for exactly one room).
	Broadcast func(uid, nsp string, p *room.Packet, opts room.Options) ([]byte, error)
	// Join and Leave encode the JSON REMOTE_JOIN and REMOTE_LEAVE requests
	// making the sockets selected by opts join or leave rooms.
	Join, Leave func(uid string, opts room.Options, rooms []string) ([]byte, error)
	// Disconnect encodes the JSON REMOTE_DISCONNECT request.
	Disconnect func(uid string, opts room.Options, close bool) ([]byte, error)
	// ServerSideEmit encodes the JSON SERVER_SIDE_EMIT request for data,
	// the JSON array [event, ...args], expecting no answer.
	ServerSideEmit func(uid string, data json.RawMessage) ([]byte, error)
)
