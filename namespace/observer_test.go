package namespace_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
)

// testObserver records what a namespace tells its observer, as lines
// "kind sid name args", and panics on each call but Wants when panics is
// set.
type testObserver struct {
	mu     sync.Mutex
	calls  []string
	wants  bool
	panics bool
	seen   chan string
}

func (o *testObserver) note(line string) {
	o.mu.Lock()
	o.calls = append(o.calls, line)
	o.mu.Unlock()
	o.seen <- line
	if o.panics && !strings.HasPrefix(line, "wants") {
		panic("observer: " + line)
	}
}

func (o *testObserver) Wants(n int) bool {
	o.note(fmt.Sprint("wants ", n))
	return o.wants
}

func (o *testObserver) Incoming(sid, name string, args namespace.Args) {
	o.note(fmt.Sprint("in ", sid, " ", name, " ", string(args.Raw(0))))
}

func (o *testObserver) Outgoing(sid, name string, args namespace.Args) {
	o.note(fmt.Sprint("out ", sid, " ", name, " ", string(args.Raw(0))))
}

func (o *testObserver) Disconnected(sid, reason string) { o.note("gone " + sid + " " + reason) }

// TestObserver checks what a namespace reports to its observer: a
// broadcast asks Wants once for all its recipients, then reports each;
// a socket's own emits, the events it receives and its disconnection are
// reported too; a panicking observer changes nothing else.
func TestObserver(t *testing.T) {
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprint("panics=", panics), func(t *testing.T) {
			ns := newNS("/", &nsConfig{Logger: slog.New(slog.DiscardHandler)})
			connected := make(chan *namespace.Socket, 1)
			ns.OnConnection(func(s *namespace.Socket) { connected <- s })
			resolve := func(string, json.RawMessage) *namespace.Namespace { return ns }
			var socks []*namespace.Socket
			var conns []*recordConn
			var clients []wiring.Client
			for range 2 {
				conn := &recordConn{}
				c := nsImpl.NewClient(conn, namespace.Handshake{}, resolve, &wiring.ClientOptions{ConnectTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, c.Receive(false, []byte("0")))
				socks, conns, clients = append(socks, <-connected), append(conns, conn), append(clients, c)
			}
			got := make(chan *namespace.Event, 1)
			socks[0].On("hi", func(e *namespace.Event) { got <- e })

			o := &testObserver{wants: true, panics: panics, seen: make(chan string, 16)}
			nsImpl.SetObserver(ns, o)
			expect := func(want ...string) { // in any order
				t.Helper()
				var lines []string
				for range want {
					select {
					case line := <-o.seen:
						lines = append(lines, line)
					case <-time.After(time.Minute):
						t.Fatalf("waiting for %q, got %q", want, lines)
					}
				}
				assert.ElementsMatch(t, want, lines)
			}
			a, b := socks[0].ID(), socks[1].ID()

			require.NoError(t, ns.Emit("news", 1))
			expect("wants 2", "out "+a+" news 1", "out "+b+" news 1")
			require.NoError(t, socks[1].Emit("direct", 2))
			expect("wants 1", "out "+b+" direct 2")
			o.wants = false // the feed's budget is used up: nothing decoded nor reported
			require.NoError(t, ns.Emit("news", 3))
			expect("wants 2")
			o.wants = true

			require.NoError(t, clients[0].Receive(false, []byte(`2["hi",4]`)))
			expect("in " + a + " hi 4")
			select {
			case e := <-got:
				assert.Equal(t, "4", string(e.Args.Raw(0)), "the listener still runs")
			case <-time.After(time.Minute):
				t.Fatal("the event's listener did not run")
			}
			require.NoError(t, clients[1].Receive(false, []byte(`2["unheard",5]`)))
			expect("in " + b + " unheard 5") // reported though nothing listens

			for i, conn := range conns {
				var news []string
				for _, s := range conn.sent() {
					if strings.Contains(s, "news") {
						news = append(news, s)
					}
				}
				assert.Equal(t, []string{`42["news",1]`, `42["news",3]`}, news, "socket %d gets every broadcast", i)
			}
			assert.Contains(t, conns[1].sent(), `42["direct",2]`)

			clients[0].Closed(namespace.ReasonTransportClose)
			expect("gone " + a + " transport close")

			nsImpl.SetObserver(ns, nil)
			require.NoError(t, ns.Emit("news", 6))
			require.NoError(t, socks[1].Emit("direct", 7))
			clients[1].Closed(namespace.ReasonTransportClose)
			select {
			case line := <-o.seen:
				t.Fatalf("observer removed, still told %q", line)
			default:
			}
		})
	}
}
