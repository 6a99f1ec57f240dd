package namespace_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-realtime/realtime/namespace"
	"github.com/go-realtime/realtime/transport/engineio"
)

var _ namespace.EngineConn = (*engineio.Session)(nil)

// A client on a Conn that is not an Engine.IO session gives its sockets a
// connection that reports no transport and ignores hooks.
func TestSocketConnPlain(t *testing.T) {
	_, s := connectOne(t, &recordConn{}, namespace.Handshake{Address: "192.0.2.1"}, "", nil)
	conn := s.Conn()
	assert.Empty(t, conn.Transport())
	assert.Equal(t, "192.0.2.1", conn.RemoteAddr())
	conn.OnUpgrade(func(string) { t.Error("upgrade hook called") })
	conn.OnPacket(func(engineio.Packet) { t.Error("packet hook called") })
	conn.OnPacketCreate(func(engineio.Packet) { t.Error("packetCreate hook called") })
	assert.NoError(t, s.Emit("x"))
}
