// Command cluster is the chat example scaled out: run it two or three
// times on different ports against one Redis, and a message sent through
// any node reaches the clients of every node (the hub uses the Redis
// adapter, room/redis). Node.js socket.io servers using
// @socket.io/redis-adapter on the same Redis join the same chat.
//
//	npm ci --prefix examples          # once: the socket.io-client browser bundle
//	redis-server --port 6379 &
//	go run ./examples/cluster -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 &
//	go run ./examples/cluster -addr 127.0.0.1:8082 -redis 127.0.0.1:6379 &
//
// Open http://127.0.0.1:8081/ and http://127.0.0.1:8082/ and chat. The
// page and the events are those of examples/chat (in a smaller page of its
// own, since that example's pages and handlers live in its main package):
//
//	client → server     server → clients
//	add user(name)      login {numUsers} to the sender; user joined {username, numUsers} to the others
//	new message(text)   new message {username, message} to the others (also "receive message" {message, time})
//	typing              typing {username} to the others
//	stop typing         stop typing {username} to the others
//	(disconnect)        user left {username, numUsers} to the others, for a named user
//
// Counts (online, numUsers) are cluster-wide: they come from FetchSockets,
// which asks every node. Each greeting says which node answered.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/examples/internal/site"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
	redisadapter "github.com/go-realtime/realtime/room/redis"
)

//go:embed index.html
var pages embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address (host:port)")
	key := flag.String("key", "socket.io", "Redis channel prefix; Node.js servers in the cluster must use the same")
	clientDist := flag.String("client-dist", "", "socket.io-client's dist directory, served at /socket.io/socket.io.js (default: examples/"+site.DistPath+")")
	flag.Parse()

	clientFiles, err := site.ClientFiles(*clientDist)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}

	rdb := goredis.NewClient(&goredis.Options{Addr: *redisAddr})
	defer rdb.Close()
	h := hub.New(&hub.Options{Adapter: redisadapter.New(rdb, &redisadapter.Options{Key: *key}), ClientFiles: clientFiles})
	node := h.Of("/").Adapter().(*redisadapter.Adapter).UID()
	c := &chat{h: h, node: node}
	h.OnConnection(c.connect)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)
	mux.Handle("GET /{$}", site.Page(pages, "index.html"))
	site.Mount(mux)

	slog.Info("cluster: node started", "uid", node, "redis", *redisAddr)
	if err := site.Run("cluster", *addr, mux, h.Shutdown, "/"); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// maxMessage bounds a chat message, in characters.
const maxMessage = 2000

type chat struct {
	h    *hub.Server
	node string // this node's uid
}

// user is a socket's Data. Exported fields with JSON names: FetchSockets
// hands other nodes the socket's data as JSON.
type user struct {
	Name  string `json:"name"`
	Added bool   `json:"added"`
}

func userOf(s *namespace.Socket) user {
	u, _ := s.Data().(user)
	return u
}

type (
	greeting struct {
		Mess     string `json:"mess"`
		Username string `json:"username"`
		Message  string `json:"message"`
		ID       string `json:"id"`
		Node     string `json:"node"`
		Online   int    `json:"online"`
	}
	chatMessage struct {
		Message string `json:"message"`
		Time    string `json:"time,omitempty"`
	}
	relayed struct {
		Username string `json:"username"`
		Message  string `json:"message"`
		Time     string `json:"time,omitempty"`
		Node     string `json:"node"`
	}
	presence struct {
		Event  string `json:"event"`
		ID     string `json:"id"`
		Reason string `json:"reason,omitempty"`
		Online int    `json:"online"`
	}
	userCount struct {
		NumUsers int `json:"numUsers"`
	}
	userEvent struct {
		Username string `json:"username"`
		NumUsers int    `json:"numUsers"`
	}
	typingEvent struct {
		Username string `json:"username"`
	}
)

// counts returns the sockets connected to the chat on every node, and how
// many of them are named users. When a node does not answer in time it
// counts the answers it has.
func (c *chat) counts() (online, users int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	socks, err := c.h.Of("/").FetchSockets(ctx)
	if err != nil {
		slog.Warn("cluster: counting sockets", "err", err)
	}
	for _, s := range socks {
		var u user
		if decodeData(s, &u) && u.Added {
			users++
		}
	}
	return len(socks), users
}

func decodeData(s namespace.RemoteSocket, u *user) bool {
	return len(s.Data) > 0 && json.Unmarshal(s.Data, u) == nil
}

func (c *chat) connect(s *namespace.Socket) {
	s.SetData(user{Name: "guest-" + s.ID()[:4]})
	namespace.Handle(s, "add user", func(_ context.Context, name string) error { go c.addUser(s, name); return nil })
	for _, event := range []string{"receive message", "recive message", "new message"} {
		s.On(event, func(e *namespace.Event) { c.message(s, e) })
	}
	s.On("typing", func(*namespace.Event) { _ = s.Broadcast().Emit("typing", typingEvent{Username: userOf(s).Name}) })
	s.On("stop typing", func(*namespace.Event) { _ = s.Broadcast().Emit("stop typing", typingEvent{Username: userOf(s).Name}) })
	s.OnDisconnect(func(reason string) {
		// Counting asks the other nodes: not in the handler.
		go func() {
			online, users := c.counts()
			if u := userOf(s); u.Added {
				_ = s.Broadcast().Emit("user left", userEvent{Username: u.Name, NumUsers: users})
			}
			_ = s.Broadcast().Emit("presence", presence{Event: "disconnected", ID: s.ID(), Reason: reason, Online: online})
		}()
	})
	go func() {
		online, _ := c.counts()
		text := "initial message: welcome to the chat, served by node " + c.node
		_ = s.Emit("new message", greeting{Mess: text, Username: "server", Message: text, ID: s.ID(), Node: c.node, Online: online})
		_ = s.Broadcast().Emit("presence", presence{Event: "connected", ID: s.ID(), Online: online})
	}()
}

func (c *chat) addUser(s *namespace.Socket, name string) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 40 || userOf(s).Added {
		return
	}
	s.SetData(user{Name: name, Added: true})
	_, users := c.counts()
	_ = s.Broadcast().Emit("user joined", userEvent{Username: name, NumUsers: users})
	_ = s.Emit("login", userCount{NumUsers: users})
}

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
	if err := s.Broadcast().Emit("new message", relayed{Username: name, Message: m.Message, Time: m.Time, Node: c.node}); err != nil {
		// The local clients got it; the other nodes may not have.
		reply(e, map[string]any{"ok": false, "error": "not every node could be reached"})
		return
	}
	reply(e, map[string]any{"ok": true, "username": name, "node": c.node})
}

func reply(e *namespace.Event, v any) {
	if e.Ack != nil {
		_ = e.Ack(v)
	}
}
