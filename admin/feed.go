package admin

import (
	"sync/atomic"
	"time"

	"github.com/go-realtime/realtime/namespace"
)

// kind is what a feed record reports.
type kind uint8

const (
	kindConnected kind = iota
	kindUpdated
	kindDisconnected
	kindJoined
	kindLeft
	kindReceived
	kindSent
)

// record is one thing to tell the UI, as the hot path hands it over:
// small, and turned into the UI's message by the feed's goroutine.
type record struct {
	kind kind
	t    time.Time
	sock *namespace.Socket // kindConnected
	nsp  string
	id   string
	text string         // room, reason, transport or event name
	args namespace.Args // kindReceived, kindSent
	size int64
}

// recordCost is what a record counts for in Options.FeedBytes besides its
// arguments.
const recordCost = 128

// feedSlots is the feed's capacity in records; events (received, sent)
// may use half of it, so that connections, disconnections and room changes
// still find room behind a burst of events.
const feedSlots = 4096

// feed is the bounded queue between the hub's hot paths and the goroutine
// that emits to the UI.
type feed struct {
	ch      chan record
	max     int64
	rate    int64        // events (received, sent) per second
	inSec   atomic.Int64 // events counted this second (reset by runFeed)
	bytes   atomic.Int64
	dropped atomic.Int64
	resync  atomic.Bool // a lifecycle record was dropped: send all_sockets again
	wake    chan struct{}
}

func newFeed(maxBytes int64, rate int) *feed {
	return &feed{ch: make(chan record, feedSlots), max: maxBytes, rate: int64(rate), wake: make(chan struct{}, 1)}
}

// allowEvent counts an event against the second's rate, before anything
// else is done for it (even reading the clock): false, and counted as
// dropped, when the second's events are used up.
func (f *feed) allowEvent() bool {
	if f.inSec.Add(1) <= f.rate {
		return true
	}
	f.dropped.Add(1)
	return false
}

// push queues r unless the feed is full; it never waits.
func (f *feed) push(r record) {
	r.size += recordCost
	event := r.kind == kindReceived || r.kind == kindSent
	if event && len(f.ch) >= feedSlots/2 {
		f.drop(event)
		return
	}
	if f.bytes.Add(r.size) > f.max {
		f.bytes.Add(-r.size)
		f.drop(event)
		return
	}
	select {
	case f.ch <- r:
	default:
		f.bytes.Add(-r.size)
		f.drop(event)
	}
}

func (f *feed) drop(event bool) {
	f.dropped.Add(1)
	if !event && !f.resync.Swap(true) {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// argsSize is the size of an event's arguments as received.
func argsSize(a namespace.Args) int64 {
	var n int64
	for i := range a.Len() {
		if b, ok := a.Binary(i); ok {
			n += int64(len(b))
		} else {
			n += int64(len(a.Raw(i)))
		}
	}
	return n
}

// runFeed turns the feed's records into the UI's messages, emitted to the
// admin namespace (and through its adapter to every node's UIs).
func (ins *Instrumentation) runFeed() {
	defer ins.wg.Done()
	f := ins.feed
	second := time.NewTicker(time.Second) // FeedRate's window
	defer second.Stop()
	for {
		select {
		case <-ins.ctx.Done():
			return
		case <-second.C:
			f.inSec.Store(0)
			continue
		case r := <-f.ch:
			f.bytes.Add(-r.size)
			ins.emitRecord(r)
			continue
		case <-f.wake:
		}
		// Woken by a drop: send the sockets again once the queue is empty
		// (emitRecord wakes this loop again when it is).
		if len(f.ch) == 0 && f.resync.Swap(false) {
			ctx, cancel := ins.context(ins.ctx)
			sockets := ins.allSockets(ctx)
			cancel()
			ins.emit("all_sockets", sockets)
		}
	}
}

// emitRecord sends r to the UIs.
func (ins *Instrumentation) emitRecord(r record) {
	ts := timestamp(r.t)
	switch r.kind {
	case kindConnected:
		ins.emit("socket_connected", ins.serializeLocal(r.sock), ts)
	case kindUpdated:
		ins.emit("socket_updated", map[string]string{"id": r.id, "nsp": r.nsp, "transport": r.text})
	case kindDisconnected:
		ins.emit("socket_disconnected", r.nsp, r.id, r.text, ts)
	case kindJoined:
		ins.emit("room_joined", r.nsp, r.text, r.id, ts)
	case kindLeft:
		ins.emit("room_left", r.nsp, r.text, r.id, ts)
	case kindReceived, kindSent:
		args := append([]any{r.text}, r.args.Values()...)
		ev := "event_received"
		if r.kind == kindSent {
			ev = "event_sent"
		}
		ins.emit(ev, r.nsp, r.id, args, ts)
	}
	if len(ins.feed.ch) == 0 && ins.feed.resync.Load() {
		select {
		case ins.feed.wake <- struct{}{}:
		default:
		}
	}
}

// emit broadcasts an event to the UIs of every node.
func (ins *Instrumentation) emit(event string, args ...any) {
	if err := ins.admin.Emit(event, args...); err != nil {
		ins.logger.Debug("admin: emit to the UIs failed", "event", event, "err", err)
	}
}

// timestamp formats t as JavaScript's JSON form of a Date, which socket.io
// sends.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
