package redis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/room"
)

// Message types, as numbered by socket.io-adapter's ClusterAdapter (the
// base of @socket.io/redis-streams-adapter).
const (
	msgBroadcast              = 3
	msgSocketsJoin            = 4
	msgSocketsLeave           = 5
	msgDisconnectSockets      = 6
	msgFetchSockets           = 7
	msgFetchSocketsResponse   = 8
	msgServerSideEmit         = 9
	msgServerSideEmitResponse = 10
	msgBroadcastClientCount   = 11
	msgBroadcastAck           = 12
)

// NewStreams returns the adapter factory for hub.Options.Adapter of a
// cluster on a Redis stream, wire-compatible with
// @socket.io/redis-streams-adapter 0.3: every namespace of the hub gets a
// [*StreamsAdapter] on client. Give each hub its own NewStreams: the hub
// is one node of the cluster. A nil opts means defaults.
func NewStreams(client goredis.UniversalClient, opts *StreamsOptions) func(room.Local) room.Adapter {
	o := opts.resolve()
	f := &factory{client: client, opts: o.Options}
	return func(ns room.Local) room.Adapter {
		name := ns.Name()
		log := o.Logger
		if log == nil {
			log = room.LoggerOf(ns)
		}
		if client == nil {
			log.Error("redis: NewStreams was given a nil client; namespace " + name + " stays on this node")
			return room.NewMemory(ns)
		}
		if name == "" {
			return room.NewMemory(ns) // a dynamic namespace's parent: no sockets
		}
		n := f.nodeFor(name, log)
		n.life.Lock()
		if n.streams == nil {
			n.streams = &streamState{opts: o, members: make(map[string]*StreamsAdapter)}
		}
		n.life.Unlock()
		a := newStreamsAdapter(ns, n)
		n.streams.mu.Lock()
		n.streams.members[name] = a
		n.streams.mu.Unlock()
		n.register(a)
		return a
	}
}

// StreamsAdapter is one namespace's adapter on a Redis stream. Broadcasts
// and room operations are entries of the stream, which every node reads
// in the same order, its own entries included: every socket of the
// cluster gets the broadcasts in one order, and each broadcast carries
// its entry id as offset. Requests that need answers (FetchSockets,
// EmitWithAck, ServerSideEmit) travel over pub/sub, as in the Node
// adapter.
//
// It is a [room.SessionStore]: with connection state recovery on, a
// namespace keeps its disconnected sessions in Redis, and a client
// recovers on any node.
type StreamsAdapter struct {
	local *room.Memory
	ns    room.Local
	node  *node
	st    *streamState
	name  string

	pubChannel  string // K#N#
	privChannel string // K#N#uid#

	requests
}

var (
	_ room.Adapter           = (*StreamsAdapter)(nil)
	_ room.ServerSideEmitter = (*StreamsAdapter)(nil)
	_ room.SessionStore      = (*StreamsAdapter)(nil)
	_ room.Notifier          = (*StreamsAdapter)(nil)
)

func newStreamsAdapter(ns room.Local, n *node) *StreamsAdapter {
	name := ns.Name()
	return &StreamsAdapter{
		local:       room.NewMemory(ns).(*room.Memory),
		ns:          ns,
		node:        n,
		st:          n.streams,
		name:        name,
		pubChannel:  n.opts.Key + "#" + name + "#",
		privChannel: n.opts.Key + "#" + name + "#" + n.uid + "#",
		requests:    requests{pending: make(map[string]*pending)},
	}
}

func (a *StreamsAdapter) nspName() string { return a.name }

func (a *StreamsAdapter) subs() []sub {
	return []sub{{name: a.pubChannel, kind: routeRequest}, {name: a.privChannel, kind: routeResponse}}
}

func (a *StreamsAdapter) handle(_ int, _, payload string) { a.onMessage(bytesOf(payload)) }

// UID is the node's id in the cluster.
func (a *StreamsAdapter) UID() string { return a.node.uid }

