package engineio

import (
	"log/slog"
	"net/http"
	"time"
)

// Cookie configures the cookie that carries the session id in the
// handshake response, so that a load balancer can route a client's later
// requests to the server that holds its session (sticky sessions, which
// long-polling on several servers needs); engine.io's cookie option. The
// zero value is engine.io's cookie: true, "io=SID; Path=/; HttpOnly;
// SameSite=Lax".
//
// The cookie is set on the response to the handshake: the first polling
// GET, or the WebSocket upgrade when the client starts over WebSocket.
type Cookie struct {
	// Name of the cookie. Default "io".
	Name string
	// Path attribute. Default "/".
	Path string
	// Domain attribute. Default none: the host that answered.
	Domain string
	// MaxAge, when positive, is the Max-Age attribute, rounded down to
	// whole seconds. Default: a session cookie, gone when the browser
	// closes.
	MaxAge time.Duration
	// Secure restricts the cookie to HTTPS. Default off (as engine.io);
	// set it when clients reach the load balancer over HTTPS.
	Secure bool
	// SameSite attribute. Default (zero) http.SameSiteLaxMode;
	// http.SameSiteDefaultMode leaves the attribute out. Browsers ignore
	// SameSite=None without Secure.
	SameSite http.SameSite
	// DisableHTTPOnly lets scripts read the cookie; by default it has the
	// HttpOnly attribute.
	DisableHTTPOnly bool
}

// cookieTemplate returns the http.Cookie that c describes, with defaults
// applied, or nil for a nil c. Invalid parts (a name that is not a token,
// a path or domain with forbidden bytes) are logged and replaced by the
// defaults, so that the handshake never writes a broken header.
func cookieTemplate(c *Cookie, logger *slog.Logger) *http.Cookie {
	if c == nil {
		return nil
	}
	t := &http.Cookie{
		Name:     c.Name,
		Path:     c.Path,
		Domain:   c.Domain,
		Secure:   c.Secure,
		HttpOnly: !c.DisableHTTPOnly,
		SameSite: c.SameSite,
	}
	if t.Name == "" {
		t.Name = "io"
	}
	if t.Path == "" {
		t.Path = "/"
	}
	if t.SameSite == 0 {
		t.SameSite = http.SameSiteLaxMode
	}
	if c.MaxAge >= time.Second {
		t.MaxAge = int(c.MaxAge / time.Second)
	}
	probe := *t
	probe.Value = "sid"
	if err := probe.Valid(); err != nil {
		logger.Error("engineio: invalid Cookie option; using the name \"io\", path \"/\" and no domain instead", "err", err,
			"name", c.Name, "path", c.Path, "domain", c.Domain)
		t.Name, t.Path, t.Domain = "io", "/", ""
	}
	return t
}

// setCookie adds the session cookie for id to h, if one is configured.
func (s *Server) setCookie(h http.Header, id string) {
	if s.cookie == nil {
		return
	}
	c := *s.cookie
	c.Value = id
	h.Add("Set-Cookie", c.String())
}
