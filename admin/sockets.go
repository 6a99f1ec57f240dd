package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/room"
)

// socketJSON is a socket as the UI lists it (socket.io-admin-ui's
// SerializedSocket).
type socketJSON struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId,omitempty"`
	Transport string          `json:"transport,omitempty"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Handshake handshakeJSON   `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

// handshakeJSON is a socket's handshake as socket.io describes it (its
// auth left out).
type handshakeJSON struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]any    `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// clientIDLength is how much of the Engine.IO session id the UI is shown,
// as socket.io does (the whole id would let its reader hijack the session).
const clientIDLength = 12

// details are what a node knows of its own sockets and the socket
// descriptions of other nodes lack: the client's id and its transport.
type details struct {
	ClientID  string `json:"c"`
	Transport string `json:"t"`
}

func detailsOf(s *namespace.Socket) details {
	conn := s.Conn()
	d := details{Transport: conn.Transport()}
	if c, ok := conn.(interface{ ID() string }); ok {
		d.ClientID = c.ID()
		if len(d.ClientID) > clientIDLength {
			d.ClientID = d.ClientID[:clientIDLength]
		}
	}
	return d
}

// serializeLocal describes a socket of this node.
func (ins *Instrumentation) serializeLocal(s *namespace.Socket) socketJSON {
	d := detailsOf(s)
	hs := s.Handshake()
	data, err := json.Marshal(s.Data())
	if err != nil || bytes.Equal(data, []byte("null")) {
		data = []byte("{}")
	}
	return socketJSON{
		ID: s.ID(), ClientID: d.ClientID, Transport: d.Transport, Nsp: s.Namespace().Name(), Data: data,
		Handshake: handshakeJSON{
			Address: address(hs.Header, hs.Address), Headers: headers(hs.Header), Query: query(hs.Query),
			Issued: hs.Time.UnixMilli(), Secure: hs.Secure, Time: jsDate(hs.Time), URL: hs.URL, XDomain: hs.XDomain,
		},
		Rooms: nonNil(s.Rooms()),
	}
}

// serializeRemote describes a socket of another node, from its
// FetchSockets description (a Go node's or a Node one's) and the details
// that node gave.
func serializeRemote(info room.SocketInfo, nsp string, known map[string]map[string]details) socketJSON {
	out := socketJSON{ID: info.ID, Nsp: nsp, Rooms: nonNil(info.Rooms), Data: info.Data}
	if d, ok := known[nsp][info.ID]; ok {
		out.ClientID, out.Transport = d.ClientID, d.Transport
	}
	// A socket.io node keeps the UI's details in socket.data._admin.
	var data map[string]json.RawMessage
	if len(info.Data) > 0 && info.Data[0] == '{' && json.Unmarshal(info.Data, &data) == nil {
		if raw, ok := data["_admin"]; ok {
			var a struct {
				ClientID  string `json:"clientId"`
				Transport string `json:"transport"`
			}
			if json.Unmarshal(raw, &a) == nil {
				out.ClientID, out.Transport = a.ClientID, a.Transport
			}
			delete(data, "_admin")
			out.Data, _ = json.Marshal(data)
		}
	}
	if len(out.Data) == 0 || bytes.Equal(out.Data, []byte("null")) || !json.Valid(out.Data) {
		out.Data = json.RawMessage("{}") // one bad description must not spoil the list
	}
	var hs struct {
		Address string                     `json:"address"`
		Headers map[string]json.RawMessage `json:"headers"`
		Query   map[string]json.RawMessage `json:"query"`
		Issued  int64                      `json:"issued"`
		Secure  bool                       `json:"secure"`
		Time    string                     `json:"time"`
		URL     string                     `json:"url"`
		XDomain bool                       `json:"xdomain"`
	}
	_ = json.Unmarshal(info.Handshake, &hs) // what does not fit stays empty
	header := http.Header{}
	for k, v := range hs.Headers { // a socket.io node's names are lower-case
		k = http.CanonicalHeaderKey(k)
		header[k] = append(header[k], stringOrStrings(v)...)
	}
	q := url.Values{}
	for k, v := range hs.Query {
		q[k] = stringOrStrings(v)
	}
	out.Handshake = handshakeJSON{
		Address: address(header, hs.Address), Headers: headers(header), Query: query(q),
		Issued: hs.Issued, Secure: hs.Secure, Time: hs.Time, URL: hs.URL, XDomain: hs.XDomain,
	}
	if t, err := time.Parse(time.RFC3339Nano, hs.Time); err == nil { // a Go node's
		out.Handshake.Time, out.Handshake.Issued = jsDate(t), t.UnixMilli()
	}
	return out
}

func stringOrStrings(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var ss []string
	_ = json.Unmarshal(raw, &ss)
	return ss
}

// address is the client's address as socket.io-admin-ui shows it: the
// proxy's word for it when there is one.
func address(h http.Header, addr string) string {
	for _, name := range []string{"Cf-Connecting-Ip", "X-Forwarded-For"} {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return addr
}

// headers flattens a header as Node's request.headers: lower-case names,
// repeated values joined.
func headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// query flattens query parameters as Node's querystring: a string, or an
// array for a repeated one.
func query(q url.Values) map[string]any {
	out := make(map[string]any, len(q))
	for k, v := range q {
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = v
		}
	}
	return out
}

// jsDate formats t as JavaScript's Date.prototype.toString, which
// socket.io's handshake.time is.
func jsDate(t time.Time) string {
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// detailsEvent asks the other nodes for their sockets' details.
const detailsEvent = "realtime:admin:details"

// detailsTimeout bounds waiting for them: a node that does not answer (a
// socket.io node) leaves its sockets without them.
const detailsTimeout = 2 * time.Second

// answerDetails answers another node's detailsEvent with this node's
// sockets' details, by namespace and id.
func (ins *Instrumentation) answerDetails(e *namespace.Event) {
	if e.Ack == nil || ins.closed.Load() {
		return
	}
	ins.remoteWatch() // a UI has just connected to another node: this node's events matter from now on
	out := map[string]map[string]details{}
	for _, ns := range ins.h.Namespaces() {
		socks := ns.Sockets()
		if len(socks) == 0 {
			continue
		}
		m := make(map[string]details, len(socks))
		for _, s := range socks {
			m[s.ID()] = detailsOf(s)
		}
		out[ns.Name()] = m
	}
	_ = e.Ack(out)
}

// allSockets describes the sockets of every namespace of this node, on
// every node.
func (ins *Instrumentation) allSockets(ctx context.Context) []socketJSON {
	known := make(chan map[string]map[string]details, 1)
	go func() {
		dctx, cancel := context.WithTimeout(ctx, detailsTimeout)
		defer cancel()
		all := map[string]map[string]details{}
		replies, _ := ins.admin.ServerSideEmitWithAck(dctx, detailsEvent) // those that answered
		for _, r := range replies {
			var m map[string]map[string]details
			if r.Decode(0, &m) != nil {
				continue
			}
			for nsp, ds := range m {
				if all[nsp] == nil {
					all[nsp] = ds
					continue
				}
				for id, d := range ds {
					all[nsp][id] = d
				}
			}
		}
		known <- all
	}()
	out := []socketJSON{}
	var remote []room.SocketInfo
	var remoteNsp []string
	for _, ns := range ins.h.Namespaces() {
		found, err := ns.FetchSockets(ctx)
		if err != nil {
			ins.logger.Warn("admin: could not list the sockets of every node", "namespace", ns.Name(), "err", err)
		}
		for _, rs := range found {
			if s := ns.Socket(rs.ID); s != nil {
				out = append(out, ins.serializeLocal(s))
			} else {
				remote = append(remote, rs.SocketInfo)
				remoteNsp = append(remoteNsp, ns.Name())
			}
		}
	}
	details := <-known
	for i, info := range remote {
		out = append(out, serializeRemote(info, remoteNsp[i], details))
	}
	return out
}