// Ready waits until the adapter's Redis subscriptions are active and the
// node knows where it reads the stream from.
func (a *StreamsAdapter) Ready(ctx context.Context) error {
	if err := a.node.waitSubscribed(ctx, a); err != nil {
		return err
	}
	for a.st.position() == "" {
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("redis: waiting for the stream: %w", ctx.Err())
		}
	}
	return nil
}

// ServerCount returns the number of nodes serving this namespace, this
// one included.
func (a *StreamsAdapter) ServerCount(ctx context.Context) (int, error) {
	return a.node.serverCount(ctx, a.pubChannel)
}

// Stats returns the node's totals.
func (a *StreamsAdapter) Stats() StreamsStats {
	st := a.st
	return StreamsStats{
		Stats:             a.node.totals(),
		Entries:           st.entries.Load(),
		SessionsSaved:     st.saved.Load(),
		SessionSaveFailed: st.saveFailed.Load(),
		Recovered:         st.recovered.Load(),
		RecoveryExpired:   st.expired.Load(),
		RecoveryFailed:    st.failed.Load(),
		ReadErrors:        st.rdErrs.Load(),
		EntriesMissed:     st.missed.Load(),
	}
}

// AddAll implements [room.Adapter].
func (a *StreamsAdapter) AddAll(id string, rooms ...string) { a.local.AddAll(id, rooms...) }

// Del implements [room.Adapter].
func (a *StreamsAdapter) Del(id, r string) { a.local.Del(id, r) }

// DelAll implements [room.Adapter].
func (a *StreamsAdapter) DelAll(id string) { a.local.DelAll(id) }

// Rooms implements [room.Adapter].
func (a *StreamsAdapter) Rooms(id string) []string { return a.local.Rooms(id) }

// Sockets implements [room.Adapter]: the local sockets.
func (a *StreamsAdapter) Sockets(rooms ...string) []string { return a.local.Sockets(rooms...) }

// RoomNames implements [room.Adapter]: the rooms with local members.
func (a *StreamsAdapter) RoomNames() []string { return a.local.RoomNames() }

// OnRoomEvent implements [room.Notifier] for this node's rooms.
func (a *StreamsAdapter) OnRoomEvent(fn func(room.Event)) { a.local.OnRoomEvent(fn) }

// ---- encoding ---------------------------------------------------------------

// wirePacket is a socket.io packet in a cluster message.
type wirePacket struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	Nsp  string          `json:"nsp"`
}

// clusterOpts are broadcast options in a cluster message.
type clusterOpts struct {
	Rooms  roomList     `json:"rooms"`
	Except roomList     `json:"except"`
	Flags  clusterFlags `json:"flags"`
}

type clusterFlags struct {
	Volatile bool  `json:"volatile,omitempty"`
	Compress *bool `json:"compress,omitempty"`
	Timeout  int64 `json:"timeout,omitempty"`
}

func toCluster(opts room.Options, timeoutMS int64) clusterOpts {
	o := clusterOpts{Rooms: opts.Rooms, Except: opts.Except, Flags: clusterFlags{Volatile: opts.Flags.Volatile, Timeout: timeoutMS}}
	if opts.Flags.NoCompress {
		f := false
		o.Flags.Compress = &f
	}
	return o
}

func (o *clusterOpts) options() room.Options {
	if o == nil {
		return room.Options{}
	}
	return room.Options{Rooms: o.Rooms, Except: o.Except, Flags: room.Flags{
		Volatile:   o.Flags.Volatile,
		NoCompress: o.Flags.Compress != nil && !*o.Flags.Compress,
	}}
}

// clusterData is the data of every cluster message, sent or received.
type clusterData struct {
	RequestID   string          `json:"requestId,omitempty"`
	Packet      json.RawMessage `json:"packet,omitempty"`
	Opts        *clusterOpts    `json:"opts,omitempty"`
	Rooms       *roomList       `json:"rooms,omitempty"`
	Close       *bool           `json:"close,omitempty"`
	ClientCount *int            `json:"clientCount,omitempty"`
	Sockets     []wireSocket    `json:"sockets,omitempty"`
	// Args carries all of a Go node's answer arguments (Node.js nodes
	// answer with one, in Packet).
	Args json.RawMessage `json:"args,omitempty"`
}

