// Package engineio is an Engine.IO v4 server: the session layer that
// Socket.IO runs on, usable on its own as a plain message server.
//
// Call [NewServer] with a [Handler], mount the [Server] on a path of your
// mux (clients default to /engine.io/), and send with [Session.Send]:
//
//	srv := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
//		return engineio.SessionFuncs{
//			Message: func(m engineio.Message) error { return s.Send(m.Frame()) }, // echo
//		}
//	}), nil)
//	http.Handle("/engine.io/", srv)
//
// The server performs the handshake (sid, upgrades, pingInterval,
// pingTimeout, maxPayload), drives the heartbeat, moves polling sessions to
// WebSocket when the client upgrades, and answers bad requests as the
// reference server does (HTTP 400 with a JSON {"code","message"} body, 403
// for a refused Origin, 413 over maxPayload). It reaches clients through
// [transport.Transport] implementations: by default
// [github.com/go-realtime/realtime/transport/polling] and
// [github.com/go-realtime/realtime/transport/websocket]; tests can hand it an
// in-memory connection with [Server.ServeConn].
//
// As engine.io's options do, [Options.Cookie] sets a session cookie for
// load balancers that route by cookie, [Options.GenerateID] chooses the
// session ids, and [Options.OnConnectionError] is told of every refused
// request ([ConnectionError], with the reference server's [ErrorCode]s).
// [Options.AllowEIO3] also accepts clients of protocol revision 3
// (socket.io-client 2.x; see [Session.Protocol]).
package engineio
