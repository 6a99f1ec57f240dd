package namespace

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/room"
)

// The hub reaches what is not public API here through internal/wiring.
func init() {
	wiring.Register(&wiring.Impl[*Namespace, Handshake, Args, *Recovery]{
		NewNamespace: newNamespace,
		NewChild:     (*Namespace).newChild,
		Child:        (*Namespace).liveChild,
		NewClient: func(conn wiring.Conn, info Handshake, resolve func(string, json.RawMessage) *Namespace, opts *wiring.ClientOptions) wiring.Client {
			return newClient(conn, info, resolve, opts)
		},
		ParseEvent: parseEvent,
		NewArgs:    newArgs,
		SetObserver: func(ns *Namespace, o wiring.Observer[Args]) {
			ns.setObserver(o)
		},
	})
}

// local is a namespace as its room adapter sees it: the [room.Local] the
// adapter delivers to, with the optional interfaces adapters look for
// ([room.Logged], [room.HistoryKeeper], [room.ServerSideHandler]).
type local struct{ n *Namespace }

var (
	_ room.Local             = local{}
	_ room.Logged            = local{}
	_ room.HistoryKeeper     = local{}
	_ room.ServerSideHandler = local{}
	_ room.SessionSource     = local{}
)

func (l local) Name() string { return l.n.name }

func (l local) Deliver(p *room.Packet, ids []string, opts room.Options, onAck func(room.Ack)) int {
	return l.n.deliver(p, ids, opts, onAck)
}

func (l local) Disconnect(ids []string, close bool) { l.n.disconnectIDs(ids, close) }

func (l local) Describe(ids []string) []room.SocketInfo { return l.n.describe(ids) }

func (l local) Logger() *slog.Logger { return l.n.logger }

// KeepsHistory: with connection state recovery on, the namespace keeps
// recent broadcasts, so adapters deliver every broadcast to it.
// With a shared store (room.SessionStore) the history is the store's.
func (l local) KeepsHistory() bool { return l.n.recovery != nil && l.n.recovery.shared == nil }

// Sessions: the sessions of the connected sockets, for a room.SessionStore
// to save periodically.
func (l local) Sessions() ([]room.Session, time.Duration) { return l.n.sessions() }

func (l local) HandleServerSideEmit(data json.RawMessage, reply func(args json.RawMessage)) {
	l.n.handleServerSideEmit(data, reply)
}
