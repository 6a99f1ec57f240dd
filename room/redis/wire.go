package redis

import (
	"encoding/json"
	"fmt"
	"github.com/go-realtime/realtime/internal/msgpack"

	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/room/redis/internal/wire"
)

// The emitter (room/redis/emitter) encodes its messages with the
// adapter's own encoders, through package wire.
func init() {
	wire.Broadcast = encodeBroadcast
	wire.Join = func(uid string, opts room.Options, rooms []string) ([]byte, error) {
		return json.Marshal(roomsRequest(uid, reqRemoteJoin, opts, rooms))
	}
	wire.Leave = func(uid string, opts room.Options, rooms []string) ([]byte, error) {
		return json.Marshal(roomsRequest(uid, reqRemoteLeave, opts, rooms))
	}
	wire.Disconnect = func(uid string, opts room.Options, close bool) ([]byte, error) {
		return json.Marshal(disconnectRequest(uid, opts, close))
	}
	wire.ServerSideEmit = func(uid string, data json.RawMessage) ([]byte, error) {
		return json.Marshal(jsonRequest{UID: uid, Type: reqServerSideEmit, Data: data})
	}
}

// encodeBroadcast encodes a broadcast message, msgpack [uid, packet, opts].
func encodeBroadcast(uid, nsp string, p *room.Packet, opts room.Options) ([]byte, error) {
	b := msgpack.AppendArrayLen(make([]byte, 0, 64+len(uid)+len(p.Data)), 3)
	b = msgpack.AppendStr(b, uid)
	b, err := appendPacket(b, p, nsp)
	if err != nil {
		return nil, fmt.Errorf("redis: broadcast: %w", err)
	}
	return appendOpts(b, opts, 0), nil
}

// roomsRequest is a REMOTE_JOIN or REMOTE_LEAVE request.
func roomsRequest(uid string, typ int, opts room.Options, rooms []string) jsonRequest {
	rl := roomList(rooms)
	return jsonRequest{UID: uid, Type: typ, Opts: toWire(opts), Rooms: &rl}
}

// disconnectRequest is a REMOTE_DISCONNECT request.
func disconnectRequest(uid string, opts room.Options, close bool) jsonRequest {
	return jsonRequest{UID: uid, Type: reqRemoteDisconnect, Opts: toWire(opts), Close: close}
}
