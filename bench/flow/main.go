// Command flow measures what flow control costs a client that reads and the
// server: a handler's burst of events to its own socket, and the replay of
// what a recovered client missed, over WebSocket and over polling. It starts
// the flow-control server (internal/flowserver, hub defaults) in a child
// process and drives it with lean clients from this one:
//
//	go run ./bench/flow                # 10,000 × 1 KB bursts; 3,000 × 8 KB (WebSocket) and × 1 KB (polling) replays
//	go run ./bench/flow -runs 5 -n 20000
//
// For each case it reports the time to deliver (from the request to the
// last event received, median of the runs) and the server's peak memory
// above what it held before (largest of the runs): the Go heap's objects,
// sampled every millisecond, and the resident set size's high-water mark.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-realtime/realtime/internal/flowserver"
	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/polling"
	"github.com/go-realtime/realtime/transport/websocket"
)

func main() {
	serve := flag.String("serve", "", "run the server on this address (the child process)")
	runs := flag.Int("runs", 3, "runs of each case")
	n := flag.Int("n", 10000, "events of a burst")
	size := flag.Int("size", 1024, "bytes of a burst's event")
	replay := flag.Int("replay", 3000, "broadcasts a recovered client missed")
	wsSize := flag.Int("ws-size", 8192, "bytes of a missed broadcast, WebSocket")
	pollSize := flag.Int("poll-size", 1024, "bytes of a missed broadcast, polling")
	flag.Parse()
	if *serve != "" {
		runServer(*serve)
		return
	}
	addr, stop, err := startServer()
	if err != nil {
		log.Fatalf("flow: %v", err)
	}

	type flowCase struct {
		name, transport string
		events, size    int
		run             func(ctx context.Context, m *meter, base, tr string, events, size int) (time.Duration, error)
	}
	cases := []flowCase{
		{"burst", transport.NameWebSocket, *n, *size, burst},
		{"burst", transport.NamePolling, *n, *size, burst},
		{"recovery replay", transport.NameWebSocket, *replay, *wsSize, recoverReplay},
		{"recovery replay", transport.NamePolling, *replay, *pollSize, recoverReplay},
	}
	exit := 0
	base := "http://" + addr
	fmt.Printf("| case | transport | events | time to deliver | server peak heap (above before) | server peak RSS (above before) |\n|---|---|---|---:|---:|---:|\n")
	for _, c := range cases {
		var times []time.Duration
		var heap, rss uint64
		var failed error
		for range *runs {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			m, err := newMeter(ctx, base)
			var d time.Duration
			if err == nil {
				d, err = c.run(ctx, m, base, c.transport, c.events, c.size)
				m.ctl.close()
			}
			cancel()
			if err != nil {
				failed = err
				break
			}
			times = append(times, d)
			heap = max(heap, sub(m.after.Heap, m.before.Heap))
			rss = max(rss, sub(m.after.RSS, m.before.RSS))
		}
		if failed != nil {
			fmt.Printf("| %s | %s | %s × %s | failed after %d runs: %v | | |\n", c.name, c.transport, count(c.events), bytesText(uint64(c.size)),
				len(times), failed)
			exit = 1
			continue
		}
		slices.Sort(times)
		fmt.Printf("| %s | %s | %s × %s | %s | %s | %s |\n", c.name, c.transport, count(c.events), bytesText(uint64(c.size)),
			times[len(times)/2].Round(time.Millisecond), bytesText(heap), bytesText(rss))
	}
	stop()
	os.Exit(exit)
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func bytesText(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// runServer serves the flow-control hub on addr until stdin closes.
func runServer(addr string) {
	h := flowserver.New("/socket.io/", nil)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("flow server: %v", err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("flow server: %v", err)
	}
}

// startServer starts this program with -serve in a child process and
// returns its address, and a function that stops it.
func startServer() (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "-serve", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; stop(); os.Exit(1) }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		stop()
		return "", nil, fmt.Errorf("server did not start: %q, %v", line, err)
	}
	return addr, stop, nil
}

// meter asks the server for its memory, on a control connection of its
// own: mark before what is measured, peak after.
type meter struct {
	ctl           *client
	before, after flowserver.Memory
}

func newMeter(ctx context.Context, base string) (*meter, error) {
	ctl, err := dial(ctx, base, transport.NameWebSocket, "")
	if err != nil {
		return nil, err
	}
	return &meter{ctl: ctl}, nil
}

func (m *meter) mark(ctx context.Context) error { return m.ctl.call(ctx, &m.before, "mark") }
func (m *meter) peak(ctx context.Context) error { return m.ctl.call(ctx, &m.after, "peak") }

