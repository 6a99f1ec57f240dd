package redis

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StreamsOptions configure the Redis Streams adapter ([NewStreams]). The
// zero value (or a nil *StreamsOptions) means defaults, which match
// @socket.io/redis-streams-adapter 0.3's.
type StreamsOptions struct {
	// Options are the pub/sub adapter's: Key is the prefix of the
	// channels that carry requests and answers (the Node adapter's
	// channelPrefix, default "socket.io"), and the publish queue, request
	// timeout, UID and logger work the same.
	Options
	// StreamName is the stream every node reads and appends to. Default
	// "socket.io".
	StreamName string
	// MaxLen trims the stream to about this many entries (XADD MAXLEN ~):
	// the history a recovering client can catch up on. A client whose
	// offset has been trimmed away is not recovered (it gets a new
	// session). Default 10,000.
	MaxLen int64
	// ReadCount is how many entries one XREAD returns at most. Default 100.
	ReadCount int64
	// SessionKeyPrefix prefixes the Redis keys of disconnected sessions
	// (followed by the session's private id). Default "sio:session:".
	SessionKeyPrefix string
	// SessionSaveInterval is how often the sessions of connected sockets
	// are saved, so that their clients recover on another node even when
	// this process dies (then with the rooms and data of the last save).
	// Default 1s.
	SessionSaveInterval time.Duration
	// OnRecovery, when set, is called for every attempt to restore a
	// session on this node, with its outcome (counted in
	// [StreamsStats] as well). It must not block.
	OnRecovery func(RecoveryEvent)
}

func (o *StreamsOptions) resolve() StreamsOptions {
	var r StreamsOptions
	if o != nil {
		r = *o
	}
	r.Options = r.Options.resolve()
	if r.StreamName == "" {
		r.StreamName = "socket.io"
	}
	if r.MaxLen <= 0 {
		r.MaxLen = 10000
	}
	if r.ReadCount <= 0 {
		r.ReadCount = 100
	}
	if r.SessionKeyPrefix == "" {
		r.SessionKeyPrefix = "sio:session:"
	}
	if r.SessionSaveInterval <= 0 {
		r.SessionSaveInterval = time.Second
	}
	return r
}

// RecoveryOutcome says how an attempt to restore a session ended.
type RecoveryOutcome int

const (
	// Recovered: the session was found and restored.
	Recovered RecoveryOutcome = iota
	// RecoveryExpired: the session or the client's offset is not in Redis
	// any more (the window passed, the stream was trimmed past it, or
	// Redis lost it); the client gets a new session.
	RecoveryExpired
	// RecoveryFailed: Redis could not be asked (or the session could not
	// be read, or the missed broadcasts could not); the client gets a new
	// session.
	RecoveryFailed
)

func (o RecoveryOutcome) String() string {
	switch o {
	case Recovered:
		return "recovered"
	case RecoveryExpired:
		return "expired"
	case RecoveryFailed:
		return "failed"
	}
	return "RecoveryOutcome(" + strconv.Itoa(int(o)) + ")"
}

// RecoveryEvent reports an attempt to restore a session.
type RecoveryEvent struct {
	Namespace string
	// PID is the private id the client presented; SID the restored
	// socket id (empty unless Recovered).
	PID, SID string
	Outcome  RecoveryOutcome
	// Err says why, unless Recovered.
	Err error
}

// StreamsStats are a streams node's running totals: those of its publish
// queue (see [Stats]), and the sessions it saved and restored.
type StreamsStats struct {
	Stats
	// Entries counts the stream entries this node read.
	Entries uint64
	// SessionsSaved counts sessions written to Redis (at disconnection
	// and periodically while connected); SessionSaveFailed those Redis
	// did not take.
	SessionsSaved, SessionSaveFailed uint64
	// Recovered, RecoveryExpired and RecoveryFailed count the attempts to
	// restore a session on this node, by outcome.
	Recovered, RecoveryExpired, RecoveryFailed uint64
	// ReadErrors counts failed reads of the stream (Redis unreachable).
	ReadErrors uint64
	// EntriesMissed counts the times entries were trimmed from the stream
	// (MaxLen) before this node read them; each time, the node closed its
	// sockets' connections (their clients are not recovered).
	EntriesMissed uint64
}

// streamState is a streams node's reading of the stream.
type streamState struct {
	opts StreamsOptions
	pos  atomic.Pointer[string] // the last entry delivered

	mu      sync.RWMutex
	members map[string]*StreamsAdapter // by namespace

	entries, saved, saveFailed         atomic.Uint64
	recovered, expired, failed, rdErrs atomic.Uint64
	missed                             atomic.Uint64
}

func (st *streamState) position() string {
	if p := st.pos.Load(); p != nil {
		return *p
	}
	return ""
}

// streamID is a stream entry id, ms-seq.
type streamID struct{ ms, seq uint64 }

var offsetPattern = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// parseID reads a stream entry id; "" and anything malformed read as 0-0.
func parseID(s string) streamID {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return streamID{}
	}
	return streamID{a, b}
}

func compareIDs(a, b string) int {
	x, y := parseID(a), parseID(b)
	switch {
	case x.ms < y.ms || x.ms == y.ms && x.seq < y.seq:
		return -1
	case x == y:
		return 0
	}
	return 1
}

// nextID is the smallest id after s (an exclusive XRANGE start that
// Redis before 6.2 understands).
func nextID(s string) string {
	id := parseID(s)
	if id.seq == ^uint64(0) {
		return strconv.FormatUint(id.ms+1, 10) + "-0"
	}
	return strconv.FormatUint(id.ms, 10) + "-" + strconv.FormatUint(id.seq+1, 10)
}
