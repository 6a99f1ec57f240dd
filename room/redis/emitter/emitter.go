// Package emitter sends to a Socket.IO cluster linked by Redis from a Go
// process that runs no hub (a worker, a cron job, a CLI), as Node's
// @socket.io/redis-emitter does, and on the same wire: every node of the
// cluster, Go hub with the room/redis adapter or Node.js socket.io server
// with @socket.io/redis-adapter, acts on what it publishes.
//
//	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
//	em := emitter.New(rdb, nil)
//	err := em.To("room1").Except("room2").Emit(ctx, "news", "hello", []byte{1, 2})
//	err = em.Of("/admin").In("staff").SocketsJoin(ctx, "meeting")
//	err = em.In("banned").DisconnectSockets(ctx, true)
//	err = em.ServerSideEmit(ctx, "reload", 42)
//
// An Emitter is an immutable value: To, Except, Of, Volatile and Compress
// return a new one, so one Emitter may be shared and derived from by any
// number of goroutines. Each operation is one Redis PUBLISH; it returns
// once Redis took the message (it does not wait for the nodes to act on
// it), or with the error of the publish. Nothing is delivered to a node
// that is not subscribed at that moment.
//
// What the emitter cannot do, as in Node: acknowledgements (EmitWithAck,
// ServerSideEmitWithAck) and FetchSockets, which need answers from the
// nodes.
package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/room"
	"github.com/go-realtime/realtime/room/redis"
	"github.com/go-realtime/realtime/room/redis/internal/wire"
)

// Importing package redis makes it fill in package wire's encoders.
var _ = redis.New

// UID is the sender id in every message the emitter publishes, as
// @socket.io/redis-emitter's; nodes never take it for one of theirs.
const UID = "emitter"

// ErrReservedEvent is returned (wrapped, with the name) by Emit and
// ServerSideEmit for the event names Socket.IO keeps for itself.
var ErrReservedEvent = errors.New("emitter: reserved event name")

// reserved are the names no emitted event may have; serverReserved are
// also refused for server-side events (socket.io's io.on("connection")
// and friends).
var (
	reserved       = []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
	serverReserved = []string{"connection", "new_namespace"}
)

// Options configure an Emitter. The zero value (or a nil *Options) means
// defaults, which match @socket.io/redis-emitter's.
type Options struct {
	// Key prefixes the Redis channel names; it must be the cluster's (its
	// adapters' Key). Default "socket.io".
	Key string
}

// Emitter publishes to one namespace of the cluster, to the sockets
// selected by its rooms and exceptions (every socket of the namespace by
// default). The zero value is not usable: call New.
type Emitter struct {
	client goredis.UniversalClient
	key    string
	nsp    string
	rooms  []string
	except []string
	flags  flags
}

type flags struct {
	volatile   bool
	noCompress bool
}

// New returns an Emitter for the main namespace "/" that publishes with
// client.
func New(client goredis.UniversalClient, opts *Options) *Emitter {
	if client == nil {
		panic("emitter: New: nil Redis client")
	}
	key := "socket.io"
	if opts != nil && opts.Key != "" {
		key = opts.Key
	}
	return &Emitter{client: client, key: key, nsp: "/"}
}

// Of returns an Emitter for namespace nsp ("/" is the main one; a missing
// leading slash is added), selecting every socket of it.
func (e *Emitter) Of(nsp string) *Emitter {
	if nsp == "" || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return &Emitter{client: e.client, key: e.key, nsp: nsp}
}

// To returns an Emitter that also selects the sockets in rooms (a socket
// id is a room holding that socket).
func (e *Emitter) To(rooms ...string) *Emitter {
	c := e.clone()
	c.rooms = appendNew(c.rooms, rooms)
	return c
}

// In is To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except returns an Emitter that leaves out the sockets in rooms.
func (e *Emitter) Except(rooms ...string) *Emitter {
	c := e.clone()
	c.except = appendNew(c.except, rooms)
	return c
}

