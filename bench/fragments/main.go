// Command fragments measures what a server pays for a WebSocket message
// split into many small frames, sent before the Socket.IO CONNECT: a
// CONNECT packet for "/" whose auth payload pads it to -size bytes, sent as
// frames of -frag bytes each (-frag 0: one frame), written -write bytes at
// a time, -pace apart (a pause lets the server read each write on its own,
// as it would from a slower link). The server either
// refuses it (a close frame: its code is reported) or accepts it (the
// CONNECT answer). For each of -runs connections in turn it reports the
// time from the first byte sent to that answer, and the server's CPU time
// (utime + stime from /proc/<pid>/stat, 10 ms ticks: use several runs) per
// message, counted until the server is idle again.
//
//	go run ./bench/server -addr 127.0.0.1:3000 &
//	go run ./bench/fragments -addr 127.0.0.1:3000 -pid $(pgrep -n server)
//
// Any Socket.IO v4 server works, Node's bench/node/server.js included.
// Needs Linux; the address must be a loopback one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-realtime/realtime/bench/internal/load"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "server address (loopback only)")
	pid := flag.Int("pid", 0, "server process id, for its CPU time")
	size := flag.Int("size", 900_000, "message size in bytes")
	frag := flag.Int("frag", 1, "bytes per frame (0: the message in one frame)")
	write := flag.Int("write", 64<<10, "bytes per write system call")
	pace := flag.Duration("pace", 0, "pause between writes (so that the server reads each one apart)")
	runs := flag.Int("runs", 5, "messages, one connection each, one after the other")
	flag.Parse()
	if err := load.CheckLoopback(*addr); err != nil {
		log.Fatalf("fragments: %v", err)
	}
	if *pid <= 0 || *runs <= 0 || *size < 4 || *frag < 0 || *write <= 0 {
		log.Fatal("fragments: -pid, -runs, -size (>= 4), -frag (>= 0) and -write (> 0) are required")
	}
	msg := connectPacket(*size)
	if *frag == 0 {
		*frag = len(msg)
	}
	wire := websocket.AppendFragmented(nil, transport.TextFrame(string(msg)), *frag)
	fmt.Printf("message of %d bytes in %d frames of %d bytes (%d bytes), written %d bytes at a time, %v apart, %d runs\n",
		len(msg), (len(msg)+*frag-1) / *frag, *frag, len(wire), *write, *pace, *runs)

	var times []time.Duration
	outcomes := map[string]int{}
	cpu0 := idleCPU(*pid)
	for range *runs {
		d, outcome, err := run(*addr, wire, *write, *pace)
		if err != nil {
			log.Fatalf("fragments: %v", err)
		}
		times = append(times, d)
		outcomes[outcome]++
	}
	cpu := idleCPU(*pid) - cpu0
	slices.Sort(times)
	fmt.Printf("answers: %v\n", outcomes)
	fmt.Printf("time to answer: median %v, max %v\n", times[len(times)/2].Round(10*time.Microsecond), times[len(times)-1].Round(10*time.Microsecond))
	fmt.Printf("server CPU: %v per message (%v for %d)\n", (cpu / time.Duration(*runs)).Round(time.Millisecond), cpu, *runs)
}

// connectPacket is a CONNECT packet for "/", in an Engine.IO message, of
// exactly size bytes.
func connectPacket(size int) []byte {
	const head, tail = `40{"pad":"`, `"}`
	pad := max(0, size-len(head)-len(tail))
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// run sends the frames in wire on a new connection, write bytes at a time,
// and waits for the server's answer.
func run(addr string, wire []byte, write int, pace time.Duration) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cc, err := websocket.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return 0, "", err
	}
	defer cc.Close()
	if f, err := cc.ReadFrame(ctx); err != nil || !strings.HasPrefix(string(f.Data), "0{") {
		return 0, "", fmt.Errorf("no open packet: %q, %v", f.Data, err)
	}
	start := time.Now()
	wrote := make(chan error, 1)
	go func() {
		for b := wire; len(b) > 0; b = b[min(write, len(b)):] {
			if err := cc.WriteRaw(b[:min(write, len(b))]); err != nil {
				wrote <- err
				return
			}
			if pace > 0 {
				time.Sleep(pace)
			}
		}
		wrote <- nil
	}()
	f, err := cc.ReadFrame(ctx)
	d := time.Since(start)
	var outcome string
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		outcome = fmt.Sprintf("close %d", ce.Code)
	case err != nil:
		outcome = "error: " + err.Error()
	case strings.HasPrefix(string(f.Data), "40"):
		outcome = "connected"
	default:
		outcome = fmt.Sprintf("packet %.10q", f.Data)
	}
	_ = cc.Close()
	if err := <-wrote; err != nil && !errors.Is(err, transport.ErrClosed) && !errors.Is(err, net.ErrClosed) {
		outcome += " (write: " + err.Error() + ")"
	}
	return d, outcome, nil
}

// idleCPU returns the CPU time of process pid once it has stopped using
// any: two readings 200 ms apart agree (bounded to 10 s).
func idleCPU(pid int) time.Duration {
	prev := cpuOf(pid)
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		cur := cpuOf(pid)
		if cur == prev {
			return cur
		}
		prev = cur
	}
	return prev
}

func cpuOf(pid int) time.Duration {
	d, err := load.ProcCPU(pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return d
}
