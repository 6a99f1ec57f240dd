// Command namespaces shows Socket.IO namespaces, as in the article this
// project started from: the server opens /post and /get, each greets its
// own clients, and a page connected to one namespace never hears the other.
//
//	npm ci --prefix examples          # once: the socket.io-client browser bundle
//	go run ./examples/namespaces -addr 127.0.0.1:8080
//
// Open /post.html and /get.html: each connects to its namespace
// (io("/post"), io("/get")) and may send a message that the server
// broadcasts to every client of that namespace only.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/go-realtime/realtime/examples/internal/site"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

//go:embed index.html namespace.html
var pages embed.FS

// message is what a namespace's clients receive: {mess} as in the seed,
// plus who sent it (empty for the server's greeting).
type message struct {
	Mess      string `json:"mess"`
	From      string `json:"from,omitempty"`
	Namespace string `json:"namespace"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	clientDist := flag.String("client-dist", "", "socket.io-client's dist directory, served at /socket.io/socket.io.js (default: examples/"+site.DistPath+")")
	flag.Parse()

	clientFiles, err := site.ClientFiles(*clientDist)
	if err != nil {
		fmt.Fprintln(os.Stderr, "namespaces:", err)
		os.Exit(1)
	}

	h := hub.New(&hub.Options{ClientFiles: clientFiles})
	register(h)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	mux.Handle("GET /{$}", site.Page(pages, "index.html"))
	// One page file serves both namespaces: it connects to the namespace
	// named by its own path.
	mux.Handle("GET /post.html", site.Page(pages, "namespace.html"))
	mux.Handle("GET /get.html", site.Page(pages, "namespace.html"))
	site.Mount(mux)

	if err := site.Run("namespaces", *addr, mux, h.Shutdown, "/post.html", "/get.html"); err != nil {
		fmt.Fprintln(os.Stderr, "namespaces:", err)
		os.Exit(1)
	}
}

// register opens /post and /get on h: each greets its own clients and
// broadcasts their messages to itself only.
func register(h *hub.Server) {
	for _, name := range []string{"/post", "/get"} {
		ns := h.Of(name)
		ns.OnConnection(func(s *namespace.Socket) {
			slog.Info("namespaces: client connected", "namespace", name, "id", s.ID(), "clients", ns.Len())
			// io.of("/post").on("connection", s => s.emit("new message", {mess: ...}))
			_ = s.Emit("new message", message{Mess: "this is the " + name + " namespace", Namespace: name})

			// A client's message goes to every client of this namespace,
			// the sender included, and to nobody elsewhere.
			namespace.HandleAck(s, "new message", func(_ context.Context, text string) (map[string]any, error) {
				text = strings.TrimSpace(text)
				if text == "" || utf8.RuneCountInString(text) > 2000 {
					return map[string]any{"ok": false, "error": "a message has 1 to 2000 characters"}, nil
				}
				_ = ns.Emit("new message", message{Mess: text, From: s.ID(), Namespace: name})
				return map[string]any{"ok": true, "namespace": name}, nil
			})
			s.OnDisconnect(func(reason string) {
				slog.Info("namespaces: client disconnected", "namespace", name, "id", s.ID(), "reason", reason)
			})
		})
	}
}
