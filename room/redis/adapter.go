package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/room"
)

// Adapter is one namespace's cluster adapter. Room membership is kept in
// memory (by [room.NewMemory]); broadcasts and room operations are
// published to the other nodes and theirs applied here. Get it from a
// namespace (ns.Adapter().(*redis.Adapter)) for the cluster-only methods.
type Adapter struct {
	local *room.Memory
	ns    room.Local
	node  *node
	name  string

	channel        string // K#N#  (broadcasts; K#N#room# for one room)
	pattern        string // K#N#* with the glob characters of K and N escaped
	reqChannel     string // K-request#N#
	respChannel    string // K-response#N#
	ownRespChannel string // K-response#N#uid#

	requests
}

// requests are an adapter's requests awaiting other nodes' answers.
type requests struct {
	mu      sync.Mutex
	pending map[string]*pending
	closed  bool

	// Sharded adapters only: the rooms' channels subscribed (dynamic
	// modes), guarded by mu.
	roomChans map[string]bool
}

var (
	_ room.Adapter           = (*Adapter)(nil)
	_ room.ServerSideEmitter = (*Adapter)(nil)
)

func newAdapter(ns room.Local, n *node) *Adapter {
	key, name := n.opts.Key, ns.Name()
	a := &Adapter{
		local:          room.NewMemory(ns).(*room.Memory), // NewMemory's signature fits Options.Adapter; it returns a *Memory
		ns:             ns,
		node:           n,
		name:           name,
		channel:        key + "#" + name + "#",
		reqChannel:     key + "-request#" + name + "#",
		respChannel:    key + "-response#" + name + "#",
		ownRespChannel: key + "-response#" + name + "#" + n.uid + "#",
		requests:       requests{pending: make(map[string]*pending)},
	}
	a.pattern = globEscape(a.channel) + "*"
	if n.mode != "" {
		a.initSharded()
	}
	return a
}

func (a *Adapter) nspName() string { return a.name }

func (a *Adapter) subs() []sub {
	if a.node.mode != "" {
		return []sub{
			{name: a.channel, kind: routeShardMain, shard: true},
			{name: a.ownRespChannel, kind: routeResponse, shard: true},
		}
	}
	return []sub{
		{name: a.reqChannel, kind: routeRequest},
		{name: a.respChannel, kind: routeResponse},
		{name: a.ownRespChannel, kind: routeResponse},
		{name: a.pattern, pattern: true, kind: routeBroadcast},
	}
}

func (a *Adapter) handle(kind int, channel, payload string) {
	switch kind {
	case routeBroadcast:
		a.onBroadcast(channel, payload)
	case routeRequest:
		a.onRequest(payload)
	case routeResponse:
		if a.node.mode != "" {
			a.onShardMessage(payload)
		} else {
			a.onResponse(payload)
		}
	case routeShardMain, routeShardRoom:
		a.onShardMessage(payload)
	}
}

// globEscape escapes the characters Redis patterns treat specially.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// UID is the node's id in the cluster.
func (a *Adapter) UID() string { return a.node.uid }

// Ready waits until the adapter's Redis subscriptions are active: at once
// normally; after Redis restarts, until they have been restored.
func (a *Adapter) Ready(ctx context.Context) error { return a.node.waitSubscribed(ctx, a) }

// ServerCount returns the number of nodes serving this namespace, this
// one included (socket.io's serverCount).
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	return a.node.serverCount(ctx, a.reqChannel)
}

// AddAll implements [room.Adapter].
func (a *Adapter) AddAll(id string, rooms ...string) {
	if a.node.mode == DynamicPrivate && slices.Contains(rooms, id) && !a.local.HasSocket(id) {
		a.wantRoom(id, true) // the socket's own room: no room event for it
	}
	a.local.AddAll(id, rooms...)
}

// Del implements [room.Adapter].
func (a *Adapter) Del(id, r string) { a.local.Del(id, r) }

