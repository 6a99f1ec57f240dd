// Package admin lets the official Socket.IO Admin UI (the npm package
// @socket.io/admin-ui, hosted at https://admin.socket.io or served from its
// ui/dist directory) watch and act on a hub, as socket.io's instrument()
// does for a Node server: server stats, the connected sockets with their
// rooms, handshake and transport, the rooms, a live feed of events, and the
// UI's actions (join, leave, disconnect, emit).
//
// Call [Instrument] once, after creating the hub, with the credentials the
// UI's login form will check:
//
//	h := hub.New(&hub.Options{AllowedOrigins: []string{"https://admin.socket.io"}})
//	ins, err := admin.Instrument(h, admin.Options{
//		Auth: admin.BasicAuth{Username: "admin", PasswordHash: hash}, // bcrypt
//	})
//	if err != nil { ... }
//	defer ins.Close()
//
// The UI then logs in with the server's URL, the username and the password
// (the hub must accept the UI's origin, with credentials: the UI connects
// with withCredentials). The instrumentation speaks the admin UI's protocol
// on its own namespace (Options.Namespace, default "/admin"), which clients
// reach like any other; [NoAuth] turns the login off, and must be asked for.
//
// # Modes
//
// In [Development] mode (the default, as in socket.io) the UI gets the
// sockets and the live feed: connections, disconnections, rooms joined and
// left, and every event received from and sent to a client. In [Production]
// mode it gets the server stats and the aggregated figures (connections,
// disconnections, packets and bytes per second) only, which the hub counts
// anyway: the instrumentation then adds no work per socket or per event.
//
// In development mode the feed watches the hub only while a UI is
// connected, to this node or to another one of the cluster (nodes with UIs
// say so to the others every StatsInterval), and stops when the last UI
// has gone: a hub nobody watches pays nothing per event. It puts nothing
// on the sockets: each namespace tells the feed directly of the events its
// sockets receive and send and of their disconnections, and a broadcast
// asks the feed once, not per recipient, whether it wants its event (it
// does not once the second's Options.FeedRate is used up; it is then not
// even decoded). Sockets that connect with HTTP long-polling get a hook on
// their connection, to report its upgrade to WebSocket. While a UI
// watches, every event received from or sent to a client is reported: the
// feed hands small records to a bounded queue, which one goroutine turns
// into the UI's messages. The queue is bounded in bytes (Options.FeedBytes)
// and the events reported in events per second (Options.FeedRate); what
// does not fit is dropped, counted ([Instrumentation.Dropped]) and logged,
// never waited for. When a connection, a disconnection or a room change
// had to be dropped, the UIs are sent the whole list of sockets again once
// the queue has drained, so what they show stays right.
//
// # Clusters
//
// With a cluster adapter (room/redis), what the instrumentation emits to
// the admin namespace reaches the UIs connected to every node, and the list
// of sockets a UI gets when it connects comes from every node
// (FetchSockets): instrument every node, and the UI connected to one of
// them sees them all. Actions act on the whole cluster too.
//
// # Differences from socket.io
//
// Stricter, on purpose: the UI's actions only name namespaces that exist on
// this node (socket.io creates any namespace the UI names); login sessions
// expire (Options.SessionTTL) and their number is bounded; the feed is
// bounded in bytes and in events per second.
//
// Otherwise: session ids live in the memory of the node that gave them
// (socket.io's default store; it has a Redis one), so a UI that reconnects
// to another node logs in again. socket.io reports a change of
// socket.data (with a proxy); Go code sets a socket's data with
// Socket.SetData, which is not observed: the UI sees the data as it was
// when the socket connected, and in each new list of sockets. The events
// a connection handler emits may reach the UI before the connection
// itself (the UI takes them in any order). Other Go nodes start reporting
// when they are asked for their sockets' details, before the UI gets its
// list of sockets; socket.io nodes in a mixed cluster are listed (their
// details come in socket.data) and report their own events as they do.
package admin
