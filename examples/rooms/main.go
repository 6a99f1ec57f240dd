// Command rooms shows Socket.IO rooms, as in the article this project
// started from: a client joins and leaves "room one"; a message sent to the
// room reaches everyone in it except the sender
// (socket.broadcast.to('room one').emit in socket.io), and a message from
// the server reaches everyone in the room (io.to('room one').emit).
//
//	npm ci --prefix examples          # once: the socket.io-client browser bundle
//	go run ./examples/rooms -addr 127.0.0.1:8080
//
// Events, client → server (each answers with an acknowledgement):
//
//	join(room)                 → the others in the room get "room event" {event: "joined", ...}
//	leave(room)                → the others in the room get "room event" {event: "left", ...}
//	new messages({room, message}) → everyone in the room but the sender gets "new messages" {room, message, from}
//	greet room(room)           → everyone in the room gets "receive message" "hello, users in <room>"
//
// With -admin-ui, the official Socket.IO Admin UI served from that origin
// may watch the server (package admin): log in with -admin-user and the
// password whose bcrypt hash is in REALTIME_ADMIN_PASSWORD_HASH.
//
//	REALTIME_ADMIN_PASSWORD_HASH="$(htpasswd -bnBC 10 '' secret | tr -d ':\n')" \
//	  go run ./examples/rooms -admin-ui https://admin.socket.io
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-realtime/realtime/admin"
	"github.com/go-realtime/realtime/examples/internal/site"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

//go:embed index.html
var pages embed.FS

type (
	// roomMessage is what a client sends to a room, and what the room gets
	// (with From set).
	roomMessage struct {
		Room    string `json:"room"`
		Message string `json:"message"`
		From    string `json:"from,omitempty"`
	}
	// roomEvent tells a room that someone joined or left it.
	roomEvent struct {
		Event   string `json:"event"` // "joined" or "left"
		ID      string `json:"id"`
		Room    string `json:"room"`
		Members int    `json:"members"`
		Reason  string `json:"reason,omitempty"`
	}
	// result answers a client's acknowledgement request.
	result struct {
		OK      bool   `json:"ok"`
		Error   string `json:"error,omitempty"`
		Room    string `json:"room,omitempty"`
		Members int    `json:"members"`
	}
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	clientDist := flag.String("client-dist", "", "socket.io-client's dist directory, served at /socket.io/socket.io.js (default: examples/"+site.DistPath+")")
	adminUI := flag.String("admin-ui", "", "origin of a Socket.IO Admin UI allowed to watch this server, e.g. https://admin.socket.io (off when empty)")
	adminUser := flag.String("admin-user", "admin", "the Admin UI's username; its password's bcrypt hash is read from REALTIME_ADMIN_PASSWORD_HASH")
	flag.Parse()

	clientFiles, err := site.ClientFiles(*clientDist)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rooms:", err)
		os.Exit(1)
	}

	opts := &hub.Options{ClientFiles: clientFiles}
	if *adminUI != "" {
		opts.AllowedOrigins = []string{*adminUI}
	}
	h := hub.New(opts)
	register(h)
	if *adminUI != "" {
		ins, err := admin.Instrument(h, admin.Options{
			Auth: admin.BasicAuth{Username: *adminUser, PasswordHash: os.Getenv("REALTIME_ADMIN_PASSWORD_HASH")},
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "rooms: -admin-ui:", err, "(set REALTIME_ADMIN_PASSWORD_HASH to the bcrypt hash of the UI's password)")
			os.Exit(1)
		}
		defer ins.Close()
	}

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	mux.Handle("GET /{$}", site.Page(pages, "index.html"))
	site.Mount(mux)

	if err := site.Run("rooms", *addr, mux, h.Shutdown, "/"); err != nil {
		fmt.Fprintln(os.Stderr, "rooms:", err)
		os.Exit(1)
	}
}

// register sets up the main namespace's events on h.
func register(h *hub.Server) {
	// members counts the sockets in a room (on this server).
	members := func(room string) int { return len(h.To(room).Sockets()) }

	h.OnConnection(func(s *namespace.Socket) {
		slog.Info("rooms: client connected", "id", s.ID())
		_ = s.Emit("new message", map[string]string{"mess": "welcome: join room one to hear what is said there"})

		namespace.HandleAck(s, "join", func(_ context.Context, room string) (result, error) {
			if !validRoom(room) {
				return result{Error: "room names start with \"room \" and have at most 64 characters"}, nil
			}
			s.Join(room) // socket.join('room one')
			n := members(room)
			_ = s.To(room).Emit("room event", roomEvent{Event: "joined", ID: s.ID(), Room: room, Members: n})
			return result{OK: true, Room: room, Members: n}, nil // acked after the others were told
		})

		namespace.HandleAck(s, "leave", func(_ context.Context, room string) (result, error) {
			wasIn := slices.Contains(s.Rooms(), room)
			s.Leave(room) // socket.leave('room one')
			n := members(room)
			if wasIn {
				_ = s.To(room).Emit("room event", roomEvent{Event: "left", ID: s.ID(), Room: room, Members: n})
			}
			return result{OK: true, Room: room, Members: n}, nil
		})

		// socket.broadcast.to(room).emit('new messages', data): everyone in
		// the room except the sender.
		namespace.HandleAck(s, "new messages", func(_ context.Context, m roomMessage) (result, error) {
			m.Message = strings.TrimSpace(m.Message)
			if !validRoom(m.Room) || m.Message == "" || utf8.RuneCountInString(m.Message) > 2000 {
				return result{Error: "send {room, message}: a room one may join and 1 to 2000 characters"}, nil
			}
			m.From = s.ID()
			_ = s.To(m.Room).Emit("new messages", m)
			return result{OK: true, Room: m.Room, Members: members(m.Room)}, nil
		})

		// io.to(room).emit('receive message', ...): everyone in the room.
		namespace.HandleAck(s, "greet room", func(_ context.Context, room string) (result, error) {
			if !validRoom(room) {
				return result{Error: "no such room"}, nil
			}
			_ = h.To(room).Emit("receive message", "hello, users in "+room)
			return result{OK: true, Room: room, Members: members(room)}, nil
		})

		// While it is still in its rooms, tell them the socket is leaving.
		s.OnDisconnecting(func(reason string) {
			for _, room := range s.Rooms() {
				if room != s.ID() {
					_ = s.To(room).Emit("room event", roomEvent{Event: "left", ID: s.ID(), Room: room, Members: members(room) - 1, Reason: reason})
				}
			}
		})
		s.OnDisconnect(func(reason string) {
			slog.Info("rooms: client disconnected", "id", s.ID(), "reason", reason)
		})
	})
}

// validRoom accepts the rooms clients may name: "room one", "room two", ...
// The prefix keeps clients out of the room every socket has under its own
// id, which would let them read its private messages.
func validRoom(room string) bool {
	return strings.HasPrefix(room, "room ") && utf8.RuneCountInString(room) <= 64
}
