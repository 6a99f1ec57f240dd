//go:build linux

package netpoll_test

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/internal/netpoll"
)

// rawFD returns the descriptor of a TCP connection.
func rawFD(t *testing.T, c net.Conn) int {
	rc, err := c.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var fd int
	require.NoError(t, rc.Control(func(f uintptr) { fd = int(f) }))
	return fd
}

func tcpPair(t *testing.T) (server, client net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func TestReportsAreEdgeTriggeredAndSerialised(t *testing.T) {
	p, err := netpoll.Default()
	require.NoError(t, err)
	server, client := tcpPair(t)
	fd := rawFD(t, server)
	fired := make(chan struct{}, 10)
	release := make(chan struct{})
	h, err := p.Add(fd, func() {
		fired <- struct{}{}
		<-release
	})
	require.NoError(t, err)
	defer h.Remove()

	_, err = client.Write([]byte("x"))
	require.NoError(t, err)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no readability report")
	}
	// The callback is blocked: new data makes it run once more after it
	// returns, never concurrently.
	_, err = client.Write([]byte("y"))
	require.NoError(t, err)
	_, err = client.Write([]byte("z"))
	require.NoError(t, err)
	select {
	case <-fired:
		t.Fatal("callback ran concurrently")
	default:
	}
	release <- struct{}{}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("report during the callback was lost")
	}
	buf := make([]byte, 8)
	n, err := syscall.Read(fd, buf)
	require.NoError(t, err)
	assert.Equal(t, "xyz", string(buf[:n]))
	release <- struct{}{}

	// Edge-triggered: nothing more until new data arrives.
	select {
	case <-fired:
		t.Fatal("reported again without new data")
	default:
	}
	_, err = client.Write([]byte("w"))
	require.NoError(t, err)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no report for new data")
	}
	n, err = syscall.Read(fd, buf)
	require.NoError(t, err)
	assert.Equal(t, "w", string(buf[:n]))
	release <- struct{}{}
}

func TestManyDescriptors(t *testing.T) {
	p, err := netpoll.Default()
	require.NoError(t, err)
	const n = 50
	fired := make(chan int, n)
	var clients []net.Conn
	for i := 0; i < n; i++ {
		server, client := tcpPair(t)
		h, err := p.Add(rawFD(t, server), func() { fired <- i })
		require.NoError(t, err)
		t.Cleanup(func() { h.Remove() })
		clients = append(clients, client)
	}
	for _, c := range clients {
		_, err := c.Write([]byte("y"))
		require.NoError(t, err)
	}
	seen := map[int]bool{}
	for len(seen) < n {
		select {
		case i := <-fired:
			seen[i] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d reported", len(seen), n)
		}
	}
}

func TestHangupIsReported(t *testing.T) {
	p, err := netpoll.Default()
	require.NoError(t, err)
	server, client := tcpPair(t)
	fired := make(chan struct{}, 1)
	h, err := p.Add(rawFD(t, server), func() { fired <- struct{}{} })
	require.NoError(t, err)
	defer h.Remove()
	require.NoError(t, client.Close())
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("hangup not reported")
	}
}