// DelAll implements [room.Adapter].
func (a *Adapter) DelAll(id string) {
	a.local.DelAll(id)
	if a.node.mode == DynamicPrivate {
		a.wantRoom(id, false)
	}
}

// Rooms implements [room.Adapter].
func (a *Adapter) Rooms(id string) []string { return a.local.Rooms(id) }

// OnRoomEvent implements [room.Notifier]: fn sees the rooms of this node
// being created, deleted, joined and left, as [room.Memory.OnRoomEvent]
// describes (socket.io's Redis adapter, too, reports local changes only).
func (a *Adapter) OnRoomEvent(fn func(room.Event)) { a.local.OnRoomEvent(fn) }

var _ room.Notifier = (*Adapter)(nil)

// Sockets implements [room.Adapter]: the local sockets.
func (a *Adapter) Sockets(rooms ...string) []string { return a.local.Sockets(rooms...) }

// RoomNames implements [room.Adapter]: the rooms with local members.
func (a *Adapter) RoomNames() []string { return a.local.RoomNames() }

// Broadcast implements [room.Adapter]: local sockets get p at once, and,
// unless opts.Flags.Local, it is queued for the other nodes without
// waiting for Redis. The error says why it could not be queued
// ([ErrUnavailable] while Redis is unreachable, [ErrQueueFull]); local
// sockets got p all the same. A queued broadcast that Redis then fails to
// take is counted in [Stats].PublishFailed and logged.
func (a *Adapter) Broadcast(ctx context.Context, p *room.Packet, opts room.Options) error {
	if err := a.local.Broadcast(ctx, p, opts); err != nil || opts.Flags.Local {
		return err
	}
	if a.node.mode != "" {
		channel, b, err := a.shardBroadcast(p, opts)
		if err != nil {
			return err
		}
		return a.node.publishAsync(channel, b)
	}
	b, err := encodeBroadcast(a.node.uid, a.name, p, opts)
	if err != nil {
		return err
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	return a.node.publishAsync(channel, b)
}

// onBroadcast delivers a broadcast from another node.
func (a *Adapter) onBroadcast(channel, payload string) {
	if len(channel) > len(a.channel) {
		// A one-room broadcast: skip it unless the room has local members.
		// A namespace that keeps history for recovering clients gets it
		// all the same.
		r := channel[len(a.channel) : len(channel)-1]
		if hk, ok := a.ns.(room.HistoryKeeper); !(ok && hk.KeepsHistory()) && !a.local.HasMembers(r) {
			return
		}
	}
	rd := msgpack.NewReader(bytesOf(payload), 0)
	if n, err := rd.ArrayLen(); err != nil || n < 3 {
		a.node.log.Debug("redis: malformed broadcast", "channel", channel, "err", err)
		return
	}
	uid, err := rd.ScalarString()
	if err != nil || uid == a.node.uid {
		return
	}
	pkt, err := readPacket(&rd)
	if err != nil || !pkt.ok || pkt.nsp != a.name {
		if err != nil || !pkt.ok {
			a.node.log.Debug("redis: malformed broadcast", "channel", channel, "err", err)
		}
		return
	}
	opts, err := readOpts(&rd)
	if err != nil {
		a.node.log.Debug("redis: malformed broadcast options", "channel", channel, "err", err)
		return
	}
	opts.Flags.Local = true
	p := &room.Packet{Namespace: a.name, Data: pkt.data, Attachments: pkt.atts}
	_ = a.local.Broadcast(context.Background(), p, opts)
}

// pending is a request awaiting other nodes' answers.
type pending struct {
	kind int
	mu   sync.Mutex
	want int // answers expected; -1 until known
	got  int
	done chan struct{} // closed when got >= want, or on failure
	shut bool
	err  error

	sockets []room.SocketInfo
	rooms   []string
	replies []json.RawMessage

	// Broadcasts awaiting acks.
	onCount         func(int)
	onAck           func(room.Ack)
	acksDue, acks   int
	cleanupWhenDone bool
	stopAfter       func() bool // unregisters the ctx callback that forgets it
}

func newPending(kind int) *pending {
	return &pending{kind: kind, want: -1, done: make(chan struct{})}
}

// checkLocked closes done once every answer is in.
func (p *pending) checkLocked() {
	if !p.shut && p.want >= 0 && p.got >= p.want {
		p.shut = true
		close(p.done)
	}
}

// answered records one node's answer to a request.
func (p *pending) answered(sockets []room.SocketInfo, rooms []string, reply json.RawMessage) {
	p.mu.Lock()
	if !p.shut {
		p.sockets = append(p.sockets, sockets...)
		p.rooms = append(p.rooms, rooms...)
		if reply != nil {
			p.replies = append(p.replies, reply)
		}
		p.got++
		p.checkLocked()
	}
	p.mu.Unlock()
}

func (p *pending) setWant(n int) {
	p.mu.Lock()
	p.want = n
	p.checkLocked()
	p.mu.Unlock()
}

func (p *pending) fail(err error) {
	p.mu.Lock()
	if !p.shut {
		p.err = err
		p.shut = true
		close(p.done)
	}
	p.mu.Unlock()
}

// register records a pending request, or fails when the adapter is closed.
func (a *requests) register(id string, p *pending) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return room.ErrClosed
	}
	a.pending[id] = p
	return nil
}

