package websocket

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// TestPolledEchoStress runs many connections doing request/response round
// trips at once, the first request sent before the server starts reading:
// a readability report lost by the poller would stall a connection here.
func TestPolledEchoStress(t *testing.T) {
	const conns, rounds = 100, 40
	f := newFixture(t, nil, transport.Params{})
	f.conns = make(chan *Conn, conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	clients := make([]*ClientConn, conns)
	for i := range clients {
		clients[i] = f.dial(nil)
		// Sent before Start: the data is waiting when the fd is registered.
		require.NoError(t, clients[i].WriteFrame(transport.TextFrame("0")))
	}
	recs := make([]*recorder, 0, conns)
	for range conns {
		c := f.accept()
		rec := newRecorder()
		rec.onFrame = func(fr transport.Frame) error { return c.Send(fr) }
		c.Start(rec)
		recs = append(recs, rec)
	}
	defer func() {
		// The clients leave; every server end must notice.
		for _, cc := range clients {
			_ = cc.nc.Close()
		}
		for _, rec := range recs {
			rec.wait(t)
		}
	}()
	for i, cc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for r := 0; r < rounds; r++ {
				if r > 0 {
					if err := cc.WriteFrame(transport.TextFrame(fmt.Sprint(r))); err != nil {
						errs <- err
						return
					}
				}
				got, err := cc.ReadFrame(ctx)
				if err != nil {
					errs <- fmt.Errorf("conn %d round %d: %w", i, r, err)
					return
				}
				if string(got.Data) != fmt.Sprint(r) {
					errs <- fmt.Errorf("conn %d round %d: got %q", i, r, got.Data)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