// clusterMessage is a message on the pub/sub channels (msgpack).
type clusterMessage struct {
	UID  string      `json:"uid"`
	Nsp  string      `json:"nsp"`
	Type int         `json:"type"`
	Data clusterData `json:"data"`
}

// packetJSON encodes p as a cluster message's packet.
func (a *StreamsAdapter) packetJSON(p *room.Packet) (json.RawMessage, error) {
	b, err := json.Marshal(wirePacket{Type: packetEvent, Data: p.Data, Nsp: a.name})
	if err != nil {
		return nil, fmt.Errorf("redis: broadcast: %w", err)
	}
	return b, nil
}

// encodeMessage encodes a pub/sub message as msgpack, binary
// placeholders turned into bin values taken from atts.
func (a *StreamsAdapter) encodeMessage(typ int, data clusterData, atts [][]byte) ([]byte, error) {
	j, err := json.Marshal(clusterMessage{UID: a.node.uid, Nsp: a.name, Type: typ, Data: data})
	if err != nil {
		return nil, fmt.Errorf("redis: encoding a message: %w", err)
	}
	return msgpack.AppendFromJSON(nil, j, atts)
}

// entry encodes a stream entry: uid, nsp, type, data (JSON, or base64
// msgpack when there is binary).
func (a *StreamsAdapter) entry(typ int, data clusterData, atts [][]byte) ([]string, error) {
	j, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("redis: encoding an entry: %w", err)
	}
	d := string(j)
	if len(atts) > 0 {
		mp, err := msgpack.AppendFromJSON(nil, j, atts)
		if err != nil {
			return nil, fmt.Errorf("redis: encoding an entry: %w", err)
		}
		d = base64.StdEncoding.EncodeToString(mp)
	}
	return []string{"uid", a.node.uid, "nsp", a.name, "type", fmt.Sprint(typ), "data", d}, nil
}

// broadcastFields encodes a BROADCAST entry, written directly (the hot
// path): data is {"packet":{"type":2,"data":...,"nsp":...},"opts":{...}}
// as JSON, or as base64 msgpack when there is binary.
func (a *StreamsAdapter) broadcastFields(p *room.Packet, opts room.Options) ([]string, error) {
	var d string
	if len(p.Attachments) > 0 {
		b := msgpack.AppendStr(msgpack.AppendMapLen(make([]byte, 0, 64+len(p.Data)), 2), "packet")
		b, err := appendPacket(b, p, a.name)
		if err != nil {
			return nil, fmt.Errorf("redis: broadcast: %w", err)
		}
		b = appendOpts(msgpack.AppendStr(b, "opts"), opts, 0)
		d = base64.StdEncoding.EncodeToString(b)
	} else {
		b := make([]byte, 0, 96+len(p.Data))
		b = append(b, `{"packet":{"type":2,"data":`...)
		b = append(b, p.Data...)
		b = append(b, `,"nsp":`...)
		b = socketio.AppendJSONString(b, a.name)
		b = append(b, `},"opts":{"rooms":`...)
		b = appendJSONStrings(b, opts.Rooms)
		b = append(b, `,"except":`...)
		b = appendJSONStrings(b, opts.Except)
		b = append(b, `,"flags":{`...)
		if opts.Flags.Volatile {
			b = append(b, `"volatile":true`...)
		}
		if opts.Flags.NoCompress {
			if opts.Flags.Volatile {
				b = append(b, ',')
			}
			b = append(b, `"compress":false`...)
		}
		b = append(b, "}}}"...)
		d = string(b)
	}
	return []string{"uid", a.node.uid, "nsp", a.name, "type", "3", "data", d}, nil
}

func appendJSONStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = socketio.AppendJSONString(b, s)
	}
	return append(b, ']')
}

// decodeJSON turns msgpack into JSON, bin values into placeholders.
func decodeJSON(mp []byte) (json.RawMessage, [][]byte, error) {
	var atts [][]byte
	r := msgpack.NewReader(mp, 0)
	j, err := r.AppendJSON(nil, &atts)
	return j, atts, err
}