func (a *requests) forget(id string) {
	a.mu.Lock()
	delete(a.pending, id)
	a.mu.Unlock()
}

func (a *requests) lookup(id string) *pending {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending[id]
}

// request publishes payload (built with the request id) on the request
// channel and waits for the other nodes' answers to p.
func (a *Adapter) request(ctx context.Context, what, id string, p *pending, payload []byte) error {
	if err := a.register(id, p); err != nil {
		return err
	}
	defer a.forget(id)
	numSub, err := a.node.publishCounted(ctx, a.reqChannel, payload)
	if err != nil {
		return err
	}
	p.setWant(numSub - 1) // every node but this one answers
	return a.await(ctx, what, p)
}

// await waits for p's answers, at most RequestTimeout.
func (a *Adapter) await(ctx context.Context, what string, p *pending) error {
	return a.node.await(ctx, what, p)
}

// await waits for p's answers, at most RequestTimeout.
func (n *node) await(ctx context.Context, what string, p *pending) error {
	t := time.NewTimer(n.opts.RequestTimeout)
	defer t.Stop()
	var cause error
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-t.C:
		cause = ErrTimeout
	case <-ctx.Done():
		cause = ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut && p.err == nil {
		return nil // completed as the timer fired
	}
	if p.err != nil {
		return p.err
	}
	return fmt.Errorf("redis: %s: %d of %d nodes answered: %w", what, p.got, p.want, cause)
}

// FetchSockets implements [room.Adapter]: the local sockets opts selects,
// then those of every other node (unless opts.Flags.Local). When some
// nodes do not answer in time it returns what it has and an error
// wrapping [ErrTimeout] (or ctx's error).
func (a *Adapter) FetchSockets(ctx context.Context, opts room.Options) ([]room.SocketInfo, error) {
	local, err := a.local.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	id := a.node.requestID()
	payload, err := a.encodeRequest(jsonRequest{UID: a.node.uid, RequestID: id, Type: reqRemoteFetch, Opts: toWire(opts)})
	if err != nil {
		return local, fmt.Errorf("redis: fetch sockets: %w", err)
	}
	p := newPending(reqRemoteFetch)
	p.sockets = local
	err = a.request(ctx, "fetch sockets", id, p, payload)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sockets, err
}

