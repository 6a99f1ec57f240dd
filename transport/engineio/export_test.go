package engineio

// HeartbeatArmed reports whether srv's heartbeat timer is running.
func HeartbeatArmed(srv *Server) bool { return srv.hb.armed() }