// entryData decodes a stream entry's data field.
func entryData(s string) (clusterData, [][]byte, error) {
	var d clusterData
	var atts [][]byte
	j := []byte(s)
	if len(s) == 0 || s[0] != '{' {
		mp, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return d, nil, fmt.Errorf("%w: entry data: %v", msgpack.ErrMalformed, err)
		}
		if j, atts, err = decodeJSON(mp); err != nil {
			return d, nil, err
		}
	}
	if err := json.Unmarshal(j, &d); err != nil {
		return d, nil, err
	}
	return d, atts, nil
}

// broadcastEntry decodes the data of a BROADCAST entry: its packet and
// options, and whether it awaits acks (then it is not for the stream's
// readers). It goes through msgpack (JSON is transcoded) and the
// adapter's msgpack readers: no reflection on the hot path.
func (a *StreamsAdapter) broadcastEntry(s string) (p *room.Packet, opts room.Options, withAck bool, err error) {
	var mp []byte
	if len(s) > 0 && s[0] == '{' {
		mp, err = msgpack.AppendFromJSON(make([]byte, 0, len(s)), bytesOf(s), nil)
	} else {
		mp, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, opts, false, fmt.Errorf("%w: entry data: %v", msgpack.ErrMalformed, err)
	}
	r := msgpack.NewReader(mp, 0)
	n, err := r.MapLen()
	if err != nil {
		return nil, opts, false, err
	}
	var pkt decodedPacket
	for range n {
		key, err := r.StrBytes()
		if err != nil {
			return nil, opts, false, err
		}
		switch string(key) {
		case "packet":
			pkt, err = readPacket(&r)
		case "opts":
			opts, err = readOpts(&r)
		case "requestId":
			withAck = true
			err = r.Skip()
		default:
			err = r.Skip()
		}
		if err != nil {
			return nil, opts, false, err
		}
	}
	if !pkt.ok || len(pkt.data) == 0 || pkt.data[0] != '[' || pkt.nsp != a.name {
		return nil, opts, withAck, fmt.Errorf("%w: broadcast entry without a packet of %s", msgpack.ErrMalformed, a.name)
	}
	return &room.Packet{Namespace: a.name, Data: pkt.data, Attachments: pkt.atts}, opts, withAck, nil
}

// broadcastPacket reads a broadcast's packet.
func (a *StreamsAdapter) broadcastPacket(d *clusterData, atts [][]byte) (*room.Packet, bool) {
	var wp wirePacket
	if json.Unmarshal(d.Packet, &wp) != nil || len(wp.Data) == 0 || wp.Data[0] != '[' {
		return nil, false
	}
	if wp.Nsp != "" && wp.Nsp != a.name {
		return nil, false
	}
	return &room.Packet{Namespace: a.name, Data: wp.Data, Attachments: atts}, true
}

// ---- the stream ---------------------------------------------------------------

// onEntry handles an entry of the stream, on the node's reader.
func (a *StreamsAdapter) onEntry(id string, v map[string]any) {
	uid, _ := v["uid"].(string)
	typ, _ := v["type"].(string)
	raw, _ := v["data"].(string)
	own := uid == a.node.uid
	switch typ {
	case "3":
		p, opts, withAck, err := a.broadcastEntry(raw)
		if err != nil || withAck {
			if err != nil {
				a.node.log.Debug("redis: malformed stream entry", "id", id, "err", err)
			}
			return
		}
		opts.Flags.Local = true
		p.Offset = id
		_ = a.local.Broadcast(context.Background(), p, opts)
	case "4", "5", "6":
		if own {
			return // applied here already
		}
		d, _, err := entryData(raw)
		if err != nil || d.Opts == nil {
			a.node.log.Debug("redis: malformed stream entry", "id", id, "err", err)
			return
		}
		opts := d.Opts.options()
		opts.Flags.Local = true
		var rooms []string
		if d.Rooms != nil {
			rooms = *d.Rooms
		}
		switch typ {
		case "4":
			_ = a.local.AddSockets(context.Background(), opts, rooms...)
		case "5":
			_ = a.local.DelSockets(context.Background(), opts, rooms...)
		default:
			closeAll := d.Close != nil && *d.Close
			// Disconnecting runs the sockets' handlers: not on the reader.
			a.node.do(func() { _ = a.local.DisconnectSockets(context.Background(), opts, closeAll) })
		}
	}
}

