package redis

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-realtime/realtime/internal/msgpack"
	"github.com/go-realtime/realtime/room"
)

// The sharded protocol is socket.io-adapter's ClusterAdapter's, as
// @socket.io/redis-adapter's createShardedAdapter publishes it: every
// message is {uid, nsp, type, data}, JSON, or msgpack when its data holds
// binary. With key prefix K and namespace N:
//   - everything goes to "K#N#", except the answers, which go to the
//     requesting node's "K#N#uid#", and, in the dynamic modes, broadcasts
//     without ack to exactly one room, which go to "K#N#room#";
//   - the number of nodes is the number of subscribers of "K#N#"
//     (PUBSUB SHARDNUMSUB).

// Message types of the ClusterAdapter protocol.
const (
	shBroadcast              = 3
	shSocketsJoin            = 4
	shSocketsLeave           = 5
	shDisconnectSockets      = 6
	shFetchSockets           = 7
	shFetchResponse          = 8
	shServerSideEmit         = 9
	shServerSideEmitResponse = 10
	shClientCount            = 11
	shBroadcastAck           = 12
)

// socketIDLen is the length of socket ids, which createShardedAdapter's
// dynamic mode takes for private rooms when it publishes.
const socketIDLen = 20

// initSharded sets up a sharded adapter (called by newAdapter).
func (a *Adapter) initSharded() {
	a.reqChannel = a.channel  // requests and their node count
	a.respChannel = a.channel // answers go to K#N#uid#
	a.ownRespChannel = a.channel + a.node.uid + "#"
	a.roomChans = make(map[string]bool)
	if a.node.mode != Static {
		a.local.OnRoomEvent(a.shardRoomEvent)
	}
}

// shardRoomEvent subscribes a room's channel while the room has members
// here (dynamic modes).
func (a *Adapter) shardRoomEvent(e room.Event) {
	switch e.Kind {
	case room.CreateRoom:
		if a.node.mode == DynamicPrivate || !a.local.HasSocket(e.Room) {
			a.wantRoom(e.Room, true)
		}
	case room.DeleteRoom:
		a.wantRoom(e.Room, false)
	}
}

// wantRoom records whether room's channel is subscribed; the node's
// subscriber applies it without making the caller wait.
func (a *Adapter) wantRoom(r string, on bool) {
	ch := a.channel + r + "#"
	a.mu.Lock()
	if a.closed || a.roomChans[ch] == on {
		a.mu.Unlock()
		return
	}
	if on {
		a.roomChans[ch] = true
	} else {
		delete(a.roomChans, ch)
	}
	a.mu.Unlock()
	n := a.node
	n.mu.Lock()
	if on {
		n.channels[ch] = route{a, routeShardRoom}
	} else if rt, ok := n.channels[ch]; ok && rt.m == member(a) && rt.kind == routeShardRoom {
		delete(n.channels, ch)
	}
	n.mu.Unlock()
	if r := n.cur.Load(); r != nil && r.shards != nil {
		r.shards.set(on, []string{ch})
	}
}

// shardChannels lists every channel a sharded adapter subscribes.
func (a *Adapter) shardChannels() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, 2+len(a.roomChans))
	out = append(out, a.channel, a.ownRespChannel)
	for c := range a.roomChans {
		out = append(out, c)
	}
	return out
}

// roomChannel is where a broadcast goes (createShardedAdapter's
// computeChannel).
func (a *Adapter) roomChannel(opts room.Options, withAck bool) string {
	if withAck || len(opts.Rooms) != 1 {
		return a.channel
	}
	r := opts.Rooms[0]
	switch a.node.mode {
	case Dynamic:
		if len(r) == socketIDLen {
			return a.channel
		}
	case DynamicPrivate:
	default:
		return a.channel
	}
	return a.channel + r + "#"
}

// ---- encoding -------------------------------------------------------------------

