package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
)

// live asks m for the live session of a request with cookie c.
func live(m *auth.Sessions, method string, c *http.Cookie) (auth.Session, error) {
	r := httptest.NewRequest(method, "/billing", nil)
	r.AddCookie(c)
	return m.Live(r)
}

func signIn(t *testing.T, m *auth.Sessions, s auth.Session) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := m.SignIn(t.Context(), rec, s); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()[0]
}

func TestRecordedSessions(t *testing.T) {
	db := storetest.New(t)
	clock := timetest.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	st := db.Store(clock.Now)
	newSessions := func() *auth.Sessions {
		m, err := auth.NewSessions(key, true, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		m.UseRecords(st)
		return m
	}
	// Two function instances: each has its own cache of checks.
	here, there := newSessions(), newSessions()
	member := auth.Session{OrgID: "acme", OrgName: "Acme Inc.", Email: "you@acme.test", Role: billing.RoleAdmin}

	t.Run("a signed-in session is live everywhere with its id in the signed cookie", func(t *testing.T) {
		c := signIn(t, here, member)
		s, ok := read(here, c)
		if !ok || len(s.ID) < 40 {
			t.Fatalf("cookie session %+v, %v; want an id of 32 random bytes", s, ok)
		}
		for _, m := range []*auth.Sessions{here, there} {
			if got, err := live(m, http.MethodGet, c); err != nil || got.Role != billing.RoleAdmin || got.ID != s.ID {
				t.Errorf("live: %+v, %v", got, err)
			}
		}
	})

	t.Run("signing out refuses every copy: at once here and for changes elsewhere, within a minute for pages elsewhere", func(t *testing.T) {
		c := signIn(t, here, member)
		if _, err := live(there, http.MethodGet, c); err != nil { // there caches it
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/auth/logout", nil)
		r.AddCookie(c)
		rec := httptest.NewRecorder()
		if err := here.SignOut(rec, r); err != nil {
			t.Fatal(err)
		}
		if cl := rec.Result().Cookies(); len(cl) != 1 || cl[0].MaxAge >= 0 {
			t.Errorf("sign-out set %v, want the cookie cleared", cl)
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if _, err := live(here, method, c); !errors.Is(err, auth.ErrNoSession) {
				t.Errorf("%s here: %v, want no session", method, err)
			}
		}
		if _, err := live(there, http.MethodPost, c); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("POST elsewhere: %v, want no session", err)
		}
		clock.Advance(auth.RecheckAfter)
		if _, err := live(there, http.MethodGet, c); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("GET elsewhere a minute later: %v, want no session", err)
		}
	})

	t.Run("an operator's role change applies to changes at once and to pages within a minute", func(t *testing.T) {
		c := signIn(t, here, member)
		if n, err := st.SetMemberRole(t.Context(), "acme", "you@acme.test", billing.RoleViewer); err != nil || n == 0 {
			t.Fatalf("set role: %d, %v", n, err)
		}
		if s, err := live(here, http.MethodPost, c); err != nil || s.Role != billing.RoleViewer {
			t.Errorf("POST: %+v, %v; want a viewer", s, err)
		}
		if _, err := st.SetMemberRole(t.Context(), "acme", "you@acme.test", ""); err != nil {
			t.Fatal(err)
		}
		clock.Advance(auth.RecheckAfter)
		if _, err := live(here, http.MethodGet, c); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("GET a minute after removal: %v, want no session", err)
		}
	})

	t.Run("a session the store cannot check is an error, not a sign-out", func(t *testing.T) {
		broken, err := auth.NewSessions(key, true, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		broken.UseRecords(store.New(db.Client, "missing", clock.Now))
		c := signIn(t, here, member)
		if _, err := live(broken, http.MethodPost, c); err == nil || errors.Is(err, auth.ErrNoSession) {
			t.Errorf("err = %v, want a failure to check", err)
		}
		if err != nil && strings.Contains(err.Error(), mustRead(t, here, c).ID) {
			t.Error("the error quotes the session id")
		}
	})

	t.Run("a cookie signed with the key but never recorded (Issue alone) is refused: it could not be revoked", func(t *testing.T) {
		c := issue(t, here, member)
		if s, ok := read(here, c); !ok || s.ID != "" {
			t.Fatalf("the cookie reads %+v (%v), want a valid signed session without an id", s, ok)
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if s, err := live(here, method, c); !errors.Is(err, auth.ErrNoSession) {
				t.Errorf("%s: %+v, %v; want ErrNoSession", method, s, err)
			}
		}
	})
}

func mustRead(t *testing.T, m *auth.Sessions, c *http.Cookie) auth.Session {
	t.Helper()
	s, ok := read(m, c)
	if !ok {
		t.Fatal("cookie does not read")
	}
	return s
}
