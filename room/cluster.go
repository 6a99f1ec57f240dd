package room

import (
	"context"
	"encoding/json"
)

// ServerSideEmitter is implemented by adapters that link several server
// nodes (for example the Redis adapter, room/redis): they carry events
// from one node's namespace to the same namespace on the other nodes,
// socket.io's serverSideEmit. A namespace whose adapter does not
// implement it is alone: its server-side events reach nobody.
type ServerSideEmitter interface {
	// ServerSideEmit sends data, the JSON array [event, ...args], to the
	// namespace on every other node.
	ServerSideEmit(ctx context.Context, data json.RawMessage) error
	// ServerSideEmitWithAck sends data as ServerSideEmit does and waits
	// for every other node to answer, or for ctx or the adapter's request
	// timeout to end. Each reply is the JSON array of one node's answer
	// arguments. When some nodes did not answer in time it returns the
	// replies received with an error.
	ServerSideEmitWithAck(ctx context.Context, data json.RawMessage) ([]json.RawMessage, error)
}

// ServerSideHandler is implemented by a [Local] (the namespace) that
// accepts events sent by ServerSideEmit on other nodes. Adapters call it
// from their own goroutine, one event at a time, never holding a lock.
type ServerSideHandler interface {
	// HandleServerSideEmit handles data, the JSON array [event, ...args].
	// When reply is non-nil the sending node waits for an answer: call
	// reply once, with the JSON array of the answer's arguments.
	HandleServerSideEmit(data json.RawMessage, reply func(args json.RawMessage))
}