// shardOut is a message in JSON.
type shardOut struct {
	UID  string    `json:"uid"`
	Nsp  string    `json:"nsp"`
	Type int       `json:"type"`
	Data shardData `json:"data"`
}

// shardData is the data of every message, sent or received.
type shardData struct {
	RequestID   string          `json:"requestId,omitempty"`
	Packet      json.RawMessage `json:"packet,omitempty"`
	Opts        *shardOpts      `json:"opts,omitempty"`
	Rooms       *roomList       `json:"rooms,omitempty"`
	Close       *bool           `json:"close,omitempty"`
	Sockets     *[]wireSocket   `json:"sockets,omitempty"` // [] when empty
	ClientCount *int            `json:"clientCount,omitempty"`
	// Args carries all of a Go node's answer arguments when there is not
	// exactly one (Node.js nodes answer with one, in Packet).
	Args json.RawMessage `json:"args,omitempty"`
}

// shardOpts select sockets; flags as socket.io's BroadcastFlags.
type shardOpts struct {
	Rooms  roomList `json:"rooms"`
	Except roomList `json:"except"`
	Flags  struct {
		Volatile bool  `json:"volatile,omitempty"`
		Compress *bool `json:"compress,omitempty"`
		Timeout  int64 `json:"timeout,omitempty"`
	} `json:"flags"`
}

func toShardOpts(opts room.Options, timeoutMS int64) *shardOpts {
	o := &shardOpts{Rooms: roomList(opts.Rooms), Except: roomList(opts.Except)}
	o.Flags.Volatile = opts.Flags.Volatile
	if opts.Flags.NoCompress {
		f := false
		o.Flags.Compress = &f
	}
	o.Flags.Timeout = timeoutMS
	return o
}

func (o *shardOpts) options() room.Options {
	if o == nil {
		return room.Options{}
	}
	r := room.Options{Rooms: o.Rooms, Except: o.Except}
	r.Flags.Volatile = o.Flags.Volatile
	r.Flags.NoCompress = o.Flags.Compress != nil && !*o.Flags.Compress
	return r
}

func (a *Adapter) marshalShard(typ int, d shardData) ([]byte, error) {
	return json.Marshal(shardOut{UID: a.node.uid, Nsp: a.name, Type: typ, Data: d})
}

// respondShard publishes an answer to the requesting node.
func (a *Adapter) respondShard(uid string, typ int, d shardData) {
	payload, err := a.marshalShard(typ, d)
	if err != nil {
		a.node.log.Warn("redis: encoding an answer", "err", err)
		return
	}
	a.respond(uid, payload)
}

// encodeRequest encodes a request for the node's protocol.
func (a *Adapter) encodeRequest(req jsonRequest) ([]byte, error) {
	if a.node.mode == "" {
		return json.Marshal(req)
	}
	var rooms roomList
	if req.Rooms != nil {
		rooms = *req.Rooms
	}
	var opts room.Options
	if req.Opts != nil {
		opts = req.Opts.options()
	}
	switch req.Type {
	case reqRemoteJoin, reqRemoteLeave:
		typ := shSocketsJoin
		if req.Type == reqRemoteLeave {
			typ = shSocketsLeave
		}
		return a.marshalShard(typ, shardData{Opts: toShardOpts(opts, 0), Rooms: &rooms})
	case reqRemoteDisconnect:
		c := req.Close
		return a.marshalShard(shDisconnectSockets, shardData{Opts: toShardOpts(opts, 0), Close: &c})
	case reqRemoteFetch:
		return a.marshalShard(shFetchSockets, shardData{RequestID: req.RequestID, Opts: toShardOpts(opts, 0)})
	case reqServerSideEmit:
		return a.marshalShard(shServerSideEmit, shardData{RequestID: req.RequestID, Packet: req.Data})
	}
	return nil, fmt.Errorf("redis: request type %d: %w", req.Type, ErrUnsupported)
}

