package redis_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/websocket"
)

// buildCluster builds examples/cluster into a temporary directory.
func buildCluster(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cluster")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/go-realtime/realtime/examples/cluster")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./examples/cluster:\n%s", out)
	return bin
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startProcess runs one cluster node and returns its base URL; it is
// stopped with SIGTERM (and must exit cleanly) when the test ends.
func startProcess(t *testing.T, bin, redisAddr string) string {
	t.Helper()
	clientDist := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(clientDist, "socket.io.js"), []byte("// not needed by this test\n"), 0o600))
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-redis", redisAddr, "-client-dist", clientDist)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	urls := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			assert.NoError(t, err, "cluster node exit; stderr:\n%s", stderr.String())
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("cluster node did not stop on SIGTERM; stderr:\n%s", stderr.String())
		}
	})
	select {
	case u := <-urls:
		return u
	case err := <-exited:
		exited <- err
		t.Fatalf("cluster node exited at start: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("cluster node did not start; stderr:\n%s", stderr.String())
	}
	return ""
}

// wsClient is a raw Socket.IO client over a real WebSocket.
type wsClient struct {
	t *testing.T
	c *websocket.ClientConn
}

func dialProcess(t *testing.T, base string) *wsClient {
	t.Helper()
	ctx := testCtx(t)
	c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	w := &wsClient{t: t, c: c}
	require.True(t, strings.HasPrefix(w.read(), "0{"), "open packet")
	require.NoError(t, c.WriteFrame(transport.TextFrame("40")))
	require.True(t, strings.HasPrefix(w.read(), "40{"), "CONNECT answer")
	return w
}

// read returns the next Engine.IO packet, answering pings.
func (w *wsClient) read() string {
	w.t.Helper()
	for {
		f, err := w.c.ReadFrame(testCtx(w.t))
		require.NoError(w.t, err)
		if string(f.Data) == "2" {
			require.NoError(w.t, w.c.WriteFrame(transport.TextFrame("3")))
			continue
		}
		return string(f.Data)
	}
}

// event waits for the event called name and returns its first argument.
func (w *wsClient) event(name string) json.RawMessage {
	w.t.Helper()
	for {
		p := w.read()
		if !strings.HasPrefix(p, "42[") {
			continue
		}
		var args []json.RawMessage
		require.NoError(w.t, json.Unmarshal([]byte(p[2:]), &args))
		var got string
		if len(args) > 0 && json.Unmarshal(args[0], &got) == nil && got == name {
			if len(args) > 1 {
				return args[1]
			}
			return nil
		}
	}
}

func (w *wsClient) emit(event string, args ...any) {
	w.t.Helper()
	b, err := json.Marshal(append([]any{event}, args...))
	require.NoError(w.t, err)
	require.NoError(w.t, w.c.WriteFrame(transport.TextFrame("42"+string(b))))
}

// Two OS processes running examples/cluster on one Redis: a chat message
// sent through one reaches the clients of the other.
func TestClusterProcesses(t *testing.T) {
	srv := startRedis(t)
	bin := buildCluster(t)
	url1 := startProcess(t, bin, srv.Addr)
	url2 := startProcess(t, bin, srv.Addr)

	c1 := dialProcess(t, url1)
	var hello1 struct {
		Node   string `json:"node"`
		Online int    `json:"online"`
	}
	require.NoError(t, json.Unmarshal(c1.event("new message"), &hello1))
	c2 := dialProcess(t, url2)
	var hello2 struct {
		Node   string `json:"node"`
		Online int    `json:"online"`
	}
	require.NoError(t, json.Unmarshal(c2.event("new message"), &hello2))
	assert.NotEqual(t, hello1.Node, hello2.Node, "two nodes")
	assert.Equal(t, 2, hello2.Online, "online counts the sockets of both nodes")
	c1.event("presence") // c2 connected, told on node 1

	c1.emit("add user", "ann")
	var login struct{ NumUsers int }
	require.NoError(t, json.Unmarshal(c1.event("login"), &login))
	assert.Equal(t, 1, login.NumUsers)
	var joined struct {
		Username string
		NumUsers int
	}
	require.NoError(t, json.Unmarshal(c2.event("user joined"), &joined))
	assert.Equal(t, "ann", joined.Username)

	c1.emit("new message", "hello from node 1")
	var msg struct {
		Username, Message, Node string
	}
	require.NoError(t, json.Unmarshal(c2.event("new message"), &msg))
	assert.Equal(t, "ann", msg.Username)
	assert.Equal(t, "hello from node 1", msg.Message)
	assert.Equal(t, hello1.Node, msg.Node)

	c2.emit("new message", map[string]string{"message": "and back", "time": "2024-01-01T00:00:00.000Z"})
	require.NoError(t, json.Unmarshal(c1.event("new message"), &msg))
	assert.Equal(t, "and back", msg.Message)
	assert.Equal(t, hello2.Node, msg.Node)
}
