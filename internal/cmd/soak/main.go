// Command soak checks that the hub leaks nothing over connection churn: it
// serves a hub on loopback, opens and closes -n connections in every way a
// client can come and go (see internal/soak), waits for the sessions to end,
// and compares goroutines and heap with the baseline. It exits 1 when they
// have not returned to it.
//
//	go run ./internal/cmd/soak -n 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/internal/soak"
	"github.com/go-realtime/realtime/namespace"
)

func main() {
	n := flag.Int("n", 100000, "connections to open and close")
	concurrency := flag.Int("c", 64, "connections at a time")
	flag.Parse()
	if err := run(*n, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(n, concurrency int) error {
	h := hub.New(&hub.Options{
		PingInterval: 500 * time.Millisecond, PingTimeout: 500 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	h.OnConnection(func(s *namespace.Socket) {
		s.Join("soak")
		s.On("hello", func(*namespace.Event) {})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	goroutines0, heap0 := measure()
	fmt.Printf("baseline: %d goroutines, %.1f MiB heap\n", goroutines0, float64(heap0)/(1<<20))
	start := time.Now()
	res := soak.Run(context.Background(), "http://"+ln.Addr().String(), n, concurrency)
	fmt.Printf("%d connections in %v (%.0f/s): %v, %d errors\n", n, time.Since(start).Round(time.Millisecond),
		float64(n)/time.Since(start).Seconds(), res.Done, res.Errors)
	if res.First != nil {
		fmt.Printf("first error: %v\n", res.First)
	}
	// Abandoned sessions end by heartbeat; idle keep-alive connections by
	// the HTTP server's IdleTimeout.
	deadline := time.Now().Add(30 * time.Second)
	for h.Stats().Sessions > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	goroutines1, heap1 := measure()
	fmt.Printf("after: %d goroutines, %.1f MiB heap, %d sessions open\n", goroutines1, float64(heap1)/(1<<20), h.Stats().Sessions)
	switch {
	case h.Stats().Sessions > 0:
		return fmt.Errorf("%d sessions still open", h.Stats().Sessions)
	case goroutines1 > goroutines0+8:
		return fmt.Errorf("goroutines grew from %d to %d", goroutines0, goroutines1)
	case heap1 > heap0+8<<20:
		return fmt.Errorf("heap grew from %d to %d bytes", heap0, heap1)
	case res.Errors > int64(n)/1000:
		return fmt.Errorf("%d of %d connections failed", res.Errors, n)
	}
	fmt.Println("ok: goroutines and heap back to baseline")
	return nil
}

func measure() (goroutines int, heap uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}
