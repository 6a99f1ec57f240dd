// Package benchserver is the benchmark server's Socket.IO application, on
// the library's hub, shared by cmd bench/server and the tests of the load
// generator. Call [New] and mount the returned hub on /socket.io/.
//
// Events on the main namespace (the same as bench/node/server.js):
//
//	join(room[, ack])    joins room, acks "ok"
//	leave(room[, ack])   leaves room, acks "ok"
//	bcast(room, payload) to(room).emit("msg", payload)
//	bcastAck(room, payload, ack)  to(room).emitWithAck("ask", payload), acks the number of replies
//	echo(payload, ack)   ack(payload)
//	stats(arg, ack)      arg "gc": GC and return memory to the OS first;
//	                     acks {rss, heapUsed, goroutines, clients}
package benchserver

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// Stats is the answer to the stats event.
type Stats struct {
	// RSS is the resident set size of the process, in bytes.
	RSS int64 `json:"rss"`
	// HeapUsed is the live Go heap (runtime.MemStats.HeapAlloc), in bytes.
	HeapUsed int64 `json:"heapUsed"`
	// Goroutines running now.
	Goroutines int `json:"goroutines"`
	// Clients are the open Engine.IO sessions.
	Clients int `json:"clients"`
}

// New returns the benchmark hub. opts may be nil (the hub's defaults, with
// a logger that only reports errors). HTTP compression of polling responses
// is off unless opts set HTTPCompression, so that the figures measure the
// transports and stay comparable with earlier runs.
func New(opts *hub.Options) *hub.Server {
	var o hub.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	if o.HTTPCompression == nil {
		o.HTTPCompression = &hub.Compression{Disable: true}
	}
	h := hub.New(&o)
	// The handlers are made once for all sockets (they find theirs in the
	// event), so that a connection holds no closures of its own.
	inRoom := func(op func(s *namespace.Socket, room string)) func(*namespace.Event) {
		return func(e *namespace.Event) {
			var room string
			if err := e.Args.Decode(0, &room); err != nil {
				return
			}
			op(e.Socket, room)
			if e.Ack != nil {
				_ = e.Ack("ok")
			}
		}
	}
	join := inRoom(func(s *namespace.Socket, room string) { s.Join(room) })
	leave := inRoom(func(s *namespace.Socket, room string) { s.Leave(room) })
	bcast := func(e *namespace.Event) {
		var room string
		if err := e.Args.Decode(0, &room); err != nil {
			return
		}
		_ = h.To(room).Emit("msg", e.Args.Values()[1:]...)
	}
	// bcastAck(room, payload): To(room).EmitWithAck("ask", payload),
	// answered with the number of replies (-1 on an error).
	bcastAck := func(e *namespace.Event) {
		var room string
		if err := e.Args.Decode(0, &room); err != nil || e.Ack == nil {
			return
		}
		args := e.Args.Values()[1:]
		go func() { // EmitWithAck waits: not on the socket's event loop
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			replies, err := h.To(room).EmitWithAck(ctx, "ask", args...)
			if err != nil {
				_ = e.Ack(-1)
				return
			}
			_ = e.Ack(len(replies))
		}()
	}
	echo := func(e *namespace.Event) {
		if e.Ack != nil {
			_ = e.Ack(e.Args.Values()...)
		}
	}
	stats := func(e *namespace.Event) {
		var arg string
		_ = e.Args.Decode(0, &arg)
		if e.Ack != nil {
			_ = e.Ack(Collect(h, arg == "gc"))
		}
	}
	h.OnConnection(func(s *namespace.Socket) {
		s.On("join", join)
		s.On("leave", leave)
		s.On("bcast", bcast)
		s.On("bcastAck", bcastAck)
		s.On("echo", echo)
		s.On("stats", stats)
	})
	return h
}

// Collect measures the process, with the hub's open sessions as Clients;
// with gc it first runs a collection and returns freed memory to the
// operating system.
func Collect(h *hub.Server, gc bool) Stats { return Measure(h.Engine().Len(), gc) }

// Measure is Collect for a server that counts its own clients (bench/floor).
func Measure(clients int, gc bool) Stats {
	if gc {
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Stats{
		RSS:        RSS(),
		HeapUsed:   int64(ms.HeapAlloc),
		Goroutines: runtime.NumGoroutine(),
		Clients:    clients,
	}
}

// RSS reads VmRSS from /proc/self/status, in bytes (0 where there is no
// /proc).
func RSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			v = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))
			kb, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
