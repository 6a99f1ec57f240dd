package engineio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-realtime/realtime/transport/engineio"
)

// FuzzServeHTTP sends arbitrary requests to the server's HTTP entry point,
// some aimed at a live polling session: it must answer every one and never
// panic or hang.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "EIO=4&transport=polling", "")
	f.Add("POST", "EIO=4&transport=polling&sid=SID", "4hello\x1e4world")
	f.Add("POST", "EIO=4&transport=polling&sid=SID", "bAQID\x1e1")
	f.Add("POST", "EIO=4&transport=polling&sid=SID", "abc")
	f.Add("POST", "EIO=4&transport=polling&sid=SID", "b!!!")
	f.Add("GET", "EIO=3&transport=polling", "")
	f.Add("OPTIONS", "EIO=4&transport=polling", "")
	f.Add("GET", "EIO=4&transport=websocket&sid=SID", "")
	f.Add("PUT", "EIO=4&transport=polling&sid=SID", "x")
	f.Add("GET", "%zz&&&==", "")

	fuzzServeHTTP(f, "EIO=4&transport=polling", nil)
}

// FuzzServeHTTPEIO3 is FuzzServeHTTP for a server with AllowEIO3, whose
// requests aim at a live revision 3 polling session.
func FuzzServeHTTPEIO3(f *testing.F) {
	f.Add("GET", "EIO=3&transport=polling&sid=SID", "")
	f.Add("POST", "EIO=3&transport=polling&sid=SID", "6:4hello1:2")
	f.Add("POST", "EIO=3&transport=polling&sid=SID", "6:b4AQID1:1")
	f.Add("POST", "EIO=3&transport=polling&sid=SID&bin=1", "\x00\x02\xff42\x01\x03\xff\x04\x09\x08")
	f.Add("POST", "EIO=3&transport=polling&sid=SID", "3:4😀")
	f.Add("POST", "EIO=3&transport=polling&sid=SID", "9:4a")
	f.Add("GET", "EIO=3&transport=polling&b64=1", "")
	f.Add("GET", "EIO=3&transport=polling&j=0", "")
	f.Add("GET", "EIO=3&transport=websocket&sid=SID", "")
	fuzzServeHTTP(f, "EIO=3&transport=polling", &engineio.Options{AllowEIO3: true})
}

// fuzzServeHTTP runs the fuzz target: each input is a request aimed at a
// session opened with handshake (SID in the query stands for its id); a
// query with bin=1 sends its body as application/octet-stream.
func fuzzServeHTTP(f *testing.F, handshake string, opts *engineio.Options) {
	o := engineio.Options{PingInterval: time.Hour, PingTimeout: time.Hour, MaxPayload: 1 << 16}
	if opts != nil {
		o.AllowEIO3 = opts.AllowEIO3
	}
	srv := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{Message: func(m engineio.Message) error { return s.Send(m.Frame()) }}
	}), &o)

	f.Fuzz(func(t *testing.T, method, query, body string) {
		// A fresh session for the request to aim at.
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/engine.io/?"+handshake, nil))
		open := rec.Body.String()
		sid := ""
		if i := strings.Index(open, `"sid":"`); i >= 0 {
			sid = open[i+7 : i+27]
		}
		query = strings.ReplaceAll(query, "SID", sid)
		// A held poll ends when its request's context does.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, "/engine.io/?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		if req.Method == http.MethodGet && strings.Contains(query, "sid=") {
			// A GET on a live session is held until something is queued.
			if s := srv.Session(sid); s != nil {
				_ = s.Send(engineio.Text([]byte("x")))
			}
		}
		if strings.Contains(query, "bin=1") {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		req.RemoteAddr = "192.0.2.1:1234"
		rec = httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatalf("no answer to %s ?%s", method, query)
		}
		if s := srv.Session(sid); s != nil {
			_ = s.Close()
		}
	})
}
