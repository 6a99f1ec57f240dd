package hub

import (
	"github.com/go-realtime/realtime/transport/polling"
)

// Compression configures the HTTP compression of long-polling responses
// (Options.HTTPCompression); see [polling.Compression].
type Compression = polling.Compression
