// Command load runs the benchmark scenarios against one Socket.IO server
// that is already running (the Go one, bench/server, or the Node one,
// bench/node/server.js) and prints the results. bench/run starts both
// servers and compares them; use this command to look at one server alone:
//
//	go run ./bench/server -addr 127.0.0.1:3000 &
//	go run ./bench/load -addr 127.0.0.1:3000 -pid $! -quick
//
// Without -pid the server's CPU time is not measured. Only loopback
// addresses are accepted.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-realtime/realtime/bench/internal/load"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "server address (loopback only)")
	pid := flag.Int("pid", 0, "server process id, for its CPU time and RSS (0: not measured)")
	name := flag.String("name", "server", "label of the results")
	quick := flag.Bool("quick", false, "short run")
	hold := flag.Int("hold", 0, "hold scenario: at most this many idle connections (0: as many as the file limits allow; -1: skip)")
	skip := flag.String("skip", "", "comma-separated scenarios to skip: "+load.SkipNames)
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	connectN := flag.Int("connect-n", 0, "connections of the connect scenario (0: 5000)")
	connectRate := flag.Float64("connect-rate", 0, "connections per second in the connect scenario (0: 500, 1000 with -quick)")
	echoClients := flag.Int("echo-clients", 0, "clients of the echo scenario (0: 50)")
	flag.Parse()

	if err := load.CheckLoopback(*addr); err != nil {
		log.Fatal(err)
	}
	limit, err := load.RaiseFileLimit()
	if err != nil {
		log.Printf("load: %v", err)
	}
	cfg := load.Full()
	if *quick {
		cfg = load.Quick()
	}
	cfg.Log = os.Stderr
	if *connectN > 0 {
		cfg.ConnectN = *connectN
	}
	if *connectRate > 0 {
		cfg.ConnectRate = *connectRate
	}
	if *echoClients > 0 {
		cfg.EchoClients = *echoClients
	}
	if cfg.Skip, err = load.ParseSkip(*skip); err != nil {
		log.Fatal(err)
	}
	switch {
	case *hold > 0:
		cfg.HoldMax = *hold
	case *hold == 0:
		cfg.HoldMax = load.HoldTarget(limit, *pid)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	res, err := load.Run(ctx, load.Target{Name: *name, Addr: *addr, PID: *pid}, cfg)
	if res != nil {
		fmt.Print(load.Table([]*load.Results{res}))
		if *jsonOut != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(*jsonOut, b, 0o644); werr != nil {
				log.Print(werr)
			}
		}
	}
	if err != nil {
		log.Fatal(err)
	}
}
