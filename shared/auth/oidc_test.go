package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
)

func TestNewOIDC(t *testing.T) {
	sessions, err := auth.NewSessions(key, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := auth.OIDCConfig{Issuer: "https://issuer.example", ClientID: "client", PublicURL: "https://billing.example.com"}
	tests := []struct {
		name   string
		change func(*auth.OIDCConfig)
		want   string
	}{
		{"no issuer", func(c *auth.OIDCConfig) { c.Issuer = "" }, "issuer must be an absolute URL"},
		{"a relative issuer", func(c *auth.OIDCConfig) { c.Issuer = "/issuer" }, "issuer must be an absolute URL"},
		{"no client id", func(c *auth.OIDCConfig) { c.ClientID = "" }, "client id is required"},
		{"no public URL", func(c *auth.OIDCConfig) { c.PublicURL = "" }, "public URL must be an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			if _, err := auth.NewOIDC(cfg, sessions); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("a complete configuration is accepted without a request to the issuer", func(t *testing.T) {
		if _, err := auth.NewOIDC(good, sessions); err != nil {
			t.Error(err)
		}
	})
}

func TestSignInCookie(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks",
		})
	}))
	t.Cleanup(srv.Close)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	sessions, err := auth.NewSessions(key, true, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: srv.URL, ClientID: "client", PublicURL: "https://billing.example.com"}, sessions)
	if err != nil {
		t.Fatal(err)
	}
	start := func(t *testing.T) (*http.Cookie, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		to, err := o.Start(t.Context(), rec, "/billing/tax")
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(to)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == auth.SignInCookieName {
				return c, u.Query().Get("state")
			}
		}
		t.Fatal("no sign-in cookie")
		return nil, ""
	}
	callback := func(c *http.Cookie, state string) error {
		r := httptest.NewRequest(http.MethodGet, "/auth/callback?"+url.Values{"code": {"c"}, "state": {state}}.Encode(), nil)
		r.AddCookie(c)
		_, _, err := o.Finish(httptest.NewRecorder(), r)
		return err
	}

	t.Run("a sign-in cookie is never a session", func(t *testing.T) {
		c, _ := start(t)
		c.Name = auth.CookieName
		if s, ok := read(sessions, c); ok {
			t.Errorf("the sign-in cookie reads as session %+v", s)
		}
	})

	t.Run("a session cookie is never a sign-in cookie", func(t *testing.T) {
		c := issue(t, sessions, auth.Session{OrgID: "acme", Email: "you@acme.test", Role: billing.RoleAdmin})
		c.Name = auth.SignInCookieName
		if err := callback(c, ""); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("err = %v, want a refused sign-in", err)
		}
	})

	t.Run("a sign-in cookie expires after 10 minutes", func(t *testing.T) {
		c, state := start(t)
		if c.MaxAge != 600 {
			t.Errorf("Max-Age %d, want 600", c.MaxAge)
		}
		now = now.Add(10*time.Minute + time.Second)
		t.Cleanup(func() { now = now.Add(-10*time.Minute - time.Second) })
		err := callback(c, state)
		if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "has expired") {
			t.Errorf("err = %v, want a refused sign-in saying it has expired", err)
		}
	})
}
