package engineio

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
)

// Errors of Options.GenerateID's results, wrapped in the handshake's
// ConnectionError (Context["error"]).
var (
	// ErrInvalidID: the id is empty, longer than MaxIDLength, or has a
	// character other than A-Z, a-z, 0-9, '-', '_', '.' and '~'.
	ErrInvalidID = errors.New("engineio: invalid session id")
	// ErrDuplicateID: a session with the id is open (or closing).
	ErrDuplicateID = errors.New("engineio: session id in use")
)

// MaxIDLength bounds the length of a session id from Options.GenerateID.
const MaxIDLength = 128

// newID returns a session id: 15 random bytes, URL-safe base64 (20 chars).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validID reports whether id may be a session id: it appears unescaped in
// URLs (the sid query parameter), in the handshake's JSON and in the
// cookie, so only URL-unreserved characters are allowed.
func validID(id string) bool {
	if id == "" || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~':
		default:
			return false
		}
	}
	return true
}

// reserveID returns the id of a new session, reserved until [Server.open]
// registers the session (or [Server.unreserve] gives it back), so that
// two handshakes never get the same id. With Options.GenerateID the
// application's id is used; an invalid or duplicate id, an error or a
// panic refuse the handshake (the error says why).
func (s *Server) reserveID(r *http.Request) (string, error) {
	if s.opts.GenerateID == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		for {
			id := newID()
			if !s.idTakenLocked(id) { // never taken in practice: 120 random bits
				s.pending[id] = struct{}{}
				return id, nil
			}
		}
	}
	id, err := s.generateID(r)
	if err != nil {
		return "", err
	}
	if !validID(id) {
		if len(id) > MaxIDLength {
			id = id[:MaxIDLength] + "..."
		}
		return "", fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idTakenLocked(id) {
		return "", fmt.Errorf("%w: %q", ErrDuplicateID, id)
	}
	s.pending[id] = struct{}{}
	return id, nil
}

// generateID calls Options.GenerateID, turning a panic into an error.
func (s *Server) generateID(r *http.Request) (id string, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("engineio: GenerateID panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			id, err = "", fmt.Errorf("engineio: GenerateID panicked: %v", p)
		}
	}()
	id, err = s.opts.GenerateID(r)
	if err != nil {
		return "", fmt.Errorf("engineio: GenerateID: %w", err)
	}
	return id, nil
}

// idTakenLocked reports whether id belongs to a session, open, closing or
// being opened; s.mu is held.
func (s *Server) idTakenLocked(id string) bool {
	_, pending := s.pending[id]
	return pending || s.sessions[id] != nil || s.closing[id] != nil
}

// unreserve gives back an id reserved for a handshake that failed.
func (s *Server) unreserve(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}
