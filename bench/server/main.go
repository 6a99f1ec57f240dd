// Command server is the benchmark server on this library: a hub on
// /socket.io/ whose main namespace answers join, bcast, echo and stats (see
// package bench/internal/benchserver). bench/run starts it; to run it by
// hand:
//
//	go run ./bench/server -addr 127.0.0.1:3000 -pprof 127.0.0.1:6060
//
// It prints "listening <addr>" (and "pprof <addr>") on stdout once it
// accepts connections, and stops on SIGINT/SIGTERM or when stdin closes
// with -stdin.
//
// -ws-max-fragments and -ws-no-poller set the WebSocket transport's
// options of those names (bench/fragments uses them). -redis ADDR makes it
// a cluster node on room/redis (bench/cluster runs two). -admin MODE
// instruments the hub for the Socket.IO Admin UI (package admin, without
// authentication), as bench/run's server "go-admin" does; with -admin-watch
// a client watches as the UI would (bench/run's "go-admin-watch").
//
// With -pprof, the profiling address serves net/http/pprof under
// /debug/pprof/, and /bench/cpu/start and /bench/cpu/stop to bracket a
// scenario: stop answers with the CPU profile taken since start.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/go-realtime/realtime/admin"
	"github.com/go-realtime/realtime/bench/internal/benchserver"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/room/redis"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address (port 0 picks one)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof and CPU profile brackets on this address (off when empty)")
	stdin := flag.Bool("stdin", false, "exit when stdin reaches EOF (for a parent process)")
	maxFragments := flag.Int("ws-max-fragments", 0, "websocket.Options.MaxFragments (0: the default, negative: no bound)")
	noPoller := flag.Bool("ws-no-poller", false, "websocket.Options.NoPoller: a reading goroutine per connection")
	redisAddr := flag.String("redis", "", "a cluster node: room/redis adapter on the redis-server at this address (off when empty)")
	adminMode := flag.String("admin", "", "instrument the hub for the Socket.IO Admin UI in this mode (development, production; no authentication: loopback benchmarks only)")
	adminWatch := flag.Bool("admin-watch", false, "with -admin: a UI watches (an in-process client on the admin namespace that reads and drops what the UI would get)")
	flag.Parse()

	var opts *hub.Options
	if *maxFragments != 0 || *noPoller {
		opts = &hub.Options{Transports: []transport.Transport{
			polling.New(&polling.Options{Compression: &polling.Compression{Disable: true}}),
			websocket.New(&websocket.Options{MaxFragments: *maxFragments, NoPoller: *noPoller}),
		}}
	}
	if *redisAddr != "" {
		if opts == nil {
			opts = &hub.Options{}
		}
		rdb := goredis.NewClient(&goredis.Options{Addr: *redisAddr})
		defer rdb.Close()
		opts.Adapter = redis.New(rdb, &redis.Options{RequestTimeout: 30 * time.Second})
	}
	h := benchserver.New(opts)
	if *adminMode != "" {
		ins, err := admin.Instrument(h, admin.Options{Auth: admin.NoAuth{}, Mode: admin.Mode(*adminMode),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			log.Fatalf("server: -admin: %v", err)
		}
		defer ins.Close()
		if *adminWatch {
			watchAdmin(h)
		}
	}
	// No TCP keep-alive probes (as Node's http server): Engine.IO's own
	// heartbeat finds dead peers, and each accepted connection saves the
	// system calls that configure them.
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", *addr)
	if err != nil {
		log.Fatalf("server: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("server: %v", err)
		}
	}()

	if *pprofAddr != "" {
		pln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			log.Fatalf("server: pprof: %v", err)
		}
		go func() { _ = http.Serve(pln, profMux()) }()
		fmt.Printf("pprof %s\n", pln.Addr())
	}
	fmt.Printf("listening %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *stdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Shutdown(sctx)
	_ = srv.Shutdown(sctx)
}

// profMux serves net/http/pprof and the CPU profile brackets.
func profMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)

	var (
		mu  sync.Mutex
		buf *bytes.Buffer
	)
	mux.HandleFunc("/bench/cpu/start", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if buf != nil {
			http.Error(w, "a CPU profile is running", http.StatusConflict)
			return
		}
		b := new(bytes.Buffer)
		if err := pprof.StartCPUProfile(b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		buf = b
		_, _ = io.WriteString(w, "started\n")
	})
	mux.HandleFunc("/bench/cpu/stop", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if buf == nil {
			http.Error(w, "no CPU profile is running", http.StatusConflict)
			return
		}
		pprof.StopCPUProfile()
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(buf.Bytes())
		buf = nil
	})
	return mux
}

// watchAdmin connects a client to the hub's admin namespace, as the Admin
// UI does, over an in-memory pipe: the feed then reports every event, and
// the client drops what it gets (answering pings).
func watchAdmin(h *hub.Server) {
	server, client := memory.Pipe(transport.Params{})
	client.Start(uiSink{client})
	h.ServeConn(server, nil)
	// Engine.IO message "4" carrying the Socket.IO CONNECT to /admin.
	if err := client.Send(transport.TextFrame("40/admin,")); err != nil {
		log.Fatalf("server: -admin-watch: %v", err)
	}
}

// uiSink is the watching client's end: it answers pings and drops the rest.
type uiSink struct{ c *memory.Conn }

func (u uiSink) HandleFrame(f transport.Frame) error {
	if !f.Binary && string(f.Data) == "2" {
		return u.c.Send(transport.TextFrame("3"))
	}
	return nil
}

func (uiSink) HandleClose(err error) {
	if err != nil {
		log.Printf("server: -admin-watch: the watching client's connection closed: %v", err)
	}
}
