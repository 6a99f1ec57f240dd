package namespace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport"
)

// sinkConn is a Conn that records what the client is sent.
type sinkConn struct {
	mu     sync.Mutex
	frames []transport.Frame
	closed bool
}

func (c *sinkConn) Send(frames ...transport.Frame) error {
	c.mu.Lock()
	c.frames = append(c.frames, frames...)
	c.mu.Unlock()
	return nil
}

func (c *sinkConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

// FuzzClientReceive feeds arbitrary sequences of Engine.IO messages to a
// Socket.IO client connection: the server must never panic, only refuse.
// Frames are separated by 0x1f; a frame starting with 0x00 is binary.
func FuzzClientReceive(f *testing.F) {
	for _, seed := range []string{
		"0",
		"0/custom,\x1f2[\"message\",1,\"2\",{\"3\":[true]}]",
		"0{\"token\":1}\x1f21[\"message-with-ack\",{}]\x1f31[\"x\"]",
		"0\x1f51-[\"message\",{\"_placeholder\":true,\"num\":0}]\x1f\x00\x01\x02",
		"0\x1f61-0[{\"_placeholder\":true,\"num\":0}]\x1f\x00abc",
		"0\x1f1\x1f0\x1f2[\"a\"]",
		"0/nope,\x1f4{\"message\":\"x\"}",
		"2[\"early\"]",
		"0\x1f2[\"boom\"]\x1f2[\"typed\",\"x\",\"y\"]",
		"0\x1f5\x1f\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		quiet := &nsConfig{Logger: slog.New(slog.DiscardHandler)}
		root := newNS("/", quiet)
		custom := newNS("/custom", quiet)
		root.OnConnection(func(s *namespace.Socket) {
			s.On("message", func(e *namespace.Event) { _ = s.Emit("message-back", e.Args.Values()...) })
			s.On("message-with-ack", func(e *namespace.Event) {
				if e.Ack != nil {
					_ = e.Ack(e.Args.Values()...)
				}
			})
			s.On("boom", func(*namespace.Event) { panic("boom") })
			namespace.Handle(s, "typed", func(_ context.Context, p struct{ A []byte }) error { return nil })
			namespace.HandleAck(s, "typed-ack", func(_ context.Context, n int) (int, error) { return n, nil })
			s.Use(func(e *namespace.Event) error {
				if e.Name == "refused" {
					return errors.New("refused")
				}
				return nil
			})
		})
		resolve := func(name string, _ json.RawMessage) *namespace.Namespace {
			switch name {
			case "/":
				return root
			case "/custom":
				return custom
			}
			return nil
		}
		conn := &sinkConn{}
		c := nsImpl.NewClient(conn, namespace.Handshake{}, resolve, &wiring.ClientOptions{ConnectTimeout: time.Hour, Logger: quiet.Logger})
		for _, frame := range bytes.Split(input, []byte{0x1f}) {
			binary := len(frame) > 0 && frame[0] == 0
			if binary {
				frame = frame[1:]
			}
			if err := c.Receive(binary, bytes.Clone(frame)); err != nil {
				break // the hub would close the connection here
			}
		}
		c.Closed(namespace.ReasonTransportClose)
		if root.Len() != 0 || custom.Len() != 0 {
			t.Fatalf("sockets left after close: %d %d", root.Len(), custom.Len())
		}
	})
}
