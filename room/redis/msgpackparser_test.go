package redis_test

import (
	"fmt"
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
