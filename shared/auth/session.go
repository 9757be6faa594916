// Package auth keeps who is signed in: a signed session cookie carrying the
// organisation, the member's email and role. The organisation of every
// customer page comes only from here, never from a form field or URL.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
)

// CookieName is the session cookie's name.
const CookieName = "billing_session"

// Session is a signed-in member of an organisation.
type Session struct {
	// ID names the session's record (see Records); empty for a session
	// issued without one (by Issue alone), which cannot be revoked.
	ID    string `json:"i,omitempty"`
	OrgID string `json:"o"`
	// OrgName is the organisation's display name at sign-in.
	OrgName string       `json:"n,omitempty"`
	Email   string       `json:"e"`
	Role    billing.Role `json:"r"`
	Expires time.Time    `json:"x"`
}

// Validate returns an EINVALID error for a session that names no valid
// organisation, email or role.
func (s Session) Validate() error {
	if err := billing.ValidateOrgID(s.OrgID); err != nil {
		return err
	}
	if err := billing.ValidateEmail("email", s.Email); err != nil {
		return err
	}
	if !s.Role.Valid() {
		return billing.FieldError("role", "Role must be admin or viewer.")
	}
	return nil
}

// Sessions issues and reads session cookies signed with HMAC-SHA256 by a
// key ring.
type Sessions struct {
	keys   KeyRing
	secure bool
	ttl    time.Duration
	now    func() time.Time

	// records keeps the session records (nil: cookies only); live caches
	// their checks for safe requests, for at most RecheckAfter.
	records Records
	live    liveCache
}

// MinKeyBytes is the shortest signing key Sessions accepts.
const MinKeyBytes = 32

// Lifetime is how long a session lasts. A key taken out of the signing
// position must stay in the ring at least this long, or sessions it signed
// end early.
const Lifetime = 12 * time.Hour

// KeyRing returns the session keys, newest first: the first signs new
// sessions, every one verifies. Rotating the key puts a new key first and
// keeps the old one behind it for a Lifetime, so no one is signed out; a
// key dropped from the ring no longer verifies anything. It is called for
// every cookie issued or read (in AWS it reads a cache of Secrets Manager),
// and must return keys of at least MinKeyBytes.
type KeyRing func() [][]byte

// NewSessions returns Sessions that sign with key (at least 32 random
// bytes). secure marks cookies Secure (always in AWS); now is the clock.
func NewSessions(key []byte, secure bool, now func() time.Time) (*Sessions, error) {
	return NewKeyRingSessions(func() [][]byte { return [][]byte{key} }, secure, now)
}

// NewKeyRingSessions returns Sessions that sign with the first key of ring
// and verify with any of them. It fails when the ring has no key or a key
// shorter than MinKeyBytes now.
func NewKeyRingSessions(ring KeyRing, secure bool, now func() time.Time) (*Sessions, error) {
	if err := CheckKeys(ring()); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{keys: ring, secure: secure, ttl: Lifetime, now: now}, nil
}

// CheckKeys returns an error (never quoting a key) unless keys holds at
// least one key and every key is at least MinKeyBytes long.
func CheckKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return errors.New("no session key")
	}
	for _, k := range keys {
		if len(k) < MinKeyBytes {
			return errors.New("session key must be at least 32 bytes")
		}
	}
	return nil
}

// Issue sets a session cookie for s, valid for 12 hours (Lifetime), signed
// with the newest key of the ring. The cookie is HttpOnly, SameSite=Lax
// and, in AWS, Secure.
func (m *Sessions) Issue(w http.ResponseWriter, s Session) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Expires = m.now().Add(m.ttl).UTC().Truncate(time.Second)
	return m.setCookie(w, s)
}

// setCookie signs s, with its expiry, into the session cookie.
func (m *Sessions) setCookie(w http.ResponseWriter, s Session) error {
	keys := m.keys()
	if CheckKeys(keys) != nil {
		return errors.New("issue session: the key ring has no valid signing key")
	}
	payload, err := json.Marshal(s)
	if err != nil {
		return err
	}
	value := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sign(keys[0], payload))
	http.SetCookie(w, m.cookie(value, s.Expires))
	return nil
}

// Secure reports whether cookies are marked Secure (always in AWS).
func (m *Sessions) Secure() bool { return m.secure }

// Clear removes the session cookie.
func (m *Sessions) Clear(w http.ResponseWriter) {
	c := m.cookie("", time.Unix(0, 0))
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// Read returns the session of the request's cookie, and false when there
// is none, it is forged or altered, signed by no key of the ring, or it has
// expired. It checks the cookie only, never the session's record: pages
// use Live, which also refuses a session that was signed out or removed.
func (m *Sessions) Read(r *http.Request) (Session, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return Session{}, false
	}
	body, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return Session{}, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(body)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !m.verify(payload, mac) {
		return Session{}, false
	}
	var s Session
	if err := json.Unmarshal(payload, &s); err != nil || !m.now().Before(s.Expires) || s.Validate() != nil {
		return Session{}, false
	}
	return s, true
}

// verify reports whether mac is payload's signature by any key of the ring.
func (m *Sessions) verify(payload, mac []byte) bool {
	for _, k := range m.keys() {
		if len(k) >= MinKeyBytes && hmac.Equal(mac, sign(k, payload)) {
			return true
		}
	}
	return false
}

func sign(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("billing-session-v1\x00"))
	h.Write(payload)
	return h.Sum(nil)
}

func (m *Sessions) cookie(value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode,
	}
}

type ctxKey struct{}

// WithSession returns ctx carrying s.
func WithSession(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the session carried by ctx, if any.
func FromContext(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(Session)
	return s, ok
}