// shardBroadcast encodes a broadcast without ack, and says where it goes.
func (a *Adapter) shardBroadcast(p *room.Packet, opts room.Options) (string, []byte, error) {
	b, err := a.encodeShardBroadcast("", p, opts, 0)
	return a.roomChannel(opts, false), b, err
}

// encodeShardBroadcast encodes a BROADCAST message (with ack when id is
// set): JSON, or msgpack when the packet has binary attachments.
func (a *Adapter) encodeShardBroadcast(id string, p *room.Packet, opts room.Options, timeoutMS int64) ([]byte, error) {
	if len(p.Attachments) == 0 {
		pkt, err := json.Marshal(struct {
			Type int             `json:"type"`
			Data json.RawMessage `json:"data"`
			Nsp  string          `json:"nsp"`
		}{packetEvent, p.Data, a.name})
		if err != nil {
			return nil, fmt.Errorf("redis: broadcast: %w", err)
		}
		return a.marshalShard(shBroadcast, shardData{RequestID: id, Packet: pkt, Opts: toShardOpts(opts, timeoutMS)})
	}
	b := a.appendShardHeader(make([]byte, 0, 96+len(p.Data)), shBroadcast)
	n := 2
	if id != "" {
		n++
	}
	b = msgpack.AppendMapLen(b, n)
	b, err := appendPacket(msgpack.AppendStr(b, "packet"), p, a.name)
	if err != nil {
		return nil, fmt.Errorf("redis: broadcast: %w", err)
	}
	b = appendOpts(msgpack.AppendStr(b, "opts"), opts, timeoutMS)
	if id != "" {
		b = msgpack.AppendStr(msgpack.AppendStr(b, "requestId"), id)
	}
	return b, nil
}

// appendShardHeader writes a msgpack message's map header and its uid,
// nsp and type, up to the key "data".
func (a *Adapter) appendShardHeader(b []byte, typ int) []byte {
	b = msgpack.AppendMapLen(b, 4)
	b = msgpack.AppendStr(msgpack.AppendStr(b, "uid"), a.node.uid)
	b = msgpack.AppendStr(msgpack.AppendStr(b, "nsp"), a.name)
	b = msgpack.AppendInt(msgpack.AppendStr(b, "type"), int64(typ))
	return msgpack.AppendStr(b, "data")
}

// encodeShardAck encodes a BROADCAST_ACK answer: packet is the first
// argument, args all of them when there is not exactly one.
func (a *Adapter) encodeShardAck(id string, ack room.Ack) ([]byte, error) {
	if len(ack.Attachments) == 0 {
		first, single := firstArg(ack.Data)
		var all json.RawMessage
		if !single {
			all = rawOr(ack.Data, "[]")
		}
		return a.marshalShard(shBroadcastAck, shardData{RequestID: id, Packet: first, Args: all})
	}
	arr, err := msgpack.AppendFromJSON(nil, ack.Data, ack.Attachments)
	if err != nil {
		return nil, err
	}
	r := msgpack.NewReader(arr, 0)
	n, err := r.ArrayLen()
	if err != nil {
		return nil, err
	}
	fields := 1
	var first []byte
	if n > 0 {
		start := r.Offset()
		if err := r.Skip(); err != nil {
			return nil, err
		}
		first = arr[start:r.Offset()]
		fields++
	}
	if n != 1 {
		fields++
	}
	b := msgpack.AppendMapLen(a.appendShardHeader(nil, shBroadcastAck), fields)
	b = msgpack.AppendStr(msgpack.AppendStr(b, "requestId"), id)
	if first != nil {
		b = append(msgpack.AppendStr(b, "packet"), first...)
	}
	if n != 1 {
		b = append(msgpack.AppendStr(b, "args"), arr...)
	}
	return b, nil
}

// ---- decoding -------------------------------------------------------------------

