package main

import (
	"log/slog"

	"github.com/go-realtime/realtime/hub"
)

// newEIO3 returns the Socket.IO server mounted at /eio3/ for
// socket.io-client 2.x (hub.Options.AllowEIO3): the /socket.io/ server's
// namespaces and events, a namespace "/refused" whose middleware refuses
// every client with Data {"reason":"refused"}, and, on every connection,
// an event "id" with the socket's id as the server sees it.
func newEIO3(logger *slog.Logger) *hub.Server {
	h := newSocketIO(logger, "/eio3/", true)
	sendID := func(s *hub.Socket) { _ = s.Emit("id", s.ID()) }
	h.Of("/").OnConnection(sendID)
	h.Of("/custom").OnConnection(sendID)
	h.Of("/refused").Use(func(*hub.Socket) error {
		return &hub.ConnectError{Message: "not allowed", Data: map[string]string{"reason": "refused"}}
	})
	return h
}