// Volatile returns an Emitter whose events may be dropped for clients
// that are not ready to receive them.
func (e *Emitter) Volatile() *Emitter {
	c := e.clone()
	c.flags.volatile = true
	return c
}

// Compress returns an Emitter whose events are compressed (the default)
// or not, for the transports that compress (socket.io's compress flag).
func (e *Emitter) Compress(compress bool) *Emitter {
	c := e.clone()
	c.flags.noCompress = !compress
	return c
}

func (e *Emitter) clone() *Emitter {
	c := *e
	c.rooms = slices.Clip(c.rooms)
	c.except = slices.Clip(c.except)
	return &c
}

// appendNew appends the strings of add that are not in set yet (rooms
// are sets, as in socket.io).
func appendNew(set, add []string) []string {
	for _, s := range add {
		if !slices.Contains(set, s) {
			set = append(set, s)
		}
	}
	return set
}

func (e *Emitter) options() room.Options {
	return room.Options{Rooms: e.rooms, Except: e.except,
		Flags: room.Flags{Volatile: e.flags.volatile, NoCompress: e.flags.noCompress}}
}

// Emit sends event with args to the selected sockets on every node.
// Arguments are encoded as the namespace's Emit encodes them: []byte
// values (also inside maps, slices and structs) travel as binary, the
// rest as JSON. A reserved event name is refused with ErrReservedEvent.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if slices.Contains(reserved, event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, atts, err := socketio.MarshalArgs(nil, append([]any{event}, args...))
	if err != nil {
		return fmt.Errorf("emitter: emit %q: %w", event, err)
	}
	msg, err := wire.Broadcast(UID, e.nsp, &room.Packet{Namespace: e.nsp, Data: data, Attachments: atts}, e.options())
	if err != nil {
		return fmt.Errorf("emitter: emit %q: %w", event, err)
	}
	channel := e.key + "#" + e.nsp + "#"
	if len(e.rooms) == 1 {
		channel += e.rooms[0] + "#"
	}
	return e.publish(ctx, "emit", channel, msg)
}

// SocketsJoin makes the selected sockets join rooms, on every node.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	msg, err := wire.Join(UID, e.options(), rooms)
	return e.request(ctx, "sockets join", msg, err)
}

// SocketsLeave makes the selected sockets leave rooms, on every node.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	msg, err := wire.Leave(UID, e.options(), rooms)
	return e.request(ctx, "sockets leave", msg, err)
}

// DisconnectSockets disconnects the selected sockets, on every node; with
// close, their underlying connections are closed too.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	msg, err := wire.Disconnect(UID, e.options(), close)
	return e.request(ctx, "disconnect sockets", msg, err)
}

// ServerSideEmit sends event with args to every server node of the
// namespace (its OnServerSideEmit handlers, or socket.io's io.on(event)
// listeners); the emitter's rooms and exceptions do not apply. Arguments
// travel as JSON ([]byte as base64 text, as encoding/json writes it). A
// reserved name (also "connection" and "new_namespace") is refused with
// ErrReservedEvent. Acknowledgements are not possible from an emitter.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if slices.Contains(reserved, event) || slices.Contains(serverReserved, event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return fmt.Errorf("emitter: server-side emit %q: %w", event, err)
	}
	msg, err := wire.ServerSideEmit(UID, data)
	return e.request(ctx, "server-side emit", msg, err)
}

// request publishes msg (or reports err) on the request channel.
func (e *Emitter) request(ctx context.Context, what string, msg []byte, err error) error {
	if err != nil {
		return fmt.Errorf("emitter: %s: %w", what, err)
	}
	return e.publish(ctx, what, e.key+"-request#"+e.nsp+"#", msg)
}

func (e *Emitter) publish(ctx context.Context, what, channel string, msg []byte) error {
	if err := e.client.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("emitter: %s: %w", what, err)
	}
	return nil
}
