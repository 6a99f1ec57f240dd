// Package soak opens and closes many client connections to a Socket.IO
// server in every way a client can come and go — complete sessions over
// WebSocket, polling and polling upgraded to WebSocket, and connections cut
// mid-handshake or mid-upgrade — so that a caller can check that the
// server's goroutines and heap return to their baseline. Call [Run].
package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Kinds of client behaviour, chosen round-robin.
var kinds = []string{"websocket", "polling", "upgrade", "abort-handshake", "abort-upgrade", "abort-websocket"}

// Result counts what Run did.
type Result struct {
	Done   map[string]int64 // completed behaviours by kind
	Errors int64            // behaviours that failed (the server misbehaved or timed out)
	First  error            // the first failure
}

// Run makes n client connections to base (http://host:port, Socket.IO at
// /socket.io/), at most concurrency at a time.
func Run(ctx context.Context, base string, n, concurrency int) Result {
	var (
		next   atomic.Int64
		done   = make([]atomic.Int64, len(kinds))
		errs   atomic.Int64
		first  error
		firstM sync.Mutex
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				k := i % len(kinds)
				if err := run(ctx, client, base, kinds[k]); err != nil {
					errs.Add(1)
					firstM.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", kinds[k], err)
					}
					firstM.Unlock()
					continue
				}
				done[k].Add(1)
			}
		}()
	}
	wg.Wait()
	r := Result{Done: map[string]int64{}, Errors: errs.Load(), First: first}
	for k, name := range kinds {
		r.Done[name] = done[k].Load()
	}
	return r
}

func run(ctx context.Context, client *http.Client, base, kind string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	switch kind {
	case "websocket", "abort-websocket":
		conn, rd, err := dialWS(ctx, wsURL)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := expect(conn, rd, `0{"sid"`); err != nil {
			return err
		}
		if kind == "abort-websocket" {
			return nil // TCP closed without a close frame
		}
		if err := wsutil.WriteClientText(conn, []byte("40")); err != nil {
			return err
		}
		if _, err := expect(conn, rd, `40{"sid"`); err != nil {
			return err
		}
		if err := wsutil.WriteClientText(conn, []byte(`42["hello","soak"]`)); err != nil {
			return err
		}
		return ws.WriteFrame(conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	case "polling", "upgrade", "abort-upgrade":
		sid, err := pollHandshake(ctx, client, base)
		if err != nil {
			return err
		}
		poll := base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
		if err := post(ctx, client, poll, "40"); err != nil {
			return err
		}
		if body, err := get(ctx, client, poll); err != nil || !strings.Contains(body, `40{"sid"`) {
			return fmt.Errorf("connect answer %q: %v", body, err)
		}
		if kind == "polling" {
			return post(ctx, client, poll, "1")
		}
		conn, rd, err := dialWS(ctx, wsURL+"&sid="+sid)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := wsutil.WriteClientText(conn, []byte("2probe")); err != nil {
			return err
		}
		if _, err := expect(conn, rd, "3probe"); err != nil {
			return err
		}
		if kind == "abort-upgrade" {
			return nil // gone before "5": the session dies by heartbeat
		}
		if err := wsutil.WriteClientText(conn, []byte("5")); err != nil {
			return err
		}
		if err := wsutil.WriteClientText(conn, []byte(`42["hello","soak"]`)); err != nil {
			return err
		}
		return ws.WriteFrame(conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	case "abort-handshake":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			return err
		}
		_, _ = conn.Write([]byte("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"))
		return conn.Close()
	}
	return fmt.Errorf("unknown kind %q", kind)
}

func dialWS(ctx context.Context, url string) (net.Conn, io.Reader, error) {
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	var rd io.Reader = conn
	if br != nil {
		rd = io.MultiReader(br, conn)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return conn, bufio.NewReader(rd), nil
}

// expect reads text frames until one starting with prefix, answering pings.
func expect(conn net.Conn, rd io.Reader, prefix string) (string, error) {
	for {
		msg, op, err := wsutil.ReadServerData(struct {
			io.Reader
			io.Writer
		}{rd, conn})
		if err != nil {
			return "", err
		}
		if op != ws.OpText {
			continue
		}
		switch s := string(msg); {
		case strings.HasPrefix(s, prefix):
			return s, nil
		case s == "2":
			if err := wsutil.WriteClientText(conn, []byte("3")); err != nil {
				return "", err
			}
		}
	}
}

func pollHandshake(ctx context.Context, client *http.Client, base string) (string, error) {
	body, err := get(ctx, client, base+"/socket.io/?EIO=4&transport=polling")
	if err != nil {
		return "", err
	}
	const p = `0{"sid":"`
	if !strings.HasPrefix(body, p) || len(body) < len(p)+20 {
		return "", fmt.Errorf("open packet %q", body)
	}
	return body[len(p) : len(p)+20], nil
}

func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	return do(client, req)
}

func post(ctx context.Context, client *http.Client, url, body string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	_, err := do(client, req)
	return err
}

func do(client *http.Client, req *http.Request) (string, error) {
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", errors.New(res.Status + ": " + string(b))
	}
	return string(b), nil
}