// Broadcast implements [room.Adapter]: unless opts.Flags.Local, p is
// appended to the stream, and every node's sockets, this node's included,
// get it when their node reads it back, in the stream's order and with
// the entry's id as offset. The call returns once p is queued, without
// waiting for Redis. When it cannot be queued ([ErrUnavailable],
// [ErrQueueFull]), or Redis then fails to take it, the local sockets get
// it at once, without offset, and the other nodes do not: the error is
// returned, or counted in [Stats].PublishFailed and logged.
func (a *StreamsAdapter) Broadcast(ctx context.Context, p *room.Packet, opts room.Options) error {
	if opts.Flags.Local {
		return a.local.Broadcast(ctx, p, opts)
	}
	fields, err := a.broadcastFields(p, opts)
	if err != nil {
		return err
	}
	localOnly := func() {
		lo := opts
		lo.Flags.Local = true
		_ = a.local.Broadcast(context.Background(), p, lo)
	}
	err = a.node.enqueue(pubItem{channel: a.st.opts.StreamName, entry: fields, maxLen: a.st.opts.MaxLen,
		failed: func(error) { localOnly() }})
	if err != nil {
		localOnly()
		return err
	}
	return nil
}

// publishEntry appends a room operation to the stream and waits until
// Redis took it, at most RequestTimeout or until ctx ends.
func (a *StreamsAdapter) publishEntry(ctx context.Context, what string, typ int, data clusterData) error {
	if a.isClosed() {
		return room.ErrClosed
	}
	fields, err := a.entry(typ, data, nil)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", what, err)
	}
	_, err = a.node.publishAndCount(ctx, pubItem{channel: a.st.opts.StreamName, entry: fields, maxLen: a.st.opts.MaxLen})
	return err
}

// AddSockets implements [room.Adapter].
func (a *StreamsAdapter) AddSockets(ctx context.Context, opts room.Options, rooms ...string) error {
	if err := a.local.AddSockets(ctx, opts, rooms...); err != nil || opts.Flags.Local {
		return err
	}
	co, rl := toCluster(opts, 0), roomList(rooms)
	return a.publishEntry(ctx, "sockets join", msgSocketsJoin, clusterData{Opts: &co, Rooms: &rl})
}

// DelSockets implements [room.Adapter].
func (a *StreamsAdapter) DelSockets(ctx context.Context, opts room.Options, rooms ...string) error {
	if err := a.local.DelSockets(ctx, opts, rooms...); err != nil || opts.Flags.Local {
		return err
	}
	co, rl := toCluster(opts, 0), roomList(rooms)
	return a.publishEntry(ctx, "sockets leave", msgSocketsLeave, clusterData{Opts: &co, Rooms: &rl})
}

// DisconnectSockets implements [room.Adapter].
func (a *StreamsAdapter) DisconnectSockets(ctx context.Context, opts room.Options, close bool) error {
	var err error
	if !opts.Flags.Local {
		co := toCluster(opts, 0)
		err = a.publishEntry(ctx, "disconnect sockets", msgDisconnectSockets, clusterData{Opts: &co, Close: &close})
	}
	return errors.Join(err, a.local.DisconnectSockets(ctx, opts, close))
}

// ---- requests over pub/sub --------------------------------------------------

