package namespace

import (
	"fmt"
	"runtime/debug"

	"github.com/go-realtime/realtime/internal/wiring"
)

// observer is what a namespace's atomic pointer holds (see wiring.Observer).
type observer struct{ o wiring.Observer[Args] }

// setObserver is wiring.Impl's SetObserver.
func (n *Namespace) setObserver(o wiring.Observer[Args]) {
	if o == nil {
		n.observer.Store(nil)
		return
	}
	n.observer.Store(&observer{o: o})
}

// watcher returns the namespace's observer, or nil: one atomic load.
func (n *Namespace) watcher() wiring.Observer[Args] {
	if ob := n.observer.Load(); ob != nil {
		return ob.o
	}
	return nil
}

// recoverObserver, deferred, logs a panic of the observer and goes on: the
// observer is this module's own code, and what it watches is not affected.
func (n *Namespace) recoverObserver() {
	if r := recover(); r != nil {
		n.logger.Error("namespace: observer panicked", "namespace", n.name,
			"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	}
}

func (n *Namespace) observeIncoming(o wiring.Observer[Args], sid, name string, args Args) {
	defer n.recoverObserver()
	o.Incoming(sid, name, args)
}

func (n *Namespace) observeOutgoing(o wiring.Observer[Args], sid, name string, args Args) {
	defer n.recoverObserver()
	o.Outgoing(sid, name, args)
}

func (n *Namespace) observeDisconnected(o wiring.Observer[Args], sid, reason string) {
	defer n.recoverObserver()
	o.Disconnected(sid, reason)
}

// observeWants asks o whether it wants the events sent to count sockets.
func (n *Namespace) observeWants(o wiring.Observer[Args], count int) (ok bool) {
	defer n.recoverObserver()
	return o.Wants(count)
}
