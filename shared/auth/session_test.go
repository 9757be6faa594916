package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func issue(t *testing.T, m *auth.Sessions, s auth.Session) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := m.Issue(rec, s); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies", len(cookies))
	}
	return cookies[0]
}

func read(m *auth.Sessions, c *http.Cookie) (auth.Session, bool) {
	r := httptest.NewRequest(http.MethodGet, "/billing", nil)
	r.AddCookie(c)
	return m.Read(r)
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m, err := auth.NewSessions(key, true, clock)
	if err != nil {
		t.Fatal(err)
	}
	member := auth.Session{OrgID: "acme", OrgName: "Acme Inc.", Email: "you@acme.test", Role: billing.RoleViewer}

	t.Run("an issued session reads back with its organisation, email and role", func(t *testing.T) {
		got, ok := read(m, issue(t, m, member))
		if !ok || got.OrgID != "acme" || got.OrgName != "Acme Inc." || got.Email != "you@acme.test" || got.Role != billing.RoleViewer {
			t.Errorf("got %+v, %v", got, ok)
		}
	})

	t.Run("the cookie is HttpOnly, SameSite=Lax, Secure in AWS, and for the whole site", func(t *testing.T) {
		c := issue(t, m, member)
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Name != auth.CookieName {
			t.Errorf("cookie %+v", c)
		}
		local, _ := auth.NewSessions(key, false, clock)
		if issue(t, local, member).Secure {
			t.Error("a local cookie is Secure, so plain-HTTP local runs could not sign in")
		}
	})

	t.Run("an altered, forged or re-signed cookie is refused", func(t *testing.T) {
		c := issue(t, m, member)
		payload, sig, _ := strings.Cut(c.Value, ".")
		other, _ := auth.NewSessions([]byte("another key of at least 32 bytes!!"), true, clock)
		forged := issue(t, other, member)
		for name, value := range map[string]string{
			"a flipped payload character": flip(payload) + "." + sig,
			"a flipped signature":         payload + "." + flip(sig),
			"no signature":                payload,
			"another key's signature":     forged.Value,
			"garbage":                     "%%%.%%%",
		} {
			if s, ok := read(m, &http.Cookie{Name: auth.CookieName, Value: value}); ok {
				t.Errorf("%s: accepted %+v", name, s)
			}
		}
	})

	t.Run("a session expires after 12 hours", func(t *testing.T) {
		c := issue(t, m, member)
		later, _ := auth.NewSessions(key, true, func() time.Time { return now.Add(12*time.Hour + time.Second) })
		if _, ok := read(later, c); ok {
			t.Error("expired session accepted")
		}
		soon, _ := auth.NewSessions(key, true, func() time.Time { return now.Add(11 * time.Hour) })
		if _, ok := read(soon, c); !ok {
			t.Error("a fresh session was refused")
		}
	})

	t.Run("invalid sessions are never issued", func(t *testing.T) {
		for _, s := range []auth.Session{
			{OrgID: "Bad Org", Email: "a@b.co", Role: billing.RoleAdmin},
			{OrgID: "acme", Email: "not-an-email", Role: billing.RoleAdmin},
			{OrgID: "acme", Email: "a@b.co", Role: "owner"},
		} {
			if err := m.Issue(httptest.NewRecorder(), s); billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("%+v: err = %v", s, err)
			}
		}
	})

	t.Run("clearing removes the cookie", func(t *testing.T) {
		rec := httptest.NewRecorder()
		m.Clear(rec)
		c := rec.Result().Cookies()[0]
		if c.Name != auth.CookieName || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("cookie %+v", c)
		}
	})

	t.Run("a short key is refused", func(t *testing.T) {
		if _, err := auth.NewSessions([]byte("short"), true, nil); err == nil {
			t.Error("accepted a 5-byte key")
		}
	})

	t.Run("the context carries the session", func(t *testing.T) {
		ctx := auth.WithSession(context.Background(), member)
		if got, ok := auth.FromContext(ctx); !ok || got != member {
			t.Errorf("got %+v", got)
		}
		if _, ok := auth.FromContext(context.Background()); ok {
			t.Error("an empty context has a session")
		}
	})
}

func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
