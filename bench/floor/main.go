// Command floor measures what a connection costs on this machine below any
// Socket.IO library: a net/http server that upgrades with gobwas/ws,
// writes the Engine.IO open packet, answers the namespace CONNECT, and
// keeps a goroutine per connection (the plain Go way) that answers the
// bench's "stats" call and nothing else. It is NOT a Socket.IO server (no
// heartbeat, no rooms, no events); it exists so that bench/load's connect
// scenario can show how much of a connect is net/http, gobwas/ws, the
// scheduler and the kernel:
//
//	go run ./bench/floor -addr 127.0.0.1:3002 &
//	go run ./bench/load -addr 127.0.0.1:3002 -pid $! -skip fanout,paced,echo -hold -1
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
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
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
				err = answerStats(conn, s[2:])
			}
			if err != nil {
				return
			}
		}
	}()
}

// answerStats answers `42N["stats",arg]` with the bench server's figures.
func answerStats(conn net.Conn, s string) error {
	i := strings.IndexByte(s, '[')
	if i <= 0 || !strings.HasPrefix(s[i:], `["stats"`) {
		return nil
	}
	id := s[:i]
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return nil
	}
	gc := strings.Contains(s[i:], `"gc"`)
	if gc {
		runtime.GC()
		debug.FreeOSMemory()
	}
	st := benchserver.Stats{RSS: benchserver.RSS(), Goroutines: runtime.NumGoroutine(), Clients: int(clients.Load())}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapUsed = int64(ms.HeapAlloc)
	b, _ := json.Marshal(st)
	return wsutil.WriteServerText(conn, []byte("43"+id+"["+string(b)+"]"))
}
