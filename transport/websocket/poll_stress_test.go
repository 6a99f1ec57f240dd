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

// TestPolledDescriptorReuse: connections closed by the client's close frame
// while new ones arrive; the kernel reuses descriptor numbers at once, and
// a closing connection must never drop the poller registration of the new
// connection that got its number (each new connection must be read).
func TestPolledDescriptorReuse(t *testing.T) {
	const workers, each = 8, 60
	f := newFixture(t, nil, transport.Params{})
	f.conns = make(chan *Conn, workers*each)
	stop := make(chan struct{})
	served := make(chan *recorder, workers*each)
	go func() {
		for {
			select {
			case c := <-f.conns:
				rec := newRecorder()
				rec.onFrame = func(fr transport.Frame) error { return c.Send(fr) }
				c.Start(rec)
				served <- rec
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				cc, err := Dial(ctx, f.url(), nil)
				if err == nil {
					err = cc.WriteFrame(transport.TextFrame(fmt.Sprint(i)))
				}
				var got transport.Frame
				if err == nil {
					got, err = cc.ReadFrame(ctx)
				}
				cancel()
				if err == nil && string(got.Data) != fmt.Sprint(i) {
					err = fmt.Errorf("got %q", got.Data)
				}
				if err != nil {
					errs <- fmt.Errorf("worker %d connection %d was never read: %w", w, i, err)
					if cc != nil {
						_ = cc.nc.Close()
					}
					return
				}
				go func() { _ = cc.Close() }() // the close frame ends the server side while the next one starts
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for len(served) > 0 {
		(<-served).wait(t)
	}
}
