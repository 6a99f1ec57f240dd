package engineio

// HeartbeatArmed reports whether srv's heartbeat timer is running.
func HeartbeatArmed(srv *Server) bool { return srv.hb.armed() }

// NopConn is a transport.Conn that drops what it is sent.
type NopConn = discardConn
