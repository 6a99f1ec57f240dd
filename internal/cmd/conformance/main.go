// Command conformance serves what the official Engine.IO and Socket.IO
// protocol test suites expect on one port:
//
//   - /engine.io/: a plain Engine.IO v4 server echoing every message (text as
//     text, binary as binary);
//
// with pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000 and any
// Origin allowed.
//
//	go run ./internal/cmd/conformance -addr 127.0.0.1:3000
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-realtime/realtime/transport/engineio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	verbose := flag.Bool("v", false, "log debug messages")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	mux := http.NewServeMux()
	eio := newEngineIO(logger)
	mux.Handle("/engine.io/", eio)

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eio.Shutdown(shutdownCtx)
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
