package redis_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// nodeDriver runs cluster-test/server.mjs: a Node.js socket.io server with
// @socket.io/redis-adapter, and socket.io-client clients, driven through
// stdin/stdout (see the script's header).
type nodeDriver struct {
	t      *testing.T
	stdin  io.WriteCloser
	stderr *strings.Builder

	mu      sync.Mutex
	nextID  int
	results map[int]chan driverLine
	events  map[string]chan driverLine
	side    chan driverLine
	exited  chan struct{}
}

type driverLine struct {
	Type   string            `json:"type"`
	ID     int               `json:"id"`
	Value  json.RawMessage   `json:"value"`
	Error  string            `json:"error"`
	Client string            `json:"client"`
	Event  string            `json:"event"`
	Args   []json.RawMessage `json:"args"`
	Port   int               `json:"port"`
}

// clusterTestDir is cluster-test/ at the repository root.
func clusterTestDir(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..", "cluster-test")
}

func startNodeDriver(t *testing.T, redisAddr, goURL string, env ...string) *nodeDriver {
	t.Helper()
	dir := clusterTestDir(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the mixed-cluster test needs Node.js 20+ (node not found): %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-adapter")); err != nil {
		t.Fatalf("run `npm ci --prefix cluster-test` first (or `make test`): %v", err)
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "REDIS_URL=redis://"+redisAddr, "GO_URL="+goURL), env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	d := &nodeDriver{t: t, stdin: stdin, stderr: &strings.Builder{}, results: map[int]chan driverLine{},
		events: map[string]chan driverLine{}, side: make(chan driverLine, 16), exited: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: d.stderr, mu: &d.mu}
	require.NoError(t, cmd.Start())
	ready := make(chan driverLine, 1)
	go func() {
		defer close(d.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l driverLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Type {
			case "ready":
				ready <- l
			case "result":
				d.mu.Lock()
				ch := d.results[l.ID]
				delete(d.results, l.ID)
				d.mu.Unlock()
				if ch != nil {
					ch <- l
				}
			case "event":
				d.eventsOf(l.Client) <- l
			case "server-side":
				d.side <- l
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the script disconnects and exits
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-d.exited
			t.Errorf("node driver did not exit; stderr:\n%s", d.stderrText())
		}
	})
	select {
	case <-ready:
	case <-d.exited:
		t.Fatalf("node driver exited at start:\n%s", d.stderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("node driver did not start:\n%s", d.stderrText())
	}
	return d
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (d *nodeDriver) stderrText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

func (d *nodeDriver) eventsOf(client string) chan driverLine {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := d.events[client]
	if ch == nil {
		ch = make(chan driverLine, 8192) // a recovery replays thousands before a command's result
		d.events[client] = ch
	}
	return ch
}

// call runs a command and decodes its value into v (if non-nil).
func (d *nodeDriver) call(v any, cmd string, params map[string]any) {
	d.t.Helper()
	msg := map[string]any{}
	for k, x := range params {
		msg[k] = x
	}
	ch := make(chan driverLine, 1)
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	d.results[id] = ch
	d.mu.Unlock()
	msg["id"], msg["cmd"] = id, cmd
	b, err := json.Marshal(msg)
	require.NoError(d.t, err)
	_, err = d.stdin.Write(append(b, '\n'))
	require.NoError(d.t, err)
	select {
	case l := <-ch:
		require.Empty(d.t, l.Error, "node %s", cmd)
		if v != nil {
			require.NoError(d.t, json.Unmarshal(l.Value, v), "node %s result %s", cmd, l.Value)
		}
	case <-d.exited:
		d.t.Fatalf("node driver exited during %s:\n%s", cmd, d.stderrText())
	case <-time.After(15 * time.Second):
		d.t.Fatalf("node %s: no result; stderr:\n%s", cmd, d.stderrText())
	}
}

// next returns the next event client received.
func (d *nodeDriver) next(client string) driverLine {
	d.t.Helper()
	select {
	case l := <-d.eventsOf(client):
		return l
	case <-time.After(15 * time.Second):
		d.t.Fatalf("client %s received nothing; stderr:\n%s", client, d.stderrText())
	}
	return driverLine{}
}

// expect checks that client's next event is event with first argument
// arg (JSON; "" to skip the check).
func (d *nodeDriver) expect(client, event, arg string) driverLine {
	d.t.Helper()
	l := d.next(client)
	require.Equal(d.t, event, l.Event, "client %s", client)
	if arg != "" {
		require.NotEmpty(d.t, l.Args, "client %s event %s", client, event)
		assert.JSONEq(d.t, arg, string(l.Args[0]), "client %s event %s", client, event)
	}
	return l
}

func bin(b []byte) string { return `{"$bin":"` + base64.StdEncoding.EncodeToString(b) + `"}` }

type nodeSocket struct {
	ID        string          `json:"id"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	Handshake struct {
		Auth           json.RawMessage `json:"auth"`
		Time           string          `json:"time"`
		Issued         float64         `json:"issued"`
		TimeParsed     float64         `json:"timeParsed"`
		IssuedIsNumber bool            `json:"issuedIsNumber"`
	} `json:"handshake"`
}

// roomBroadcastFromGo broadcasts to room from h, with binary arguments,
// and checks that the clients in it (names of the driver's clients) get it.
func roomBroadcastFromGo(t *testing.T, d *nodeDriver, h *hub.Server, room string, inR ...string) {
	t.Helper()
	require.NoError(t, h.To(room).Emit("from-go", "hi", []byte{1, 2, 255}, map[string]any{"b": []byte("x")}))
	for _, c := range inR {
		l := d.expect(c, "from-go", `"hi"`)
		require.Len(t, l.Args, 3)
		assert.JSONEq(t, bin([]byte{1, 2, 255}), string(l.Args[1]))
		assert.JSONEq(t, `{"b":`+bin([]byte("x"))+`}`, string(l.Args[2]))
	}
}

// roomBroadcastFromNode is roomBroadcastFromGo from the Node server.
func roomBroadcastFromNode(t *testing.T, d *nodeDriver, room string, inR ...string) {
	t.Helper()
	d.call(nil, "emit", map[string]any{"rooms": []string{room}, "event": "from-node",
		"args": []any{"yo", json.RawMessage(bin([]byte{9, 8})), map[string]any{"n": 1.5}}})
	for _, c := range inR {
		l := d.expect(c, "from-node", `"yo"`)
		require.Len(t, l.Args, 3)
		assert.JSONEq(t, bin([]byte{9, 8}), string(l.Args[1]))
		assert.JSONEq(t, `{"n":1.5}`, string(l.Args[2]))
	}
}

// A Node.js socket.io server with @socket.io/redis-adapter 8.x and a Go hub
// on one Redis, with the official client connected to each.
func TestMixedCluster(t *testing.T) {
	srv := startRedis(t)
	h := newNode(t, srv, nil)
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, web.URL)
	runMixed(t, h, d, mixedEnv{})
}

// testMixedCluster checks that the Go hub h and a Node.js server (started
// with env) form one cluster.
func testMixedCluster(t *testing.T, srv *redisServer, h *hub.Server, env ...string) {
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, web.URL, env...)
	runMixed(t, h, d, mixedEnv{})
}

// mixedEnv adapts runMixed to an adapter.
type mixedEnv struct {
	// room names the test's room base (nil: base itself).
	room func(base string) string
	// waitRoom waits until n nodes subscribe to room's channel (nil: no
	// wait).
	waitRoom func(room string, n int)
}

// runMixed is the mixed-cluster test: a Node.js server (d) and a Go hub
// (h, with newNode's handlers) in one cluster.
// It returns the clients' socket ids by name; nA and gA are still
// connected at the end.
func runMixed(t *testing.T, h *hub.Server, d *nodeDriver, mx mixedEnv) map[string]string {
	if mx.room == nil {
		mx.room = func(base string) string { return base }
	}
	if mx.waitRoom == nil {
		mx.waitRoom = func(string, int) {}
	}
	rR, rX, rY := mx.room("r"), mx.room("x"), mx.room("y")
	h.Of("/").OnServerSideEmit("node-hello", func(e *namespace.Event) {
		var arg string
		_ = e.Args.Decode(0, &arg)
		if e.Ack != nil {
			_ = e.Ack(map[string]string{"from": "go", "got": arg})
		}
	})
	ctx := testCtx(t)

	ids := map[string]string{}
	for _, c := range []struct {
		name, target string
		rooms        []string
	}{
		{"nA", "node", []string{rR}},
		{"nB", "node", nil},
		{"gA", "go", []string{rR}},
		{"gB", "go", nil},
	} {
		var id string
		d.call(&id, "connect", map[string]any{"name": c.name, "target": c.target,
			"auth": map[string]any{"rooms": c.rooms, "data": map[string]string{"name": c.name}}})
		ids[c.name] = id
		d.expect(c.name, "ready", "")
	}
	mx.waitRoom(rR, 2)
	everyone := []string{"nA", "nB", "gA", "gB"}
	markerFromGo := func(n int) {
		require.NoError(t, h.Emit("marker", n))
		for _, c := range everyone {
			d.expect(c, "marker", fmt.Sprint(n))
		}
	}
	markerFromNode := func(n int) {
		d.call(nil, "emit", map[string]any{"event": "marker", "args": []any{n}})
		for _, c := range everyone {
			d.expect(c, "marker", fmt.Sprint(n))
		}
	}

	var count int
	d.call(&count, "serverCount", nil)
	assert.Equal(t, 2, count, "Node counts the Go hub as a node")

	t.Run("Go room broadcast reaches both sides, binary inline", func(t *testing.T) {
		roomBroadcastFromGo(t, d, h, rR, "nA", "gA")
		markerFromGo(1)
	})

	t.Run("Node room broadcast reaches both sides, binary inline", func(t *testing.T) {
		roomBroadcastFromNode(t, d, rR, "nA", "gA")
		markerFromNode(2)
		// With exceptions: everyone but the room r.
		d.call(nil, "emit", map[string]any{"except": []string{rR}, "event": "not-r", "args": []any{1}})
		d.expect("nB", "not-r", "1")
		d.expect("gB", "not-r", "1")
		markerFromNode(3)
		require.NoError(t, h.Of("/").Except(rR).Emit("not-r", 2))
		d.expect("nB", "not-r", "2")
		d.expect("gB", "not-r", "2")
		markerFromGo(4)
	})

	t.Run("a client's broadcast reaches the other side", func(t *testing.T) {
		d.call(nil, "clientEmit", map[string]any{"name": "gA", "event": "relay", "args": []any{"from gA"}})
		for _, c := range []string{"nA", "nB", "gB"} {
			d.expect(c, "relayed", `"from gA"`)
		}
		markerFromGo(5)
	})

	t.Run("Node fetchSockets lists the Go sockets", func(t *testing.T) {
		var socks []nodeSocket
		d.call(&socks, "fetchSockets", nil)
		byID := map[string]nodeSocket{}
		for _, s := range socks {
			byID[s.ID] = s
		}
		require.Len(t, byID, 4)
		ga := byID[ids["gA"]]
		assert.ElementsMatch(t, []string{ids["gA"], rR}, ga.Rooms)
		assert.JSONEq(t, `{"name":"gA"}`, string(ga.Data))
		assert.JSONEq(t, `{"rooms":["`+rR+`"],"data":{"name":"gA"}}`, string(ga.Handshake.Auth))
		// As socket.io gives them: issued in ms, time as Date's string.
		assert.True(t, ga.Handshake.IssuedIsNumber, "issued is a number")
		assert.Regexp(t, `^\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT\+0000 \(Coordinated Universal Time\)$`, ga.Handshake.Time)
		assert.InDelta(t, time.Now().UnixMilli(), ga.Handshake.Issued, 60_000, "issued is now-ish")
		assert.Equal(t, float64(int64(ga.Handshake.Issued)/1000*1000), ga.Handshake.TimeParsed, "time and issued agree (to the second)")
		na := byID[ids["nA"]]
		assert.True(t, na.Handshake.IssuedIsNumber)
		d.call(&socks, "fetchSockets", map[string]any{"rooms": []string{rR}})
		var inR []string
		for _, s := range socks {
			inR = append(inR, s.ID)
		}
		assert.ElementsMatch(t, []string{ids["nA"], ids["gA"]}, inR)
	})

	t.Run("Go FetchSockets lists the Node sockets", func(t *testing.T) {
		socks, err := h.Of("/").FetchSockets(ctx)
		require.NoError(t, err)
		byID := map[string]namespace.RemoteSocket{}
		for _, s := range socks {
			byID[s.ID] = s
		}
		require.Len(t, byID, 4)
		na := byID[ids["nA"]]
		assert.ElementsMatch(t, []string{ids["nA"], rR}, na.Rooms)
		assert.JSONEq(t, `{"name":"nA"}`, string(na.Data))
		var hs struct {
			Auth json.RawMessage `json:"auth"`
		}
		require.NoError(t, json.Unmarshal(na.Handshake, &hs))
		assert.JSONEq(t, `{"rooms":["`+rR+`"],"data":{"name":"nA"}}`, string(hs.Auth))
		socks, err = h.Of("/").In(rR).FetchSockets(ctx)
		require.NoError(t, err)
		var inR []string
		for _, s := range socks {
			inR = append(inR, s.ID)
		}
		assert.ElementsMatch(t, []string{ids["nA"], ids["gA"]}, inR)
	})

	t.Run("room operations both ways", func(t *testing.T) {
		// Node makes gB (on Go) join x; its next broadcast to x reaches it.
		d.call(nil, "socketsJoin", map[string]any{"target": ids["gB"], "rooms": []string{rX}})
		mx.waitRoom(rX, 1)
		d.call(nil, "emit", map[string]any{"rooms": []string{rX}, "event": "in-x", "args": []any{1}})
		d.expect("gB", "in-x", "1")
		assert.ElementsMatch(t, []string{ids["gB"], rX}, h.Of("/").Socket(ids["gB"]).Rooms())
		// Go makes nB (on Node) join y.
		require.NoError(t, h.Of("/").In(ids["nB"]).SocketsJoin(rY))
		mx.waitRoom(rY, 1)
		require.NoError(t, h.To(rY).Emit("in-y", 2))
		d.expect("nB", "in-y", "2")
		var rooms []string
		d.call(&rooms, "localRooms", map[string]any{"sid": ids["nB"]})
		assert.ElementsMatch(t, []string{ids["nB"], rY}, rooms)
		require.NoError(t, h.Of("/").In(ids["nB"]).SocketsLeave(rY))
		require.NoError(t, h.To(rY).Emit("in-y", 3))
		markerFromGo(6) // nB gets the marker only: it left y first
		d.call(&rooms, "localRooms", map[string]any{"sid": ids["nB"]})
		assert.ElementsMatch(t, []string{ids["nB"]}, rooms)
	})

	t.Run("server-side events both ways", func(t *testing.T) {
		var replies []json.RawMessage
		d.call(&replies, "serverSideEmitWithAck", map[string]any{"event": "node-hello", "args": []any{"ping"}})
		require.Len(t, replies, 1)
		assert.JSONEq(t, `{"from":"go","got":"ping"}`, string(replies[0]))

		got, err := h.Of("/").ServerSideEmitWithAck(ctx, "go-hello", "pong")
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.JSONEq(t, `{"from":"node","got":"pong"}`, string(got[0].Raw(0)))
		select {
		case l := <-d.side:
			assert.JSONEq(t, `["pong"]`, string(mustJSON(t, l.Args)))
		case <-ctx.Done():
			t.Fatal("the Node server did not get the event")
		}
		require.NoError(t, h.Of("/").ServerSideEmit("go-hello", "no ack"))
		select {
		case l := <-d.side:
			assert.JSONEq(t, `["no ack"]`, string(mustJSON(t, l.Args)))
		case <-ctx.Done():
			t.Fatal("the Node server did not get the event")
		}
	})

	t.Run("emitWithAck gathers every client's answer", func(t *testing.T) {
		var answers []struct {
			Name string          `json:"name"`
			Bin  json.RawMessage `json:"bin"`
		}
		d.call(&answers, "emitWithAck", map[string]any{"event": "question", "args": []any{"from node"}})
		var names []string
		for _, a := range answers {
			names = append(names, a.Name)
			assert.JSONEq(t, bin([]byte(a.Name)), string(a.Bin))
		}
		assert.ElementsMatch(t, everyone, names)
		for _, c := range everyone {
			d.expect(c, "question", `"from node"`)
		}

		replies, err := h.Of("/").EmitWithAck(ctx, "question", "from go")
		require.NoError(t, err)
		names = names[:0]
		for _, r := range replies {
			var a struct {
				Name string `json:"name"`
				Bin  []byte `json:"bin"`
			}
			require.NoError(t, r.Decode(0, &a))
			assert.Equal(t, a.Name, string(a.Bin))
			names = append(names, a.Name)
		}
		assert.ElementsMatch(t, everyone, names)
		for _, c := range everyone {
			d.expect(c, "question", `"from go"`)
		}
	})

	t.Run("disconnects both ways", func(t *testing.T) {
		d.call(nil, "disconnectSockets", map[string]any{"target": ids["gB"]})
		d.expect("gB", "$disconnect", `"io server disconnect"`)
		require.NoError(t, h.Of("/").In(ids["nB"]).DisconnectSockets(false))
		d.expect("nB", "$disconnect", `"io server disconnect"`)
		var socks []nodeSocket
		d.call(&socks, "fetchSockets", nil)
		var left []string
		for _, s := range socks {
			left = append(left, s.ID)
		}
		slices.Sort(left)
		want := []string{ids["nA"], ids["gA"]}
		slices.Sort(want)
		assert.Equal(t, want, left)
	})
	return ids
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
