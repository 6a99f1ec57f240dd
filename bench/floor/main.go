// Command floor measures what a connection costs on this machine below any
// Socket.IO library: a net/http server that upgrades with gobwas/ws,
// writes the Engine.IO open packet, answers the namespace CONNECT, and
// keeps a goroutine per connection (the plain Go way) that answers the
// bench's "stats", "join" (one room for everyone) and "bcast" (one write
// per member, from the sender's goroutine) and nothing else. It is NOT a
// Socket.IO server (no heartbeat, no real rooms, no acks of its own, no
// validation); it exists so that bench/load's connect and paced scenarios
// can show what net/http, gobwas/ws, the scheduler and the kernel cost here:
//
//	go run ./bench/floor -addr 127.0.0.1:3002 &
//	go run ./bench/load -addr 127.0.0.1:3002 -pid $! -skip fanout,echo -hold -1
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/go-realtime/realtime/bench/internal/benchserver"
)

var clients atomic.Int64

func main() {
	addr := flag.String("addr", "127.0.0.1:3002", "address to listen on")
	flag.Parse()
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Println("listening", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(serve)))
}

func serve(w http.ResponseWriter, r *http.Request) {
	conn, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	var id [10]byte
	_, _ = rand.Read(id[:])
	sid := hex.EncodeToString(id[:])
	open := `0{"sid":"` + sid + `","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if err := wsutil.WriteServerText(conn, []byte(open)); err != nil {
		conn.Close()
		return
	}
	go func() {
		defer conn.Close()
		clients.Add(1)
		defer clients.Add(-1)
		for {
			msg, err := wsutil.ReadClientText(conn)
			if err != nil {
				return
			}
			s := string(msg)
			switch {
			case s == "40" || strings.HasPrefix(s, "40{"):
				err = wsutil.WriteServerText(conn, []byte(`40{"sid":"`+sid+`"}`))
			case strings.HasPrefix(s, "42"):
				err = event(conn, s[2:])
			}
			if err != nil {
				return
			}
		}
	}()
}

// room is the one room of the floor server: joined connections, each
// written under its own lock.
var room struct {
	sync.Mutex
	members []*member
}

type member struct {
	mu   sync.Mutex
	conn net.Conn
}

// event handles `42N["stats",arg]`, `42N["join",room]` (one room for all)
// and `42["bcast",room,payload]` (written to every member in turn, by the
// sender's goroutine: the plain way, one write per member).
func event(conn net.Conn, s string) error {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return nil
	}
	id, body := s[:i], s[i:]
	switch {
	case strings.HasPrefix(body, `["join"`):
		room.Lock()
		room.members = append(room.members, &member{conn: conn})
		room.Unlock()
		if id != "" {
			return wsutil.WriteServerText(conn, []byte("43"+id+`["ok"]`))
		}
		return nil
	case strings.HasPrefix(body, `["bcast",`):
		var args []json.RawMessage
		if err := json.Unmarshal([]byte(body), &args); err != nil || len(args) != 3 {
			return nil
		}
		frame := []byte(`42["msg",` + string(args[2]) + `]`)
		room.Lock()
		members := room.members
		room.Unlock()
		for _, m := range members {
			m.mu.Lock()
			_ = wsutil.WriteServerText(m.conn, frame)
			m.mu.Unlock()
		}
		return nil
	case !strings.HasPrefix(body, `["stats"`):
		return nil
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return nil
	}
	st := benchserver.Measure(int(clients.Load()), strings.Contains(body, `"gc"`))
	b, _ := json.Marshal(st)
	return wsutil.WriteServerText(conn, []byte("43"+id+"["+string(b)+"]"))
}
