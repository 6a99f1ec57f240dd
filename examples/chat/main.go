// Command chat is the realtime app of the article this project started
// from, in Go: a net/http server that mounts the hub next to its own pages.
//
//	npm ci --prefix examples          # once: the socket.io-client browser bundle
//	go run ./examples/chat -addr 127.0.0.1:8080
//
// index.html has an input and a Send button that emit {message, time};
// message.html only listens and shows what arrives. On connection the
// server greets the client with an initial message, and every page hears
// other clients connect and disconnect.
//
// The server also speaks the event set of socket.io's classic chat demo, so
// a React or plain-JS client written for that demo works against it:
//
//	client → server     server → clients
//	add user(name)      login {numUsers} to the sender; user joined {username, numUsers} to the others
//	new message(text)   new message {username, message} to the others
//	typing              typing {username} to the others
//	stop typing         stop typing {username} to the others
//	(disconnect)        user left {username, numUsers} to the others, for a named user
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
	"sync/atomic"
	"unicode/utf8"

	"github.com/go-realtime/realtime/examples/internal/site"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

//go:embed index.html message.html
var pages embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	clientDist := flag.String("client-dist", "", "socket.io-client's dist directory, served at /socket.io/socket.io.js (default: examples/"+site.DistPath+")")
	flag.Parse()

	clientFiles, err := site.ClientFiles(*clientDist)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}

	// Same-origin pages need no other option; ClientFiles serves the
	// browser bundle at /socket.io/socket.io.js.
	h := hub.New(&hub.Options{ClientFiles: clientFiles})
	h.OnConnection((&chat{}).connect)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	mux.Handle("GET /{$}", site.Page(pages, "index.html"))
	mux.Handle("GET /message.html", site.Page(pages, "message.html"))
	site.Mount(mux)

	if err := site.Run("chat", *addr, mux, h.Shutdown, "/", "/message.html"); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// maxMessage bounds a chat message, in characters.
const maxMessage = 2000

// chat holds the room-wide counters; each socket's own state lives in its
// Data (a user value).
type chat struct {
	online   atomic.Int64 // connected sockets
	numUsers atomic.Int64 // sockets that sent "add user"
}

// user is what a socket's Data holds.
type user struct {
	Name  string // "guest-xxxx" until "add user"
	Added bool   // sent "add user" (counted in numUsers)
}

func userOf(s *namespace.Socket) user {
	u, _ := s.Data().(user)
	return u
}

// Event payloads. The JSON names are the ones the seed's pages and the
// classic chat demo's clients read.
type (
	// greeting is the seed's initial message ({mess}); username and
	// message let a classic chat client show it too.
	greeting struct {
		Mess     string `json:"mess"`
		Username string `json:"username"`
		Message  string `json:"message"`
		ID       string `json:"id"`
		Online   int64  `json:"online"`
	}
	// chatMessage is what index.html sends: {message, time}.
	chatMessage struct {
		Message string `json:"message"`
		Time    string `json:"time,omitempty"` // new Date() in JSON: an ISO 8601 string
	}
	// relayed is a message as the other clients receive it.
	relayed struct {
		Username string `json:"username"`
		Message  string `json:"message"`
		Time     string `json:"time,omitempty"`
	}
	// presence tells the pages that a client connected or disconnected.
	presence struct {
		Event  string `json:"event"` // "connected" or "disconnected"
		ID     string `json:"id"`
		Reason string `json:"reason,omitempty"`
		Online int64  `json:"online"`
	}
	userCount struct {
		NumUsers int64 `json:"numUsers"`
	}
	userEvent struct {
		Username string `json:"username"`
		NumUsers int64  `json:"numUsers"`
	}
	typingEvent struct {
		Username string `json:"username"`
	}
)

// connect runs for every client that connects to the main namespace.
func (c *chat) connect(s *namespace.Socket) {
	s.SetData(user{Name: "guest-" + s.ID()[:4]})
	online := c.online.Add(1)
	slog.Info("chat: client connected", "id", s.ID(), "online", online)

	// As in the seed: greet the new client with an initial message ...
	text := "initial message: welcome to the chat"
	_ = s.Emit("new message", greeting{Mess: text, Username: "server", Message: text, ID: s.ID(), Online: online})
	// ... and tell everyone else it arrived.
	_ = s.Broadcast().Emit("presence", presence{Event: "connected", ID: s.ID(), Online: online})

	namespace.Handle(s, "add user", func(_ context.Context, name string) error { c.addUser(s, name); return nil })
	// index.html sends {message, time} as "receive message" (the seed's
	// page spells it "recive message"); classic clients send a string as
	// "new message". All of them reach the others as "new message".
	for _, event := range []string{"receive message", "recive message", "new message"} {
		s.On(event, func(e *namespace.Event) { c.message(s, e) })
	}
	s.On("typing", func(*namespace.Event) {
		_ = s.Broadcast().Emit("typing", typingEvent{Username: userOf(s).Name})
	})
	s.On("stop typing", func(*namespace.Event) {
		_ = s.Broadcast().Emit("stop typing", typingEvent{Username: userOf(s).Name})
	})

	s.OnDisconnect(func(reason string) {
		u := userOf(s)
		if u.Added {
			n := c.numUsers.Add(-1)
			_ = s.Broadcast().Emit("user left", userEvent{Username: u.Name, NumUsers: n})
		}
		left := c.online.Add(-1)
		slog.Info("chat: client disconnected", "id", s.ID(), "reason", reason, "online", left)
		_ = s.Broadcast().Emit("presence", presence{Event: "disconnected", ID: s.ID(), Reason: reason, Online: left})
		if left == 0 {
			slog.Info("chat: every client has disconnected")
		}
	})
}

// addUser names the socket's user, once, like the classic demo.
func (c *chat) addUser(s *namespace.Socket, name string) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 40 || userOf(s).Added {
		return
	}
	s.SetData(user{Name: name, Added: true})
	n := c.numUsers.Add(1)
	// The others first: once the sender sees "login", everyone else has
	// been told.
	_ = s.Broadcast().Emit("user joined", userEvent{Username: name, NumUsers: n})
	_ = s.Emit("login", userCount{NumUsers: n})
}

// message relays a chat message to every other client. It takes a string
// (the classic demo) or {message, time} (index.html), and answers an ack
// when the client asked for one.
func (c *chat) message(s *namespace.Socket, e *namespace.Event) {
	var m chatMessage
	if err := e.Args.Decode(0, &m.Message); err != nil {
		if err := e.Args.Decode(0, &m); err != nil {
			reply(e, map[string]any{"ok": false, "error": "send a string or {message, time}"})
			return
		}
	}
	m.Message = strings.TrimSpace(m.Message)
	if m.Message == "" || utf8.RuneCountInString(m.Message) > maxMessage || len(m.Time) > 64 {
		reply(e, map[string]any{"ok": false, "error": fmt.Sprintf("a message has 1 to %d characters", maxMessage)})
		return
	}
	name := userOf(s).Name
	_ = s.Broadcast().Emit("new message", relayed{Username: name, Message: m.Message, Time: m.Time})
	reply(e, map[string]any{"ok": true, "username": name})
}

// reply answers the event's ack, if the client asked for one.
func reply(e *namespace.Event, v any) {
	if e.Ack != nil {
		_ = e.Ack(v)
	}
}
