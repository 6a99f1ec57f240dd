package memory_test

import (
	"fmt"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/memory"
)

// printer is a transport.Handler that prints what its end receives.
type printer struct {
	name string
	done chan struct{}
}

func (p printer) HandleFrame(f transport.Frame) error {
	fmt.Printf("%s got %q (binary %v)\n", p.name, f.Data, f.Binary)
	return nil
}

func (p printer) HandleClose(err error) {
	fmt.Printf("%s closed: %v\n", p.name, err)
	close(p.done)
}

// A pipe's ends deliver each other's frames in order; closing one end
// closes both.
func Example() {
	server, client := memory.Pipe(transport.Params{})
	srv := printer{name: "server", done: make(chan struct{})}
	cli := printer{name: "client", done: make(chan struct{})}
	server.Start(srv)
	client.Start(cli)

	_ = client.Send(transport.TextFrame("hello"), transport.BinaryFrame([]byte{1, 2}))
	_ = client.Close() // frames already queued are delivered first
	<-srv.done
	<-cli.done
	// Unordered output:
	// server got "hello" (binary false)
	// server got "\x01\x02" (binary true)
	// server closed: memory: peer closed: transport: connection closed
	// client closed: <nil>
}
