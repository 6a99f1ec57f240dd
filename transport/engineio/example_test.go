package engineio_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-realtime/realtime/transport"
	"github.com/go-realtime/realtime/transport/engineio"
	"github.com/go-realtime/realtime/transport/memory"
)

// A plain Engine.IO echo server, driven here through an in-memory pipe; in
// production mount srv on a mux: http.Handle("/engine.io/", srv).
func Example() {
	srv := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{
			Message: func(m engineio.Message) error { return s.Send(m.Frame()) }, // echo
		}
	}), nil)
	defer srv.Shutdown(context.Background())

	serverEnd, clientEnd := memory.Pipe(transport.Params{})
	frames := make(chan transport.Frame, 4)
	clientEnd.Start(frameSink(frames))
	srv.ServeConn(serverEnd, nil)

	open := <-frames // the handshake: 0{"sid":...}
	fmt.Println("open packet type:", string(open.Data[:1]))
	_ = clientEnd.Send(transport.TextFrame("4hello"), transport.BinaryFrame([]byte{1, 2, 3}))
	for range 2 {
		select {
		case f := <-frames:
			fmt.Printf("binary=%v %q\n", f.Binary, f.Data)
		case <-time.After(5 * time.Second):
			fmt.Println("timeout")
		}
	}
	// Output:
	// open packet type: 0
	// binary=false "4hello"
	// binary=true "\x01\x02\x03"
}

// frameSink is a transport.Handler that forwards frames to a channel.
type frameSink chan transport.Frame

func (s frameSink) HandleFrame(f transport.Frame) error { s <- f; return nil }
func (s frameSink) HandleClose(error)                   {}