// BroadcastWithAck implements [room.Adapter], as [Adapter.BroadcastWithAck]
// does (such broadcasts are not kept in the stream: their acks could not
// be replayed).
func (a *StreamsAdapter) BroadcastWithAck(ctx context.Context, p *room.Packet, opts room.Options, onCount func(int), onAck func(room.Ack)) error {
	if opts.Flags.Local {
		return a.local.BroadcastWithAck(ctx, p, opts, onCount, onAck)
	}
	var timeoutMS int64
	if d, ok := ctx.Deadline(); ok {
		timeoutMS = max(time.Until(d).Milliseconds(), 1)
	}
	pj, err := a.packetJSON(p)
	if err != nil {
		return err
	}
	id := a.node.requestID()
	co := toCluster(opts, timeoutMS)
	b, err := a.encodeMessage(msgBroadcast, clusterData{RequestID: id, Packet: pj, Opts: &co}, p.Attachments)
	if err != nil {
		return err
	}
	if err := a.local.BroadcastWithAck(ctx, p, opts, onCount, onAck); err != nil {
		return err
	}
	return a.node.collectAcks(ctx, &a.requests, id, a.pubChannel, b, onCount, onAck)
}

// request publishes a request and waits for the other nodes' answers.
func (a *StreamsAdapter) request(ctx context.Context, what, id string, p *pending, typ int, data clusterData) error {
	payload, err := a.encodeMessage(typ, data, nil)
	if err != nil {
		return err
	}
	if err := a.register(id, p); err != nil {
		return err
	}
	defer a.forget(id)
	numSub, err := a.node.publishCounted(ctx, a.pubChannel, payload)
	if err != nil {
		return err
	}
	p.setWant(numSub - 1)
	return a.node.await(ctx, what, p)
}

// FetchSockets implements [room.Adapter], as [Adapter.FetchSockets] does.
func (a *StreamsAdapter) FetchSockets(ctx context.Context, opts room.Options) ([]room.SocketInfo, error) {
	local, err := a.local.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	id := a.node.requestID()
	p := newPending(reqRemoteFetch)
	p.sockets = local
	co := toCluster(opts, 0)
	err = a.request(ctx, "fetch sockets", id, p, msgFetchSockets, clusterData{RequestID: id, Opts: &co})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sockets, err
}

// ServerSideEmit implements [room.ServerSideEmitter].
func (a *StreamsAdapter) ServerSideEmit(ctx context.Context, data json.RawMessage) error {
	if a.isClosed() {
		return room.ErrClosed
	}
	payload, err := a.encodeMessage(msgServerSideEmit, clusterData{Packet: data}, nil)
	if err != nil {
		return err
	}
	return a.node.publishWait(ctx, a.pubChannel, payload)
}

// ServerSideEmitWithAck implements [room.ServerSideEmitter].
func (a *StreamsAdapter) ServerSideEmitWithAck(ctx context.Context, data json.RawMessage) ([]json.RawMessage, error) {
	id := a.node.requestID()
	p := newPending(reqServerSideEmit)
	err := a.request(ctx, "server-side emit", id, p, msgServerSideEmit, clusterData{RequestID: id, Packet: data})
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replies, err
}

// respond sends an answer to node uid's private channel.
func (a *StreamsAdapter) respond(uid string, typ int, data clusterData, atts [][]byte) {
	payload, err := a.encodeMessage(typ, data, atts)
	if err != nil {
		a.node.log.Warn("redis: encoding an answer", "err", err)
		return
	}
	a.node.send(a.node.opts.Key+"#"+a.name+"#"+uid+"#", payload)
}

// onMessage handles a pub/sub message: a request or an answer.
func (a *StreamsAdapter) onMessage(b []byte) {
	j, atts, err := decodeJSON(b)
	var m clusterMessage
	if err == nil {
		err = json.Unmarshal(j, &m)
	}
	if err != nil {
		a.node.log.Debug("redis: malformed message", "err", err)
		return
	}
	if m.UID == a.node.uid || (m.Nsp != "" && m.Nsp != a.name) {
		return
	}
	d := &m.Data
	switch m.Type {
	case msgBroadcast:
		p, ok := a.broadcastPacket(d, atts)
		if !ok || d.RequestID == "" {
			return
		}
		a.broadcastForAck(m.UID, d.RequestID, p, d.Opts.options())
	case msgFetchSockets:
		infos, _ := a.local.FetchSockets(context.Background(), d.Opts.options())
		socks := make([]wireSocket, len(infos))
		for i, s := range infos {
			socks[i] = wireSocket{ID: s.ID, Handshake: nodeHandshake(rawOr(s.Handshake, "{}")), Rooms: s.Rooms, Data: rawOr(s.Data, "null")}
		}
		a.respond(m.UID, msgFetchSocketsResponse, clusterData{RequestID: d.RequestID, Sockets: socks}, nil)
	case msgServerSideEmit:
		a.onServerSideEmit(m.UID, d)
	case msgFetchSocketsResponse, msgServerSideEmitResponse, msgBroadcastClientCount, msgBroadcastAck:
		a.onResponse(m.Type, d, atts)
	}
}

