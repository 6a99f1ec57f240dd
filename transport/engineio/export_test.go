package engineio

// HeartbeatArmed reports whether srv's heartbeat timer is running.
func HeartbeatArmed(srv *Server) bool { return srv.hb.armed() }

// NopConn is a transport.Conn that drops what it is sent.
type NopConn = discardConn

// OnSendWait makes fn be called each time a Session.SendWait is about to
// wait for the client, until the test ends.
func OnSendWait(t interface{ Cleanup(func()) }, fn func(*Session)) {
	testHookWaiting.Store(&fn)
	t.Cleanup(func() { testHookWaiting.Store(nil) })
}

// PingWaiting reports whether a ping of s waits for its backlog to drain.
func PingWaiting(s *Session) bool {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.pingLater
}
