package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
)

// ring is a key ring whose keys a test rotates, as a Secrets Manager
// rotation does.
type ring struct {
	mu   sync.Mutex
	keys [][]byte
}

func (r *ring) set(keys ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = nil
	for _, k := range keys {
		r.keys = append(r.keys, []byte(k))
	}
}

func (r *ring) get() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys
}

func TestKeyRing(t *testing.T) {
	const (
		oldKey = "the old session key, 32 bytes or more"
		newKey = "the new session key, 32 bytes or more"
	)
	now := time.Now()
	clock := func() time.Time { return now }
	keys := &ring{}
	keys.set(oldKey)
	m, err := auth.NewKeyRingSessions(keys.get, true, clock)
	if err != nil {
		t.Fatal(err)
	}
	member := auth.Session{OrgID: "acme", Email: "you@acme.test", Role: billing.RoleAdmin}

	t.Run("a session signed with the old key still verifies after the key is rotated", func(t *testing.T) {
		keys.set(oldKey)
		before := issue(t, m, member)
		keys.set(newKey, oldKey)
		if got, ok := read(m, before); !ok || got.OrgID != "acme" {
			t.Errorf("rotating the key signed the member out: %+v, %v", got, ok)
		}
	})

	t.Run("new sessions are signed with the new key", func(t *testing.T) {
		keys.set(newKey, oldKey)
		after := issue(t, m, member)
		onlyNew, err := auth.NewSessions([]byte(newKey), true, clock)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := read(onlyNew, after); !ok {
			t.Error("a new session does not verify with the new key alone")
		}
		onlyOld, _ := auth.NewSessions([]byte(oldKey), true, clock)
		if _, ok := read(onlyOld, after); ok {
			t.Error("a new session was signed with the old key")
		}
	})

	t.Run("a key removed from the ring no longer verifies", func(t *testing.T) {
		keys.set(oldKey)
		old := issue(t, m, member)
		keys.set(newKey)
		if s, ok := read(m, old); ok {
			t.Errorf("a session signed by a removed key was accepted: %+v", s)
		}
	})

	t.Run("a sign-in in flight survives a rotation, and not a removal of its key", func(t *testing.T) {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{
				"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks",
			})
		}))
		t.Cleanup(srv.Close)
		o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: srv.URL, ClientID: "client", PublicURL: "https://billing.example.com"}, m)
		if err != nil {
			t.Fatal(err)
		}
		// finish returns the page the sign-in cookie names: "" when the
		// cookie could not be opened. A wrong state stops the sign-in right
		// after the cookie is opened, before any token request.
		finish := func(c *http.Cookie) string {
			r := httptest.NewRequest(http.MethodGet, "/auth/callback?code=c&state=wrong", nil)
			r.AddCookie(c)
			_, next, _ := o.Finish(httptest.NewRecorder(), r)
			return next
		}
		start := func() *http.Cookie {
			rec := httptest.NewRecorder()
			if _, err := o.Start(t.Context(), rec, "/billing/tax"); err != nil {
				t.Fatal(err)
			}
			for _, c := range rec.Result().Cookies() {
				if c.Name == auth.SignInCookieName {
					return c
				}
			}
			t.Fatal("no sign-in cookie")
			return nil
		}
		keys.set(oldKey)
		c := start()
		keys.set(newKey, oldKey)
		if next := finish(c); next != "/billing/tax" {
			t.Errorf("after a rotation the sign-in cookie does not open (next %q)", next)
		}
		keys.set(newKey)
		if next := finish(c); next != "" {
			t.Errorf("a sign-in sealed with a removed key opened (next %q)", next)
		}
	})

	t.Run("an empty or short ring is refused up front", func(t *testing.T) {
		for name, k := range map[string][][]byte{
			"no key":    nil,
			"short key": {[]byte(newKey), []byte("short")},
		} {
			if _, err := auth.NewKeyRingSessions(func() [][]byte { return k }, true, clock); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})

	t.Run("a ring that turns empty issues nothing and reads nothing", func(t *testing.T) {
		keys.set(newKey)
		c := issue(t, m, member)
		keys.set()
		if err := m.Issue(httptest.NewRecorder(), member); err == nil {
			t.Error("issued a session with no key")
		}
		r := httptest.NewRequest(http.MethodGet, "/billing", nil)
		r.AddCookie(c)
		if _, ok := m.Read(r); ok {
			t.Error("read a session with no key")
		}
	})
}