// AllRooms returns the rooms with members on any node, sockets' own-id
// rooms included (socket.io's allRooms).
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	rooms := a.localRooms()
	if a.node.mode != "" {
		return rooms, fmt.Errorf("redis: all rooms: %w", ErrUnsupported)
	}
	id := a.node.requestID()
	payload, err := json.Marshal(jsonRequest{UID: a.node.uid, RequestID: id, Type: reqAllRooms})
	if err != nil {
		return rooms, fmt.Errorf("redis: all rooms: %w", err)
	}
	p := newPending(reqAllRooms)
	p.rooms = rooms
	err = a.request(ctx, "all rooms", id, p, payload)
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make(map[string]bool, len(p.rooms))
	out := p.rooms[:0:0]
	for _, r := range p.rooms {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, err
}

func (a *Adapter) localRooms() []string {
	return append(a.local.Sockets(), a.local.RoomNames()...)
}

// BroadcastWithAck implements [room.Adapter]. Besides the local sockets it
// asks every other node to deliver p, and returns once each has said how
// many of its sockets it reached (onCount is called per node), or with an
// error wrapping [ErrTimeout] when some node did not say in time. Replies
// are accepted until ctx ends.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *room.Packet, opts room.Options, onCount func(int), onAck func(room.Ack)) error {
	if opts.Flags.Local {
		return a.local.BroadcastWithAck(ctx, p, opts, onCount, onAck)
	}
	id := a.node.requestID()
	var timeoutMS int64
	if d, ok := ctx.Deadline(); ok {
		timeoutMS = max(time.Until(d).Milliseconds(), 1)
	}
	var b []byte
	var err error
	if a.node.mode != "" {
		b, err = a.encodeShardBroadcast(id, p, opts, timeoutMS)
	} else {
		b = msgpack.AppendMapLen(nil, 5)
		b = msgpack.AppendStr(msgpack.AppendStr(b, "uid"), a.node.uid)
		b = msgpack.AppendStr(msgpack.AppendStr(b, "requestId"), id)
		b = msgpack.AppendInt(msgpack.AppendStr(b, "type"), reqBroadcast)
		b, err = appendPacket(msgpack.AppendStr(b, "packet"), p, a.name)
		b = appendOpts(msgpack.AppendStr(b, "opts"), opts, timeoutMS)
	}
	if err != nil {
		return fmt.Errorf("redis: broadcast: %w", err)
	}

	// The local sockets first: they get p whatever happens to Redis.
	if err := a.local.BroadcastWithAck(ctx, p, opts, onCount, onAck); err != nil {
		return err
	}
	return a.node.collectAcks(ctx, &a.requests, id, a.reqChannel, b, onCount, onAck)
}

// collectAcks publishes payload, a broadcast asking for acks, on channel
// and waits until every other node said how many sockets it reached;
// their acks are then collected until all came or ctx ends.
func (n *node) collectAcks(ctx context.Context, reqs *requests, id, channel string, payload []byte, onCount func(int), onAck func(room.Ack)) error {
	pend := newPending(reqBroadcast)
	pend.onCount, pend.onAck = onCount, onAck
	if err := reqs.register(id, pend); err != nil {
		return err
	}
	numSub, err := n.publishCounted(ctx, channel, payload)
	if err != nil {
		reqs.forget(id)
		return err
	}
	pend.setWant(numSub - 1)
	if err := n.await(ctx, "broadcast with ack", pend); err != nil {
		reqs.forget(id)
		return err
	}
	// Keep collecting acks until every reached socket answered or ctx ends.
	pend.mu.Lock()
	finished := pend.acks >= pend.acksDue
	pend.cleanupWhenDone = true
	pend.mu.Unlock()
	if finished {
		reqs.forget(id)
		return nil
	}
	stop := context.AfterFunc(ctx, func() { reqs.forget(id) })
	pend.mu.Lock()
	pend.stopAfter = stop
	pend.mu.Unlock()
	reqs.maybeFinished(id, pend) // in case the last ack came meanwhile
	return nil
}

