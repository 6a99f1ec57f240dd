package socketio_test

import (
	"fmt"

	"github.com/go-realtime/realtime/internal/socketio"
	"github.com/go-realtime/realtime/transport"
)

// A binary event arrives as a text frame and one binary frame; the handler
// answers it with an ack echoing the arguments, binary included.
func Example() {
	var dec socketio.Decoder
	frames := []transport.Frame{
		transport.TextFrame(`451-/chat,7["upload",{"name":"a.txt"},{"_placeholder":true,"num":0}]`),
		transport.BinaryFrame([]byte("hello")),
	}
	var p *socketio.Packet
	for _, f := range frames {
		var err error
		if p, err = dec.Add(f); err != nil {
			panic(err)
		}
	}
	args, _ := socketio.SplitArgs(p.Data)
	file, _ := socketio.ResolveBinary(args[2], p.Attachments)
	fmt.Printf("%s %s %s %q\n", p.Type, p.Namespace, args[0], file)

	echo := []any{socketio.RawArg{JSON: args[1]}, socketio.RawArg{JSON: args[2], Attachments: p.Attachments}}
	data, atts, _ := socketio.MarshalArgs(nil, echo)
	ack := &socketio.Packet{Type: socketio.Ack, Namespace: p.Namespace, ID: p.ID, HasID: true, Data: data, Attachments: atts}
	for _, f := range socketio.EncodeFrames(ack) {
		fmt.Printf("binary=%v %s\n", f.Binary, f.Data)
	}
	// Output:
	// BINARY_EVENT /chat "upload" "hello"
	// binary=false 461-/chat,7[{"name":"a.txt"},{"_placeholder":true,"num":0}]
	// binary=true hello
}
