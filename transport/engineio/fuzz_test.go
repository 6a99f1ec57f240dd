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

	srv := engineio.NewServer(engineio.HandlerFunc(func(s *engineio.Session) engineio.SessionHandler {
		return engineio.SessionFuncs{Message: func(m engineio.Message) error { return s.Send(m.Frame()) }}
	}), &engineio.Options{PingInterval: time.Hour, PingTimeout: time.Hour, MaxPayload: 1 << 16})

	f.Fuzz(func(t *testing.T, method, query, body string) {
		// A fresh session for the request to aim at.
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
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