// shardIn is a received message.
type shardIn struct {
	UID  string `json:"uid"`
	Nsp  string `json:"nsp"`
	Type int    `json:"type"`
	Data struct {
		RequestID   *string         `json:"requestId"`
		Packet      json.RawMessage `json:"packet"`
		Opts        *shardOpts      `json:"opts"`
		Rooms       roomList        `json:"rooms"`
		Close       bool            `json:"close"`
		Sockets     json.RawMessage `json:"sockets"`
		ClientCount int             `json:"clientCount"`
		Args        json.RawMessage `json:"args"`
	} `json:"data"`
}

// decodeShard decodes a message of the sharded protocol. A msgpack
// message (it has binary) is read as JSON whose binary values are
// placeholders numbering atts.
func decodeShard(payload string) (m shardIn, atts [][]byte, err error) {
	if len(payload) == 0 {
		return m, nil, fmt.Errorf("%w: empty message", msgpack.ErrMalformed)
	}
	js := bytesOf(payload)
	if payload[0] != '{' {
		r := msgpack.NewReader(js, 0)
		if js, err = r.AppendJSON(nil, &atts); err != nil {
			return m, nil, err
		}
	}
	err = json.Unmarshal(js, &m)
	return m, atts, err
}

// onShardMessage handles a message of the sharded protocol, from any of
// the adapter's channels.
func (a *Adapter) onShardMessage(payload string) {
	m, atts, err := decodeShard(payload)
	if err != nil {
		a.node.log.Debug("redis: malformed message", "err", err)
		return
	}
	if m.UID == a.node.uid {
		return // our own: already applied here
	}
	var id string
	if m.Data.RequestID != nil {
		id = *m.Data.RequestID
	}
	d := &m.Data
	if m.Type < shFetchResponse || m.Type == shServerSideEmit {
		if m.Nsp != a.name {
			return
		}
	}
	switch m.Type {
	case shBroadcast:
		var pkt struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(d.Packet, &pkt) != nil || len(pkt.Data) == 0 {
			a.node.log.Debug("redis: malformed broadcast")
			return
		}
		p := &room.Packet{Namespace: a.name, Data: pkt.Data, Attachments: atts}
		opts := d.Opts.options()
		if d.RequestID != nil {
			a.broadcastForAck(m.UID, id, p, opts)
			return
		}
		opts.Flags.Local = true
		_ = a.local.Broadcast(context.Background(), p, opts)
	case shSocketsJoin, shSocketsLeave:
		typ := reqRemoteJoin
		if m.Type == shSocketsLeave {
			typ = reqRemoteLeave
		}
		opts := d.Opts.options()
		rooms := d.Rooms
		a.handleRequest(jsonRequest{UID: m.UID, Type: typ, Opts: toWire(opts), Rooms: &rooms})
	case shDisconnectSockets:
		a.handleRequest(jsonRequest{UID: m.UID, Type: reqRemoteDisconnect, Opts: toWire(d.Opts.options()), Close: d.Close})
	case shFetchSockets:
		a.handleRequest(jsonRequest{UID: m.UID, RequestID: id, Type: reqRemoteFetch, Opts: toWire(d.Opts.options())})
	case shServerSideEmit:
		a.handleRequest(jsonRequest{UID: m.UID, RequestID: id, Type: reqServerSideEmit, Data: d.Packet})
	case shFetchResponse:
		a.handleResponse(jsonResponse{RequestID: id, Sockets: d.Sockets})
	case shServerSideEmitResponse:
		a.handleResponse(jsonResponse{RequestID: id, Data: d.Packet, Args: d.Args})
	case shClientCount:
		a.handleResponse(jsonResponse{Type: reqBroadcastClientCount, RequestID: id, ClientCount: d.ClientCount})
	case shBroadcastAck:
		if p := a.lookup(id); p != nil && p.kind == reqBroadcast {
			a.ackArrived(id, p, room.Ack{Data: answerArgs(d.Args, d.Packet), Attachments: atts})
		}
	default:
		a.node.log.Debug("redis: unknown message type", "type", m.Type)
	}
}