// AddSockets implements [room.Adapter].
func (a *Adapter) AddSockets(ctx context.Context, opts room.Options, rooms ...string) error {
	if err := a.local.AddSockets(ctx, opts, rooms...); err != nil || opts.Flags.Local {
		return err
	}
	return a.publishRequest(ctx, "sockets join", roomsRequest(a.node.uid, reqRemoteJoin, opts, rooms))
}

// DelSockets implements [room.Adapter].
func (a *Adapter) DelSockets(ctx context.Context, opts room.Options, rooms ...string) error {
	if err := a.local.DelSockets(ctx, opts, rooms...); err != nil || opts.Flags.Local {
		return err
	}
	return a.publishRequest(ctx, "sockets leave", roomsRequest(a.node.uid, reqRemoteLeave, opts, rooms))
}

// DisconnectSockets implements [room.Adapter].
func (a *Adapter) DisconnectSockets(ctx context.Context, opts room.Options, close bool) error {
	var err error
	if !opts.Flags.Local {
		// Queued first, as socket.io publishes first; the local sockets go
		// either way.
		err = a.publishRequest(ctx, "disconnect sockets", disconnectRequest(a.node.uid, opts, close))
	}
	return errors.Join(err, a.local.DisconnectSockets(ctx, opts, close))
}

// publishRequest publishes a request that expects no answer, waiting
// until Redis took it (at most RequestTimeout or until ctx ends); while
// Redis is unreachable it fails at once with [ErrUnavailable].
func (a *Adapter) publishRequest(ctx context.Context, what string, req jsonRequest) error {
	if a.isClosed() {
		return room.ErrClosed
	}
	payload, err := a.encodeRequest(req)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", what, err)
	}
	return a.node.publishWait(ctx, a.reqChannel, payload)
}

func (a *requests) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// ServerSideEmit implements [room.ServerSideEmitter].
func (a *Adapter) ServerSideEmit(ctx context.Context, data json.RawMessage) error {
	return a.publishRequest(ctx, "server-side emit", jsonRequest{UID: a.node.uid, Type: reqServerSideEmit, Data: data})
}

// ServerSideEmitWithAck implements [room.ServerSideEmitter].
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, data json.RawMessage) ([]json.RawMessage, error) {
	id := a.node.requestID()
	payload, err := a.encodeRequest(jsonRequest{UID: a.node.uid, RequestID: id, Type: reqServerSideEmit, Data: data})
	if err != nil {
		return nil, fmt.Errorf("redis: server-side emit: %w", err)
	}
	p := newPending(reqServerSideEmit)
	err = a.request(ctx, "server-side emit", id, p, payload)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replies, err
}

// Close implements [room.Adapter]: it unsubscribes, and fails the requests
// still waiting with [room.ErrClosed].
func (a *Adapter) Close() error {
	if !a.closeRequests() {
		return nil
	}
	a.node.unregister(a)
	return a.local.Close()
}

// closeRequests fails the pending requests with room.ErrClosed; false if
// already closed.
func (a *requests) closeRequests() bool {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return false
	}
	a.closed = true
	pend := a.pending
	a.pending = nil
	a.mu.Unlock()
	for _, p := range pend {
		p.fail(room.ErrClosed)
	}
	return true
}

// ---- requests from other nodes ----------------------------------------------

// respond publishes an answer to the requesting node's own response
// channel (or the shared one when the request named no node).
func (a *Adapter) respond(uid string, payload []byte) {
	channel := a.respChannel
	if uid != "" {
		channel += uid + "#"
	}
	a.node.send(channel, payload)
}

// answerFetch answers a FetchSockets request with this node's sockets.
func (a *Adapter) answerFetch(uid, id string, socks []wireSocket) {
	if a.node.mode != "" {
		if socks == nil {
			socks = []wireSocket{}
		}
		a.respondShard(uid, shFetchResponse, shardData{RequestID: id, Sockets: &socks})
		return
	}
	a.respondJSON(uid, struct {
		RequestID string       `json:"requestId"`
		Sockets   []wireSocket `json:"sockets"`
	}{id, socks})
}