// burst asks the server for events of size bytes and times them to the
// last one (the ack follows them).
func burst(ctx context.Context, m *meter, base, tr string, events, size int) (time.Duration, error) {
	c, err := dial(ctx, base, tr, "")
	if err != nil {
		return 0, err
	}
	defer c.close()
	if err := m.mark(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	var n int
	got := 0
	err = c.callCounting(ctx, &n, func(name string) {
		if name == "burst-item" {
			got++
		}
	}, "burst", events, size)
	d := time.Since(start)
	if err == nil && (n != events || got != events) {
		err = fmt.Errorf("%d of %d events arrived (ack %d)", got, events, n)
	}
	if err != nil {
		return 0, err
	}
	return d, m.peak(ctx)
}

// recoverReplay has a client miss events broadcasts of size bytes, then
// recover, and times the replay from the recovering CONNECT to the last
// missed event.
func recoverReplay(ctx context.Context, m *meter, base, tr string, events, size int) (time.Duration, error) {
	observer, err := dial(ctx, base, transport.NameWebSocket, "")
	if err != nil {
		return 0, err
	}
	defer observer.close()
	var ok string
	if err := observer.call(ctx, &ok, "observe"); err != nil {
		return 0, err
	}
	room := "replay " + strconv.FormatInt(time.Now().UnixNano(), 36)
	first, err := dial(ctx, base, tr, "")
	if err != nil {
		return 0, err
	}
	if err := first.call(ctx, &ok, "join", room); err != nil {
		return 0, err
	}
	if err := first.send(`2["prime",` + quote(room) + `]`); err != nil {
		return 0, err
	}
	if _, err := first.expect(ctx, "item"); err != nil {
		return 0, err
	}
	if err := first.call(ctx, &ok, "fill-after-close", room, events, size); err != nil {
		return 0, err
	}
	first.close() // the connection is lost
	if _, err := observer.expect(ctx, "filled"); err != nil {
		return 0, err
	}

	// What is measured is the replay: the missed broadcasts are already
	// kept (events × size, plus the encoding) before it starts.
	if err := m.mark(ctx); err != nil {
		return 0, err
	}
	start := time.Now()
	auth, _ := json.Marshal(map[string]string{"pid": first.pid, "offset": first.offset})
	again, err := dial(ctx, base, tr, string(auth))
	if err != nil {
		return 0, err
	}
	defer again.close()
	if again.sid != first.sid {
		return 0, errors.New("the session was not recovered")
	}
	for i := 0; i < events; i++ {
		if _, err := again.expect(ctx, "item"); err != nil {
			return 0, fmt.Errorf("missed event %d of %d: %w", i, events, err)
		}
	}
	d := time.Since(start)
	return d, m.peak(ctx)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// client is a lean Socket.IO client on the main namespace.
type client struct {
	conn     frameConn
	sid, pid string
	offset   string // of the last broadcast received
	nextID   int
}

// frameConn carries Engine.IO packets.
type frameConn interface {
	write(text string) error
	read(ctx context.Context) (string, error)
	close()
}

// dial connects to "/" with auth (JSON, or "" for none).
func dial(ctx context.Context, base, tr, auth string) (*client, error) {
	var fc frameConn
	var err error
	if tr == transport.NameWebSocket {
		fc, err = dialWS(ctx, base)
	} else {
		fc, err = dialPolling(ctx, base)
	}
	if err != nil {
		return nil, err
	}
	c := &client{conn: fc}
	open, err := c.next(ctx)
	if err != nil || !strings.HasPrefix(open, "0") {
		fc.close()
		return nil, fmt.Errorf("open packet %q: %v", open, err)
	}
	if err := c.send("0" + auth); err != nil {
		fc.close()
		return nil, err
	}
	reply, err := c.next(ctx)
	var ans struct{ SID, PID string }
	if err != nil || !strings.HasPrefix(reply, "0") || json.Unmarshal([]byte(reply[1:]), &ans) != nil {
		fc.close()
		return nil, fmt.Errorf("CONNECT answer %q: %v", reply, err)
	}
	c.sid, c.pid = ans.SID, ans.PID
	return c, nil
}

func (c *client) send(packet string) error { return c.conn.write("4" + packet) }

func (c *client) close() { c.conn.close() }

// next returns the next message packet, without its "4", answering pings.
func (c *client) next(ctx context.Context) (string, error) {
	for {
		p, err := c.conn.read(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case p == "2":
			if err := c.conn.write("3"); err != nil {
				return "", err
			}
		case strings.HasPrefix(p, "4"):
			return p[1:], nil
		case strings.HasPrefix(p, "0"):
			return p, nil
		}
	}
}

// expect reads events until one called name, and returns its arguments.
func (c *client) expect(ctx context.Context, name string) ([]json.RawMessage, error) {
	for {
		p, err := c.next(ctx)
		if err != nil {
			return nil, err
		}
		if args, ok := c.event(p); ok && args != nil && string(args[0]) == quote(name) {
			return args[1:], nil
		}
	}
}

// event decodes an EVENT packet's arguments, name first, and notes the
// offset a broadcast carries last.
func (c *client) event(p string) ([]json.RawMessage, bool) {
	if !strings.HasPrefix(p, "2[") {
		return nil, false
	}
	var args []json.RawMessage
	if json.Unmarshal([]byte(p[1:]), &args) != nil || len(args) == 0 {
		return nil, true
	}
	if last := args[len(args)-1]; len(args) > 1 && len(last) > 0 && last[0] == '"' {
		_ = json.Unmarshal(last, &c.offset)
	}
	return args, true
}

// call emits event with args and an ack request, and decodes the ack's
// first argument into reply.
func (c *client) call(ctx context.Context, reply any, event string, args ...any) error {
	return c.callCounting(ctx, reply, nil, event, args...)
}

// callCounting is call, passing the name of each event received meanwhile
// to seen.
func (c *client) callCounting(ctx context.Context, reply any, seen func(name string), event string, args ...any) error {
	id := c.nextID
	c.nextID++
	data, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return err
	}
	if err := c.send("2" + strconv.Itoa(id) + string(data)); err != nil {
		return err
	}
	ackPrefix := "3" + strconv.Itoa(id) + "["
	for {
		p, err := c.next(ctx)
		if err != nil {
			return err
		}
		if rest, ok := strings.CutPrefix(p, ackPrefix); ok {
			var vals []json.RawMessage
			if err := json.Unmarshal([]byte("["+rest), &vals); err != nil || len(vals) == 0 {
				return fmt.Errorf("ack %q", p)
			}
			return json.Unmarshal(vals[0], reply)
		}
		if seen != nil {
			if i := strings.IndexByte(p, ','); strings.HasPrefix(p, `2["`) && i > 0 {
				seen(p[3 : i-1])
			}
		}
	}
}

// wsConn is a WebSocket connection.
type wsConn struct{ c *websocket.ClientConn }

func dialWS(ctx context.Context, base string) (*wsConn, error) {
	c, err := websocket.Dial(ctx, base+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return nil, err
	}
	return &wsConn{c}, nil
}

func (w *wsConn) write(text string) error { return w.c.WriteFrame(transport.TextFrame(text)) }

func (w *wsConn) read(ctx context.Context) (string, error) {
	f, err := w.c.ReadFrame(ctx)
	return string(f.Data), err
}

func (w *wsConn) close() { _ = w.c.Close() }

// pollConn is a polling session: a goroutine keeps a GET outstanding, and
// writes go out one POST at a time from another (a POST carrying an event
// is answered once the handler returns).
type pollConn struct {
	url    string
	frames chan string
	writes chan string
	errs   chan error
	done   chan struct{}
}

func dialPolling(ctx context.Context, base string) (*pollConn, error) {
	p := &pollConn{url: base + "/socket.io/?EIO=4&transport=polling", frames: make(chan string, 4096),
		writes: make(chan string, 64), errs: make(chan error, 2), done: make(chan struct{})}
	open, err := p.get(ctx)
	if err != nil || len(open) != 1 {
		return nil, fmt.Errorf("polling handshake: %v", err)
	}
	var hs struct{ SID string }
	if err := json.Unmarshal([]byte(open[0][1:]), &hs); err != nil {
		return nil, fmt.Errorf("polling handshake %q", open[0])
	}
	p.url += "&sid=" + hs.SID
	p.frames <- open[0]
	go p.poll()
	go p.post()
	return p, nil
}

func (p *pollConn) get(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET: %d %q: %v", res.StatusCode, body, err)
	}
	frames, err := polling.DecodePayload(body)
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = string(f.Data)
	}
	return out, err
}

func (p *pollConn) poll() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-p.done; cancel() }()
	for {
		frames, err := p.get(ctx)
		if err != nil {
			p.errs <- err
			return
		}
		for _, f := range frames {
			select {
			case p.frames <- f:
			case <-p.done:
				return
			}
		}
	}
}

func (p *pollConn) post() {
	for {
		select {
		case text := <-p.writes:
			res, err := http.Post(p.url, "text/plain;charset=UTF-8", strings.NewReader(text))
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					err = fmt.Errorf("POST: %d", res.StatusCode)
				}
			}
			if err != nil {
				p.errs <- err
				return
			}
		case <-p.done:
			return
		}
	}
}

func (p *pollConn) write(text string) error {
	select {
	case p.writes <- text:
		return nil
	case err := <-p.errs:
		return err
	}
}

func (p *pollConn) read(ctx context.Context) (string, error) {
	select {
	case f := <-p.frames:
		return f, nil
	case err := <-p.errs:
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (p *pollConn) close() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	// Tell the server (a close packet), so that the session ends now, as a
	// lost connection does.
	if res, err := http.Post(p.url, "text/plain;charset=UTF-8", strings.NewReader("1")); err == nil {
		res.Body.Close()
	}
}
