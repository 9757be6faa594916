package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/acme/billing/shared/billing"
)

// Records keeps a record of each session signed in with SignIn, so that a
// session can end before its cookie expires: signed out (SignOut), or its
// member's role changed or removed by an operator. The store implements it
// (shared/store/sessions.go).
type Records interface {
	// PutSession records the new live session id of orgID, of the member
	// email with role, until expires.
	PutSession(ctx context.Context, orgID, id, email string, role billing.Role, expires time.Time) error
	// SessionRole returns the current role of the live session id of
	// orgID; an ENOTFOUND error when there is no such live session (never
	// recorded, signed out, member removed, or expired).
	SessionRole(ctx context.Context, orgID, id string) (billing.Role, error)
	// RevokeSession ends the session id of orgID. Ending a session that
	// has ended or was never recorded is not an error.
	RevokeSession(ctx context.Context, orgID, id string) error
}

// RecheckAfter is the longest a function instance answers a safe request
// (GET, HEAD) from its cache of a session's record: a role changed or a
// member removed by an operator, or a sign-out in another instance, applies
// to such requests within this time. Any other request (every change)
// reads the record first, so it applies to changes at once.
const RecheckAfter = time.Minute

// maxCached bounds the cache of session checks of one instance.
const maxCached = 10000

// ErrNoSession is returned by Live for a request without a live session:
// no cookie, a forged, altered or expired one, or a session that ended.
var ErrNoSession = errors.New("no live session")

// UseRecords makes the sessions keep a record of each session in r (in
// production always; the tests of other packages may go without). Call it
// before serving any request.
func (m *Sessions) UseRecords(r Records) { m.records = r }

// SignIn starts a session for s: with records, it records the session
// under a new random id first; then it sets the session cookie (see
// Issue). It fails, setting no cookie, when s is invalid or the record
// cannot be written.
func (m *Sessions) SignIn(ctx context.Context, w http.ResponseWriter, s Session) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.ID = ""
	s.Expires = m.now().Add(m.ttl).UTC().Truncate(time.Second)
	if m.records != nil {
		s.ID = newSessionID()
		if err := m.records.PutSession(ctx, s.OrgID, s.ID, s.Email, s.Role, s.Expires); err != nil {
			return fmt.Errorf("record session of %s: %w", s.OrgID, err)
		}
		m.live.put(s.OrgID, s.ID, s.Role, true, m.now())
	}
	return m.setCookie(w, s)
}

// Live returns the live session of the request: its cookie's session with
// the role its record holds now. A safe request (GET, HEAD) may be answered
// from this instance's check of the record made less than RecheckAfter ago;
// any other request reads the record. With records, a session without an
// id (a cookie signed by Issue alone, never recorded) is refused: it could
// not be revoked. Without records (tests of other packages) the session is
// taken from its cookie.
//
// It returns ErrNoSession when the request has no live session, and any
// other error when the record could not be read.
func (m *Sessions) Live(r *http.Request) (Session, error) {
	s, ok := m.Read(r)
	if !ok {
		return Session{}, ErrNoSession
	}
	if m.records == nil {
		return s, nil
	}
	if s.ID == "" {
		return Session{}, ErrNoSession
	}
	now := m.now()
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if role, live, ok := m.live.get(s.OrgID, s.ID, now); ok {
			if !live {
				return Session{}, ErrNoSession
			}
			s.Role = role
			return s, nil
		}
	}
	role, err := m.records.SessionRole(r.Context(), s.OrgID, s.ID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		m.live.put(s.OrgID, s.ID, "", false, now)
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("check session of %s: %w", s.OrgID, err)
	}
	m.live.put(s.OrgID, s.ID, role, true, now)
	s.Role = role
	return s, nil
}

// SignOut ends the request's session: with records, it revokes the
// session's record (so every copy of the cookie is refused: at once by this
// instance and by any change, within RecheckAfter by pages elsewhere), then
// clears the cookie. When the record cannot be revoked it returns the error
// and keeps the cookie, so that signing out can be tried again.
func (m *Sessions) SignOut(w http.ResponseWriter, r *http.Request) error {
	if s, ok := m.Read(r); ok && m.records != nil && s.ID != "" {
		if err := m.records.RevokeSession(r.Context(), s.OrgID, s.ID); err != nil {
			return fmt.Errorf("revoke session of %s: %w", s.OrgID, err)
		}
		m.live.put(s.OrgID, s.ID, "", false, m.now())
	}
	m.Clear(w)
	return nil
}

// newSessionID returns 32 random bytes, base64url encoded.
func newSessionID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// liveCache remembers the checks of session records, each for
// RecheckAfter.
type liveCache struct {
	mu      sync.Mutex
	entries map[string]liveEntry
}

type liveEntry struct {
	role    billing.Role
	live    bool
	checked time.Time
}

func liveKey(orgID, id string) string { return orgID + "\x00" + id }

// get returns the cached check of a session, and false when there is none
// younger than RecheckAfter at now.
func (c *liveCache) get(orgID, id string, now time.Time) (billing.Role, bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[liveKey(orgID, id)]
	if !ok || now.Sub(e.checked) >= RecheckAfter || now.Before(e.checked) {
		return "", false, false
	}
	return e.role, e.live, true
}

// put caches a check made at now. A full cache first drops the checks
// that are too old, and forgets everything if that is not enough.
func (c *liveCache) put(orgID, id string, role billing.Role, live bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]liveEntry{}
	}
	if len(c.entries) >= maxCached {
		for k, e := range c.entries {
			if now.Sub(e.checked) >= RecheckAfter {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
	}
	c.entries[liveKey(orgID, id)] = liveEntry{role: role, live: live, checked: now}
}