// answerCount tells a node awaiting acks how many sockets got its
// broadcast here.
func (a *Adapter) answerCount(uid, id string, n int) {
	if a.node.mode != "" {
		a.respondShard(uid, shClientCount, shardData{RequestID: id, ClientCount: &n})
		return
	}
	a.respondJSON(uid, struct {
		Type        int    `json:"type"`
		RequestID   string `json:"requestId"`
		ClientCount int    `json:"clientCount"`
	}{reqBroadcastClientCount, id, n})
}

// answerServerSide answers a server-side event: Node.js nodes read the
// first argument (data, or packet for the sharded protocol); Go nodes
// read them all (args) when there is not exactly one.
func (a *Adapter) answerServerSide(uid, id string, args json.RawMessage) {
	first, single := firstArg(args)
	var all json.RawMessage
	if !single {
		all = rawOr(args, "[]")
	}
	if a.node.mode != "" {
		a.respondShard(uid, shServerSideEmitResponse, shardData{RequestID: id, Packet: first, Args: all})
		return
	}
	a.respondJSON(uid, struct {
		Type      int             `json:"type"`
		RequestID string          `json:"requestId"`
		Data      json.RawMessage `json:"data,omitempty"`
		Args      json.RawMessage `json:"args,omitempty"`
	}{Type: reqServerSideEmit, RequestID: id, Data: first, Args: all})
}

// encodeAck encodes one ack of a broadcast another node awaits.
func (a *Adapter) encodeAck(id string, ack room.Ack) ([]byte, error) {
	if a.node.mode != "" {
		return a.encodeShardAck(id, ack)
	}
	return appendAckResponse(nil, id, ack)
}

func (a *Adapter) respondJSON(uid string, v any) {
	payload, err := json.Marshal(v)
	if err != nil {
		a.node.log.Warn("redis: encoding an answer", "err", err)
		return
	}
	a.respond(uid, payload)
}

func (a *Adapter) onRequest(payload string) {
	if len(payload) == 0 {
		return
	}
	if payload[0] != '{' {
		a.onMsgpackRequest(bytesOf(payload))
		return
	}
	var req jsonRequest
	if err := json.Unmarshal([]byte(payload), &req); err != nil {
		a.node.log.Debug("redis: malformed request", "err", err)
		return
	}
	if req.UID == a.node.uid {
		return // our own: already applied here
	}
	a.handleRequest(req)
}

