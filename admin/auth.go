package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-realtime/realtime/namespace"
)

// Auth is how the admin UI logs in: [BasicAuth] or [NoAuth].
type Auth interface {
	// middleware returns the checker, nil for no authentication.
	middleware(ttl time.Duration) (*basicAuth, error)
}

// BasicAuth is the admin UI's login form: the username, and a bcrypt hash
// of the password (as socket.io's auth: {type: "basic"}), for example from
// bcrypt.GenerateFromPassword or `htpasswd -bnBC 10 "" password`. A UI that
// logs in gets a session id, valid for Options.SessionTTL on this node, to
// reconnect without the password.
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// NoAuth lets anyone who reaches the admin namespace in (socket.io's
// auth: false). Use it only where the namespace cannot be reached from
// outside, or behind your own middleware.
type NoAuth struct{}

func (NoAuth) middleware(time.Duration) (*basicAuth, error) { return nil, nil }

func (a BasicAuth) middleware(ttl time.Duration) (*basicAuth, error) {
	if _, err := bcrypt.Cost([]byte(a.PasswordHash)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadHash, err)
	}
	return &basicAuth{
		user: []byte(a.Username), hash: []byte(a.PasswordHash), ttl: ttl,
		sessions: make(map[string]time.Time), fresh: make(map[*namespace.Socket]string),
		slots: make(chan struct{}, maxConcurrentChecks),
	}, nil
}

const (
	// maxSessions bounds the session ids kept; the oldest goes first.
	maxSessions = 1024
	// maxConcurrentChecks bounds the bcrypt comparisons running at once:
	// each costs tens of milliseconds of CPU, and anyone may ask for one.
	maxConcurrentChecks = 2
)

// errInvalidCredentials is the refusal the UI recognises.
var errInvalidCredentials = errors.New("invalid credentials")

type basicAuth struct {
	user, hash []byte
	ttl        time.Duration
	slots      chan struct{}

	mu       sync.Mutex
	sessions map[string]time.Time         // session id → expiry
	fresh    map[*namespace.Socket]string // sockets logged in by password, until told their session id
}

// credentials are what the UI sends in the CONNECT packet.
type credentials struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	SessionID string `json:"sessionId"`
}

// check is the admin namespace's middleware.
func (a *basicAuth) check(s *namespace.Socket) error {
	var c credentials
	_ = json.Unmarshal(s.Handshake().Auth, &c) // anything else is no credentials
	if c.SessionID != "" && a.validSession(c.SessionID) {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(c.Username), a.user) != 1 || c.Password == "" {
		return errInvalidCredentials
	}
	select {
	case a.slots <- struct{}{}:
	case <-s.Context().Done():
		return errInvalidCredentials
	}
	err := bcrypt.CompareHashAndPassword(a.hash, []byte(c.Password))
	<-a.slots
	if err != nil {
		return errInvalidCredentials
	}
	id := newSessionID()
	a.mu.Lock()
	a.saveLocked(id)
	if len(a.fresh) < maxSessions { // else the UI logs in without a session id
		a.fresh[s] = id
	}
	a.mu.Unlock()
	s.OnDisconnect(func(string) { a.takeNewSession(s) }) // refused by a later middleware
	return nil
}

// takeNewSession returns the session id s logged in with by password, once.
func (a *basicAuth) takeNewSession(s *namespace.Socket) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.fresh[s]
	delete(a.fresh, s)
	return id
}

func (a *basicAuth) validSession(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[id]
	if ok && time.Now().After(exp) {
		delete(a.sessions, id)
		return false
	}
	return ok
}

// saveLocked keeps session id, dropping expired ones, and the oldest when
// maxSessions are kept.
func (a *basicAuth) saveLocked(id string) {
	if len(a.sessions) >= maxSessions {
		now := time.Now()
		oldest, oldestExp := "", time.Time{}
		for k, exp := range a.sessions {
			if now.After(exp) {
				delete(a.sessions, k)
			} else if oldest == "" || exp.Before(oldestExp) {
				oldest, oldestExp = k, exp
			}
		}
		if len(a.sessions) >= maxSessions {
			delete(a.sessions, oldest)
		}
	}
	a.sessions[id] = time.Now().Add(a.ttl)
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
