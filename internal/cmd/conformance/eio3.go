package main

import (
	"io/fs"
	"log/slog"
	"net/http"
	"os"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// newEIO3 returns the Socket.IO server mounted at /eio3/ for
// socket.io-client 2.x (hub.Options.AllowEIO3): the /socket.io/ server's
// namespaces and events, a namespace "/refused" whose middleware refuses
// every client with Data {"reason":"refused"}, and, on every connection,
// an event "id" with the socket's id as the server sees it. With
// clientDist (socket.io-client 2.x's dist directory) it serves the 2.x
// browser bundle at /eio3/socket.io.js.
func newEIO3(logger *slog.Logger, clientDist string) *hub.Server {
	var files fs.FS
	if clientDist != "" {
		files = os.DirFS(clientDist)
	}
	h := newSocketIO(logger, "/eio3/", true, files, hub.JSONParser)
	sendID := func(s *namespace.Socket) { _ = s.Emit("id", s.ID()) }
	h.Of("/").OnConnection(sendID)
	h.Of("/custom").OnConnection(sendID)
	h.Of("/refused").Use(func(*namespace.Socket) error {
		return &namespace.ConnectError{Message: "not allowed", Data: map[string]string{"reason": "refused"}}
	})
	return h
}

// eio3Page is an empty page loading the 2.x bundle from the /eio3/ hub,
// for the browser tests (interop/eio3-browser.test.mjs).
func eio3Page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>eio3</title><script src="/eio3/socket.io.js"></script>`))
}