// handleRequest applies another node's request (decoded from either
// protocol) and answers it.
func (a *Adapter) handleRequest(req jsonRequest) {
	ctx := context.Background()
	type idOnly struct {
		RequestID string `json:"requestId"`
	}
	switch req.Type {
	case reqSockets:
		var rooms []string
		if req.Rooms != nil {
			rooms = *req.Rooms
		}
		a.respondJSON(req.UID, struct {
			RequestID string   `json:"requestId"`
			Sockets   roomList `json:"sockets"`
		}{req.RequestID, a.local.Sockets(rooms...)})
	case reqAllRooms:
		a.respondJSON(req.UID, struct {
			RequestID string   `json:"requestId"`
			Rooms     roomList `json:"rooms"`
		}{req.RequestID, a.localRooms()})
	case reqRemoteJoin, reqRemoteLeave:
		if req.Opts != nil {
			var rooms []string
			if req.Rooms != nil {
				rooms = *req.Rooms
			}
			if req.Type == reqRemoteJoin {
				_ = a.local.AddSockets(ctx, req.Opts.options(), rooms...)
			} else {
				_ = a.local.DelSockets(ctx, req.Opts.options(), rooms...)
			}
			return
		}
		var r roomList
		if req.SID == "" || !a.local.HasSocket(req.SID) || r.UnmarshalJSON(inArray(req.Room)) != nil || len(r) != 1 {
			return
		}
		if req.Type == reqRemoteJoin {
			a.local.AddAll(req.SID, r[0])
		} else {
			a.local.Del(req.SID, r[0])
		}
		a.respondJSON(req.UID, idOnly{req.RequestID})
	case reqRemoteDisconnect:
		// Disconnecting runs the sockets' disconnect handlers: not on the
		// receive loop.
		if req.Opts != nil {
			opts := req.Opts.options()
			a.node.do(func() { _ = a.local.DisconnectSockets(ctx, opts, req.Close) })
			return
		}
		if req.SID == "" || !a.local.HasSocket(req.SID) {
			return
		}
		a.node.do(func() { a.ns.Disconnect([]string{req.SID}, req.Close) })
		a.respondJSON(req.UID, idOnly{req.RequestID})
	case reqRemoteFetch:
		infos, _ := a.local.FetchSockets(ctx, req.Opts.options())
		socks := make([]wireSocket, len(infos))
		for i, s := range infos {
			socks[i] = wireSocket{ID: s.ID, Handshake: nodeHandshake(rawOr(s.Handshake, "{}")), Rooms: s.Rooms, Data: rawOr(s.Data, "null")}
		}
		a.answerFetch(req.UID, req.RequestID, socks)
	case reqServerSideEmit:
		a.onServerSideEmit(req)
	case reqBroadcast:
		// A broadcast request encoded as JSON (a Node adapter with a JSON
		// parser): no binary possible.
		if req.Packet == nil || req.RequestID == "" {
			return
		}
		if req.Packet.Nsp != "" && req.Packet.Nsp != a.name {
			return
		}
		a.broadcastForAck(req.UID, req.RequestID, &room.Packet{Namespace: a.name, Data: req.Packet.Data}, req.Opts.options())
	default:
		a.node.log.Debug("redis: unknown request type", "type", req.Type)
	}
}

// onMsgpackRequest handles a BROADCAST request (msgpack-encoded).
func (a *Adapter) onMsgpackRequest(b []byte) {
	r := msgpack.NewReader(b, 0)
	n, err := r.MapLen()
	if err != nil {
		a.node.log.Debug("redis: malformed request", "err", err)
		return
	}
	var (
		uid, id string
		typ     int64 = -1
		pkt     decodedPacket
		opts    room.Options
	)
	for range n {
		key, err := r.StrBytes()
		if err == nil {
			switch string(key) {
			case "uid":
				uid, err = r.ScalarString()
				if err == nil && uid == a.node.uid {
					return // our own
				}
			case "requestId":
				id, err = r.ScalarString()
			case "type":
				typ, err = r.Int()
			case "packet":
				pkt, err = readPacket(&r)
			case "opts":
				opts, err = readOpts(&r)
			default:
				err = r.Skip()
			}
		}
		if err != nil {
			a.node.log.Debug("redis: malformed request", "err", err)
			return
		}
	}
	if typ != reqBroadcast || id == "" || !pkt.ok || pkt.nsp != a.name {
		if typ != reqBroadcast {
			a.node.log.Debug("redis: unknown msgpack request", "type", typ)
		}
		return
	}
	a.broadcastForAck(uid, id, &room.Packet{Namespace: a.name, Data: pkt.data, Attachments: pkt.atts}, opts)
}

// broadcastForAck delivers another node's broadcast that awaits acks, and
// sends it the count of sockets reached and then each ack.
func (a *Adapter) broadcastForAck(uid, id string, p *room.Packet, opts room.Options) {
	opts.Flags.Local = true
	_ = a.local.BroadcastWithAck(context.Background(), p, opts,
		func(n int) { a.answerCount(uid, id, n) },
		func(ack room.Ack) {
			payload, err := a.encodeAck(id, ack)
			if err != nil {
				a.node.log.Debug("redis: encoding an ack", "err", err)
				return
			}
			a.respond(uid, payload)
		})
}