// broadcastForAck delivers another node's broadcast that awaits acks, and
// sends it the count of sockets reached and then each ack.
func (a *StreamsAdapter) broadcastForAck(uid, id string, p *room.Packet, opts room.Options) {
	opts.Flags.Local = true
	_ = a.local.BroadcastWithAck(context.Background(), p, opts,
		func(n int) {
			a.respond(uid, msgBroadcastClientCount, clusterData{RequestID: id, ClientCount: &n}, nil)
		},
		func(ack room.Ack) {
			first, single := firstArg(ack.Data)
			d := clusterData{RequestID: id, Packet: rawOr(first, "null")}
			if !single {
				d.Args = rawOr(ack.Data, "[]")
			}
			a.respond(uid, msgBroadcastAck, d, ack.Attachments)
		})
}

// onServerSideEmit hands another node's server-side event to the
// namespace, on the node's worker goroutine.
func (a *StreamsAdapter) onServerSideEmit(uid string, d *clusterData) {
	h, ok := a.ns.(room.ServerSideHandler)
	if !ok || len(d.Packet) == 0 || d.Packet[0] != '[' {
		return
	}
	var reply func(json.RawMessage)
	if id := d.RequestID; id != "" {
		var once sync.Once
		reply = func(args json.RawMessage) {
			once.Do(func() {
				first, single := firstArg(args)
				resp := clusterData{RequestID: id, Packet: rawOr(first, "null")}
				if !single {
					resp.Args = rawOr(args, "[]")
				}
				a.respond(uid, msgServerSideEmitResponse, resp, nil)
			})
		}
	}
	data := d.Packet
	a.node.do(func() { h.HandleServerSideEmit(data, reply) })
}

// onResponse handles another node's answer to a request of this node.
func (a *StreamsAdapter) onResponse(typ int, d *clusterData, atts [][]byte) {
	p := a.lookup(d.RequestID)
	if p == nil {
		return
	}
	switch {
	case typ == msgFetchSocketsResponse && p.kind == reqRemoteFetch:
		infos := make([]room.SocketInfo, len(d.Sockets))
		for i, s := range d.Sockets {
			infos[i] = room.SocketInfo{ID: s.ID, Namespace: a.name, Rooms: s.Rooms,
				Handshake: rawOr(s.Handshake, "{}"), Data: rawOr(s.Data, "null")}
		}
		p.answered(infos, nil, nil)
	case typ == msgServerSideEmitResponse && p.kind == reqServerSideEmit:
		p.answered(nil, nil, answerArgs(d.Args, d.Packet))
	case typ == msgBroadcastClientCount && p.kind == reqBroadcast && d.ClientCount != nil:
		a.clientCount(d.RequestID, p, *d.ClientCount)
	case typ == msgBroadcastAck && p.kind == reqBroadcast:
		a.ackArrived(d.RequestID, p, room.Ack{Data: answerArgs(d.Args, d.Packet), Attachments: atts})
	}
}

// Close implements [room.Adapter]: it stops reading for this namespace,
// and fails the requests still waiting with [room.ErrClosed].
func (a *StreamsAdapter) Close() error {
	if !a.closeRequests() {
		return nil
	}
	a.st.mu.Lock()
	if a.st.members[a.name] == a {
		delete(a.st.members, a.name)
	}
	a.st.mu.Unlock()
	a.node.unregister(a)
	return a.local.Close()
}
