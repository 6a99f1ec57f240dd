package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// socket.io-client 2.x speaks Engine.IO revision 3, which a hub refuses
// unless AllowEIO3 is set. Such a client is connected to "/" as soon as it
// opens its connection: the handshake's answer already carries the
// CONNECT ("40"), in revision 3's length-prefixed framing.
func ExampleOptions_allowEIO3() {
	for _, allow := range []bool{false, true} {
		h := hub.New(&hub.Options{AllowEIO3: allow})
		h.OnConnection(func(s *namespace.Socket) {})
		srv := httptest.NewServer(h)

		res, err := http.Get(srv.URL + "/socket.io/?EIO=3&transport=polling")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			fmt.Printf("AllowEIO3 %v: %d %s\n", allow, res.StatusCode, body)
		} else {
			// "<length>:0{...open packet...}" then "2:40".
			n, rest, _ := strings.Cut(string(body), ":")
			length, _ := strconv.Atoi(n)
			fmt.Printf("AllowEIO3 %v: %d, then %s\n", allow, res.StatusCode, rest[length:])
		}
		_ = h.Shutdown(context.Background())
		srv.Close()
	}
	// Output:
	// AllowEIO3 false: 400 {"code":5,"message":"Unsupported protocol version"}
	// AllowEIO3 true: 200, then 2:40
}
