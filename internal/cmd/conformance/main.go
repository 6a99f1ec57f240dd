// Command conformance serves what the official Engine.IO and Socket.IO
// protocol test suites expect on one port:
//
//   - /engine.io/: a plain Engine.IO v4 server echoing every message (text as
//     text, binary as binary);
//   - /socket.io/: a Socket.IO v5 server with namespaces "/" and "/custom"
//     (others refused) and a connect timeout of 1 s. On connection (both
//     namespaces) it emits "auth" with the CONNECT payload. On "/":
//     message(...args) → emit message-back(...args); message-with-ack(...args)
//     → ack(...args). For the interop tests it also has: join(room, ack),
//     leave(room, ack), to-room(room, ...args) → room-message(...args) to the
//     room except the sender, to-room-all(room, ...args) → room-message to
//     the whole room, server-disconnect(), emit-with-ack(...args) →
//     server-ack-request(...args) with an ack, whose reply comes back as
//     server-ack-result(...reply), and burst(n) → burst-item(0..n-1).
//   - /recovery/: a Socket.IO server with connection state recovery (2 s
//     window): sockets join room "stream"; stream(n, everyMs) broadcasts
//     item(0..n-1) to the room, one every everyMs milliseconds.
//   - /msgpack/ and /msgpack-recovery/: the servers of /socket.io/ and
//     /recovery/ with the msgpack parser (hub.MsgpackParser), for clients
//     created with parser: require("socket.io-msgpack-parser").
//   - /options/: a Socket.IO server with the Engine.IO options of
//     hub.Options: a "sticky" session cookie, ids from GenerateID
//     ("custom-N", or the handshake's id query parameter), refusals
//     recorded by OnConnectionError, and the socket.io-client bundle of
//     -client-dist; /options-state/ tells what it saw (see options.go).
//
// with pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000 and any
// Origin allowed; and
//
//   - /flow/: the flow-control application of internal/flowserver
//     (connection state recovery, the default heartbeat and queue bound):
//     burst, join, observe, prime, fill-after-close, mark and peak;
//   - /eio3/: the /socket.io/ server again (same namespaces and events)
//     with AllowEIO3, for socket.io-client 2.x; its namespace "/refused"
//     refuses every client with a ConnectError whose Data is
//     {"reason":"refused"}, and its connection handlers emit "auth" with
//     the handshake's auth and "id" with the socket's id; with
//     -client2-dist it serves that 2.x bundle's socket.io.js, which the page
//     /eio3-page.html loads (see eio3.go);
//   - /events/: a Socket.IO server exercising the socket's event API
//     (several listeners, Once, Off, Use and OnError, OnAny, OnAnyOutgoing,
//     Join in a connection middleware, typed handlers and EmitWithAck; see
//     events.go).
//
// Run it with
//
//	go run ./internal/cmd/conformance -addr 127.0.0.1:3000 [-client-dist interop/node_modules/socket.io-client/dist] [-client2-dist interop/node_modules/socket.io-client-v2/dist]
package main

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/flowserver"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport/engineio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	verbose := flag.Bool("v", false, "log debug messages")
	clientDist := flag.String("client-dist", "", "socket.io-client's dist directory, served by the /options/ hub")
	client2Dist := flag.String("client2-dist", "", "socket.io-client 2.x's dist directory, served by the /eio3/ hub")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	mux := http.NewServeMux()
	eio := newEngineIO(logger)
	mux.Handle("/engine.io/", eio)
	sio := newSocketIO(logger, "/socket.io/", false, nil, hub.JSONParser)
	mux.Handle("/socket.io/", sio)
	sio3 := newEIO3(logger, *client2Dist)
	mux.Handle("/eio3/", sio3)
	mux.HandleFunc("/eio3-page.html", eio3Page)
	rec := newRecovery(logger, "/recovery/", hub.JSONParser)
	mux.Handle("/recovery/", rec)
	mp := newSocketIO(logger, "/msgpack/", false, nil, hub.MsgpackParser)
	mux.Handle("/msgpack/", mp)
	mpRec := newRecovery(logger, "/msgpack-recovery/", hub.MsgpackParser)
	mux.Handle("/msgpack-recovery/", mpRec)
	opt := newOptions(logger, *clientDist)
	mux.Handle("/options/", opt)
	mux.Handle("/options-state/", opt.state)
	flow := flowserver.New("/flow/", logger)
	mux.Handle("/flow/", flow)
	evt := newEvents(logger)
	mux.Handle("/events/", evt)

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eio.Shutdown(shutdownCtx)
		_ = sio.Shutdown(shutdownCtx)
		_ = sio3.Shutdown(shutdownCtx)
		_ = rec.Shutdown(shutdownCtx)
		_ = mp.Shutdown(shutdownCtx)
		_ = mpRec.Shutdown(shutdownCtx)
		_ = opt.Shutdown(shutdownCtx)
		_ = flow.Shutdown(shutdownCtx)
		_ = evt.Shutdown(shutdownCtx)
		_ = srv.Shutdown(shutdownCtx)
	}()
	logger.Info("conformance server listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("conformance server", "err", err)
		os.Exit(1)
	}
}

