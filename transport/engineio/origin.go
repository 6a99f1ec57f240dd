package engineio

import (
	"net/http"
	"net/url"
	"strings"
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
