package redis_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
)

// TestMsgpackParserAcrossNodes: the Redis wire does not depend on the
// parser. A hub with the msgpack parser and one with the default parser
// share one Redis: broadcasts with binary arguments, a client's broadcast
// and broadcasts with acks go both ways, each hub's clients speaking its
// parser.
func TestMsgpackParserAcrossNodes(t *testing.T) {
	srv := startRedis(t)
	mp := newParserNode(t, srv.Client(t), nil, hub.MsgpackParser)
	js := newNode(t, srv, nil)
	ctx := testCtx(t)
	m1 := connectParser(t, mp, &testAuth{Rooms: []string{"r"}}, hub.MsgpackParser)
	m2 := connectParser(t, mp, nil, hub.MsgpackParser)
	j1 := connect(t, js, &testAuth{Rooms: []string{"r"}})

	for _, tt := range []struct {
		name string
		from *hub.Server
	}{{"from the msgpack hub", mp}, {"from the JSON hub", js}} {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.from.To("r").Emit("news", "hi", []byte{1, 2, 255}, map[string]any{"b": []byte("x"), "n": 1.5}))
			for _, s := range []*hubtest.Socket{m1, j1} {
				ev, err := s.Expect(ctx, "news")
				require.NoError(t, err)
				var text string
				var b []byte
				var obj struct {
					B []byte  `json:"b"`
					N float64 `json:"n"`
				}
				require.NoError(t, ev.Args.Scan(&text, &b, &obj))
				assert.Equal(t, "hi", text)
				assert.Equal(t, []byte{1, 2, 255}, b)
				assert.Equal(t, []byte("x"), obj.B)
				assert.Equal(t, 1.5, obj.N)
			}
			// m2 is not in the room: the next thing it gets is the marker.
			require.NoError(t, tt.from.Emit("marker"))
			ev, err := m2.Next(ctx)
			require.NoError(t, err)
			assert.Equal(t, "marker", ev.Name)
			for _, s := range []*hubtest.Socket{m1, j1} {
				_, err := s.Expect(ctx, "marker")
				require.NoError(t, err)
			}
		})
	}

	t.Run("a msgpack client's broadcast", func(t *testing.T) {
		require.NoError(t, m2.Emit("relay", "from m2", []byte{7}))
		for _, s := range []*hubtest.Socket{m1, j1} {
			ev, err := s.Expect(ctx, "relayed")
			require.NoError(t, err)
			var text string
			var b []byte
			require.NoError(t, ev.Args.Scan(&text, &b))
			assert.Equal(t, "from m2", text)
			assert.Equal(t, []byte{7}, b)
		}
	})

	for _, tt := range []struct {
		name string
		from *hub.Server
	}{{"acks to the msgpack hub", mp}, {"acks to the JSON hub", js}} {
		t.Run(tt.name, func(t *testing.T) {
			var wg sync.WaitGroup
			for i, s := range []*hubtest.Socket{m1, j1} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ev, err := s.Expect(ctx, "question")
					if assert.NoError(t, err) {
						assert.NoError(t, ev.Ack(fmt.Sprint("answer-", i), []byte{byte(i)}))
					}
				}()
			}
			replies, err := tt.from.To("r").EmitWithAck(ctx, "question", []byte{9})
			require.NoError(t, err)
			wg.Wait()
			got := map[string][]byte{}
			for _, r := range replies {
				var text string
				var b []byte
				require.NoError(t, r.Scan(&text, &b))
				got[text] = b
			}
			assert.Equal(t, map[string][]byte{"answer-0": {0}, "answer-1": {1}}, got)
		})
	}
}

// TestMixedClusterMsgpack: a Node.js socket.io server configured with
// socket.io-msgpack-parser and a Go hub with hub.MsgpackParser on one
// Redis, with official socket.io-client clients (msgpack parser) on both:
// broadcasts with binary arguments, a client's broadcast, and broadcasts
// with acks, from either side.
func TestMixedClusterMsgpack(t *testing.T) {
	srv := startRedis(t)
	h := newParserNode(t, srv.Client(t), nil, hub.MsgpackParser)
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	d := startNodeDriver(t, srv.Addr, web.URL, "PARSER=msgpack")
	ctx := testCtx(t)

	for _, c := range []struct {
		name, target string
		rooms        []string
	}{
		{"nA", "node", []string{"r"}},
		{"nB", "node", nil},
		{"gA", "go", []string{"r"}},
		{"gB", "go", nil},
	} {
		d.call(nil, "connect", map[string]any{"name": c.name, "target": c.target, "auth": map[string]any{"rooms": c.rooms}})
		d.expect(c.name, "ready", "")
	}
	marker := func(n int) { // everyone got what came before
		require.NoError(t, h.Emit("marker", n))
		for _, c := range []string{"nA", "nB", "gA", "gB"} {
			d.expect(c, "marker", fmt.Sprint(n))
		}
	}

	t.Run("Go room broadcast", func(t *testing.T) {
		roomBroadcastFromGo(t, d, h, "r", "nA", "gA")
		marker(1)
	})

	t.Run("Node room broadcast", func(t *testing.T) {
		roomBroadcastFromNode(t, d, "r", "nA", "gA")
		marker(2)
	})

	t.Run("a Go client's broadcast", func(t *testing.T) {
		d.call(nil, "clientEmit", map[string]any{"name": "gB", "event": "relay", "args": []any{"from gB", json.RawMessage(bin([]byte{3}))}})
		for _, c := range []string{"nA", "nB", "gA"} {
			l := d.expect(c, "relayed", `"from gB"`)
			require.Len(t, l.Args, 2)
			assert.JSONEq(t, bin([]byte{3}), string(l.Args[1]))
		}
		marker(3)
	})

	t.Run("acks from both sides", func(t *testing.T) {
		var answers []json.RawMessage
		d.call(&answers, "emitWithAck", map[string]any{"rooms": []string{"r"}, "event": "question", "args": []any{1}})
		want := []string{`{"name":"nA","bin":` + bin([]byte("nA")) + `}`, `{"name":"gA","bin":` + bin([]byte("gA")) + `}`}
		got := make([]string, 0, len(answers))
		for _, a := range answers {
			got = append(got, string(a))
		}
		assertJSONElements(t, want, got)
		for _, c := range []string{"nA", "gA"} {
			d.expect(c, "question", "1")
		}

		replies, err := h.To("r").EmitWithAck(ctx, "question", 2)
		require.NoError(t, err)
		got = got[:0]
		for _, r := range replies {
			require.Equal(t, 1, r.Len())
			var v struct {
				Name string `json:"name"`
				Bin  []byte `json:"bin"`
			}
			require.NoError(t, r.Decode(0, &v))
			assert.Equal(t, v.Name, string(v.Bin), "binary answer")
			got = append(got, v.Name)
		}
		assert.ElementsMatch(t, []string{"nA", "gA"}, got)
		for _, c := range []string{"nA", "gA"} {
			d.expect(c, "question", "2")
		}
		marker(4)
	})
}

// assertJSONElements checks that got holds the JSON documents of want, in
// any order.
func assertJSONElements(t *testing.T, want, got []string) {
	t.Helper()
	require.Len(t, got, len(want))
	norm := func(docs []string) []string {
		out := make([]string, 0, len(docs))
		for _, d := range docs {
			var v any
			require.NoError(t, json.Unmarshal([]byte(d), &v), d)
			b, err := json.Marshal(v)
			require.NoError(t, err)
			out = append(out, string(b))
		}
		return out
	}
	assert.ElementsMatch(t, norm(want), norm(got))
}
