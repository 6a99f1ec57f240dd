package websocket

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/go-realtime/realtime/transport"
)

// pending is how many bytes wait to be written (see
// transport.Params.MaxQueueBytes).
func (c *Conn) pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.budget.Used()
}

// benchConns opens n started server conns whose clients read and discard
// everything.
func benchConns(b *testing.B, opts *Options, dial *DialOptions, n int) []*Conn {
	f := newFixture(b, opts, transport.Params{})
	conns := make([]*Conn, n)
	for i := range conns {
		cc := f.dial(dial)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(io.Discard, cc.nc)
		}()
		c := f.accept()
		rec := newRecorder()
		c.Start(rec)
		conns[i] = c
		b.Cleanup(func() {
			_ = c.Close()
			rec.wait(b)
			<-done
		})
	}
	return conns
}

// BenchmarkSend sends one shared frame over and over on one connection
// (the writer batches whatever accumulated into one writev).
func BenchmarkSend(b *testing.B) {
	for _, bc := range []struct {
		size    int
		deflate bool
	}{
		{size: 64},
		{size: 1024},
		{size: 1024, deflate: true},
	} {
		b.Run(fmt.Sprintf("size=%d/deflate=%t", bc.size, bc.deflate), func(b *testing.B) {
			conns := benchConns(b, &Options{CloseTimeout: -1, Compression: bc.deflate}, &DialOptions{Compression: bc.deflate}, 1)
			c := conns[0]
			fr := transport.TextFrame(strings.Repeat("4broadcast ", bc.size/11+1)[:bc.size])
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			for b.Loop() {
				for c.pending() >= 512*int64(bc.size+transport.FrameOverhead) {
					runtime.Gosched()
				}
				if err := c.Send(fr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBroadcast sends one shared frame to 256 connections per
// iteration, like a room broadcast; ns/delivery is the cost per connection.
func BenchmarkBroadcast(b *testing.B) {
	const n = 256
	conns := benchConns(b, &Options{CloseTimeout: -1}, nil, n)
	fr := transport.TextFrame(`42["news",{"id":12345,"text":"hello everyone"}]`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%64 == 0 {
			for _, c := range conns {
				for c.pending() >= 256*int64(len(fr.Data)+transport.FrameOverhead) {
					runtime.Gosched()
				}
			}
		}
		for _, c := range conns {
			if err := c.Send(fr); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}
