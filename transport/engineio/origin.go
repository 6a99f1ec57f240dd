package engineio

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// originVerdict is what the origin policy says of one request.
type originVerdict uint8

const (
	originNone        originVerdict = iota // no Origin header: not a CORS request
	originRefused                          // cross-origin and not allowed
	originAny                              // allowed by "*": no credentials
	originCredentials                      // same origin or explicitly allowed
)

// checkOrigin applies the Options' origin policy to r.
func (s *Server) checkOrigin(r *http.Request) originVerdict {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return originNone
	}
	if sameOrigin(origin, r) {
		return originCredentials
	}
	if s.opts.CheckOrigin != nil {
		if s.opts.CheckOrigin(r) {
			return originCredentials
		}
		return originRefused
	}
	verdict := originRefused
	for _, pattern := range s.opts.AllowedOrigins {
		switch {
		case pattern == "*":
			verdict = originAny
		case matchOrigin(pattern, origin):
			return originCredentials
		}
	}
	return verdict
}

// sameOrigin reports whether origin names the host r was sent to.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// matchOrigin matches origin against an exact origin or a pattern holding
// one "*", which stands for one or more characters without "/".
func matchOrigin(pattern, origin string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return strings.EqualFold(pattern, origin)
	}
	prefix, suffix := pattern[:star], pattern[star+1:]
	if len(origin) <= len(prefix)+len(suffix) ||
		!strings.EqualFold(origin[:len(prefix)], prefix) ||
		!strings.EqualFold(origin[len(origin)-len(suffix):], suffix) {
		return false
	}
	middle := origin[len(prefix) : len(origin)-len(suffix)]
	return !strings.ContainsAny(middle, "/")
}

// setCORS writes the CORS response headers for an allowed request.
func setCORS(h http.Header, r *http.Request, v originVerdict) {
	switch v {
	case originAny:
		h.Set("Access-Control-Allow-Origin", "*")
	case originCredentials:
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
}

// preflight answers a CORS preflight (OPTIONS) request.
func preflight(w http.ResponseWriter, r *http.Request, v originVerdict) {
	h := w.Header()
	setCORS(h, r, v)
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// forbiddenOrigin is the body of a refusal: the reference server's JSON
// error shape, naming the option that allows an origin.
var forbiddenOrigin = []byte(`{"code":4,"message":"Forbidden: origin not allowed; see the server's AllowedOrigins option"}`)

// refuseOrigin answers a request whose origin is refused, and logs it.
func (s *Server) refuseOrigin(w http.ResponseWriter, r *http.Request) {
	s.counters.refused.Add(1)
	origin := r.Header.Get("Origin")
	if len(origin) > maxOriginLog {
		origin = origin[:maxOriginLog] // not an origin anyway
	}
	switch s.refusals.note(origin) {
	case noteOrigin:
		if s.opts.CheckOrigin != nil {
			s.opts.Logger.Warn("engineio: cross-origin request refused by CheckOrigin",
				"origin", origin, "host", r.Host, "remote", r.RemoteAddr)
		} else {
			// The usual cause: a page served from another origin (a dev
			// server such as Vite's that proxies with changeOrigin).
			s.opts.Logger.Warn("engineio: cross-origin request refused; list its origin in AllowedOrigins",
				"origin", origin, "host", r.Host, "AllowedOrigins", s.opts.AllowedOrigins, "remote", r.RemoteAddr)
		}
	case noteMany:
		s.opts.Logger.Warn("engineio: cross-origin requests refused from more origins than are logged",
			"logged", maxRefusedOrigins, "every", refusalEvery, "AllowedOrigins", s.opts.AllowedOrigins)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(forbiddenOrigin)
	s.reportRefusal(r, CodeForbidden, "origin", r.Header.Get("Origin"))
}

// A refused origin is logged once per refusalEvery, for at most
// maxRefusedOrigins origins at a time: the Origin header is the client's to
// choose, so the memory kept for it is bounded. Beyond that, one record per
// refusalEvery says that more were refused.
const (
	refusalEvery      = time.Minute
	maxRefusedOrigins = 100
	maxOriginLog      = 200 // bytes of an Origin kept and logged
)

type refusalNote uint8

const (
	noteNone   refusalNote = iota // logged recently
	noteOrigin                    // log this origin
	noteMany                      // log that more origins were refused
)

// refusals remembers when each refused origin was last logged.
type refusals struct {
	now func() time.Time // time.Now; tests use their own clock

	mu     sync.Mutex
	logged map[string]time.Time
	many   time.Time // when noteMany was last returned
}

// note says what to log of a refusal of origin.
func (l *refusals) note(origin string) refusalNote {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.logged[origin]; ok {
		if now.Sub(last) < refusalEvery {
			return noteNone
		}
		l.logged[origin] = now
		return noteOrigin
	}
	if len(l.logged) >= maxRefusedOrigins {
		for o, last := range l.logged {
			if now.Sub(last) >= refusalEvery {
				delete(l.logged, o)
			}
		}
	}
	if len(l.logged) < maxRefusedOrigins {
		if l.logged == nil {
			l.logged = make(map[string]time.Time)
		}
		l.logged[origin] = now
		return noteOrigin
	}
	if !l.many.IsZero() && now.Sub(l.many) < refusalEvery {
		return noteNone
	}
	l.many = now
	return noteMany
}
