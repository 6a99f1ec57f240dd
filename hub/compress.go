package hub

import (
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport/polling"
)

// Compression configures the HTTP compression of long-polling responses
// (Options.HTTPCompression); see [polling.Compression].
type Compression = polling.Compression

// SocketEmitter emits to one socket with a compression flag
// (Socket.Compress); see [namespace.SocketEmitter].
type SocketEmitter = namespace.SocketEmitter