// onServerSideEmit hands another node's server-side event to the
// namespace, on the node's worker goroutine.
func (a *Adapter) onServerSideEmit(req jsonRequest) {
	h, ok := a.ns.(room.ServerSideHandler)
	if !ok || len(req.Data) == 0 {
		return
	}
	var reply func(json.RawMessage)
	if req.RequestID != "" {
		var once sync.Once
		uid, id := req.UID, req.RequestID
		reply = func(args json.RawMessage) {
			once.Do(func() {
				a.answerServerSide(uid, id, args)
			})
		}
	}
	data := req.Data
	a.node.do(func() { h.HandleServerSideEmit(data, reply) })
}

// ---- responses ----------------------------------------------------------------

func (a *Adapter) onResponse(payload string) {
	if len(payload) == 0 {
		return
	}
	if payload[0] != '{' {
		resp, err := readMsgpackResponse(bytesOf(payload))
		if err != nil {
			a.node.log.Debug("redis: malformed response", "err", err)
			return
		}
		if resp.typ == reqBroadcastAck {
			if p := a.lookup(resp.requestID); p != nil && p.kind == reqBroadcast {
				a.ackArrived(resp.requestID, p, room.Ack{Data: resp.args, Attachments: resp.atts})
			}
		}
		return
	}
	var resp jsonResponse
	if err := json.Unmarshal([]byte(payload), &resp); err != nil {
		a.node.log.Debug("redis: malformed response", "err", err)
		return
	}
	a.handleResponse(resp)
}

// handleResponse takes another node's answer (decoded from either
// protocol) to one of this node's requests.
func (a *Adapter) handleResponse(resp jsonResponse) {
	p := a.lookup(resp.RequestID)
	if p == nil {
		return
	}
	switch p.kind {
	case reqRemoteFetch:
		var socks []wireSocket
		if json.Unmarshal(resp.Sockets, &socks) != nil {
			a.node.log.Debug("redis: malformed fetch sockets answer")
			return
		}
		infos := make([]room.SocketInfo, len(socks))
		for i, s := range socks {
			infos[i] = room.SocketInfo{ID: s.ID, Namespace: a.name, Rooms: s.Rooms,
				Handshake: rawOr(s.Handshake, "{}"), Data: rawOr(s.Data, "null")}
		}
		p.answered(infos, nil, nil)
	case reqAllRooms:
		p.answered(nil, resp.Rooms, nil)
	case reqServerSideEmit:
		p.answered(nil, nil, answerArgs(resp.Args, resp.Data))
	case reqBroadcast:
		switch resp.Type {
		case reqBroadcastClientCount:
			a.clientCount(resp.RequestID, p, resp.ClientCount)
		case reqBroadcastAck:
			a.ackArrived(resp.RequestID, p, room.Ack{Data: answerArgs(resp.Args, resp.Data)})
		}
	}
}

// clientCount records how many sockets a node reached with a broadcast
// awaiting acks.
func (a *requests) clientCount(id string, p *pending, n int) {
	// The caller learns the count before the request can complete: else
	// it could stop waiting one node's acks short.
	p.onCount(n)
	p.mu.Lock()
	p.got++
	p.acksDue += n
	p.checkLocked()
	p.mu.Unlock()
	a.maybeFinished(id, p)
}

func (a *requests) ackArrived(id string, p *pending, ack room.Ack) {
	p.mu.Lock()
	p.acks++
	p.mu.Unlock()
	p.onAck(ack)
	a.maybeFinished(id, p)
}

// maybeFinished forgets a broadcast once every node counted and every
// counted socket answered.
func (a *requests) maybeFinished(id string, p *pending) {
	p.mu.Lock()
	done := p.cleanupWhenDone && p.want >= 0 && p.got >= p.want && p.acks >= p.acksDue
	stop := p.stopAfter
	p.mu.Unlock()
	if done {
		a.forget(id)
		if stop != nil {
			stop()
		}
	}
}