// suiteOptions are the settings both protocol test suites expect.
func suiteOptions(logger *slog.Logger) *engineio.Options {
	return &engineio.Options{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		MaxPayload:     1_000_000,
		AllowedOrigins: []string{"*"},
		Logger:         logger,
	}
}

// pathOptions are the hub options of a Socket.IO server mounted at path,
// with the suites' heartbeat and origins.
func pathOptions(logger *slog.Logger, path string) *hub.Options {
	o := suiteOptions(logger)
	return &hub.Options{
		Path:           path,
		PingInterval:   o.PingInterval,
		PingTimeout:    o.PingTimeout,
		AllowedOrigins: o.AllowedOrigins,
		Logger:         logger,
	}
}

// newEngineIO returns the echo server mounted at /engine.io/.
func newEngineIO(logger *slog.Logger) *engineio.Server {
	return engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{
			Message: func(m engineio.Message) error {
				_ = s.Send(m.Frame())
				return nil
			},
		}
	}), suiteOptions(logger))
}

// newSocketIO returns the Socket.IO server mounted at path (/socket.io/,
// /eio3/ with allowEIO3, or /msgpack/ with the msgpack parser).
func newSocketIO(logger *slog.Logger, path string, allowEIO3 bool, clientFiles fs.FS, parser hub.Parser) *hub.Server {
	o := suiteOptions(logger)
	h := hub.New(&hub.Options{
		Path:           path,
		AllowEIO3:      allowEIO3,
		ClientFiles:    clientFiles,
		Parser:         parser,
		PingInterval:   o.PingInterval,
		PingTimeout:    o.PingTimeout,
		MaxPayload:     o.MaxPayload,
		ConnectTimeout: time.Second,
		AllowedOrigins: o.AllowedOrigins,
		Logger:         logger,
	})
	greet := func(s *namespace.Socket) { _ = s.Emit("auth", s.Handshake().Auth) }
	h.Of("/custom").OnConnection(greet)
	main := h.Of("/")
	main.OnConnection(func(s *namespace.Socket) {
		greet(s)
		s.On("message", func(e *namespace.Event) { _ = s.Emit("message-back", e.Args.Values()...) })
		s.On("message-with-ack", func(e *namespace.Event) {
			if e.Ack != nil {
				_ = e.Ack(e.Args.Values()...)
			}
		})
		namespace.HandleAck(s, "join", func(_ context.Context, room string) (string, error) { s.Join(room); return "ok", nil })
		namespace.HandleAck(s, "leave", func(_ context.Context, room string) (string, error) { s.Leave(room); return "ok", nil })
		s.On("to-room", func(e *namespace.Event) {
			var room string
			if e.Args.Decode(0, &room) == nil {
				_ = s.To(room).Emit("room-message", e.Args.Values()[1:]...)
			}
		})
		s.On("to-room-all", func(e *namespace.Event) {
			var room string
			if e.Args.Decode(0, &room) == nil {
				_ = main.To(room).Emit("room-message", e.Args.Values()[1:]...)
			}
		})
		s.On("server-disconnect", func(*namespace.Event) { s.Disconnect(false) })
		s.On("emit-with-ack", func(e *namespace.Event) {
			args := e.Args.Values()
			go func() {
				ctx, cancel := context.WithTimeout(s.Context(), 10*time.Second)
				defer cancel()
				reply, err := s.EmitWithAck(ctx, "server-ack-request", args...)
				if err == nil {
					_ = s.Emit("server-ack-result", reply.Values()...)
				}
			}()
		})
		namespace.Handle(s, "burst", func(_ context.Context, n int) error {
			for i := 0; i < n; i++ {
				_ = s.Emit("burst-item", i)
			}
			return nil
		})
	})
	return h
}

// newRecovery returns the Socket.IO server with connection state recovery
// mounted at /recovery/ (and, with the msgpack parser, at
// /msgpack-recovery/).
func newRecovery(logger *slog.Logger, path string, parser hub.Parser) *hub.Server {
	opts := pathOptions(logger, path)
	opts.Parser = parser
	opts.ConnectionStateRecovery = &namespace.Recovery{MaxDisconnectionDuration: 2 * time.Second, SkipMiddlewares: true}
	h := hub.New(opts)
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("stream")
		s.On("stream", func(e *namespace.Event) {
			var n, everyMs int
			if e.Args.Scan(&n, &everyMs) != nil {
				return
			}
			go func() {
				for i := 0; i < n; i++ {
					_ = h.To("stream").Emit("item", i)
					time.Sleep(time.Duration(everyMs) * time.Millisecond)
				}
			}()
		})
	})
	return h
}
