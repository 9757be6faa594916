package function_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/store/storetest"
)

// discoveryServer serves only an OIDC discovery document, counting how
// often it is fetched: enough for the start of a sign-in.
func discoveryServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var fetched atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/oauth2/authorize", "token_endpoint": srv.URL + "/oauth2/token",
			"jwks_uri": srv.URL + "/jwks", "end_session_endpoint": srv.URL + "/logout", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &fetched
}

// withVars returns getenv with vars set on top.
func withVars(getenv func(string) string, vars map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}
}

func TestAuthFunctionOIDC(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)

	t.Run("configured from the environment, GET /auth/login sends a real API Gateway event to the issuer, discovering it only then", func(t *testing.T) {
		idp, fetched := discoveryServer(t)
		getenv := withVars(env(db), map[string]string{
			"OIDC_ISSUER": idp.URL, "OIDC_CLIENT_ID": "client-123", "OIDC_CLIENT_SECRET": "shh",
			"PUBLIC_URL": "https://billing.example.com/", "OIDC_ORG_CLAIM": "tenant", "OIDC_ROLE_CLAIM": "billing_role",
		})
		h, err := handler(ctx, "auth", getenv)
		if err != nil {
			t.Fatal(err)
		}
		if n := fetched.Load(); n != 0 {
			t.Errorf("the cold start fetched the discovery document %d times, want none", n)
		}
		e := event(t, "testdata/get-overview.json", "")
		e.RawPath, e.RequestContext.HTTP.Path, e.RawQueryString = "/auth/login", "/auth/login", "next=%2Fbilling%2Ftax"
		resp, err := gateway.Handler(h)(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := url.Parse(resp.Headers["Location"])
		if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), idp.URL+"/oauth2/authorize?") {
			t.Fatalf("status %d, Location %q; want 303 to the issuer", resp.StatusCode, resp.Headers["Location"])
		}
		if q := loc.Query(); q.Get("client_id") != "client-123" || q.Get("redirect_uri") != "https://billing.example.com/auth/callback" || q.Get("code_challenge_method") != "S256" {
			t.Errorf("authorization request %v", q)
		}
		var signIn *http.Cookie
		for _, line := range resp.Cookies {
			if c, err := http.ParseSetCookie(line); err == nil && c.Name == auth.SignInCookieName {
				signIn = c
			}
		}
		if signIn == nil || !signIn.Secure || !signIn.HttpOnly || signIn.SameSite != http.SameSiteLaxMode {
			t.Errorf("sign-in cookie %v: want Secure, HttpOnly, SameSite=Lax", resp.Cookies)
		}
		if n := fetched.Load(); n != 1 {
			t.Errorf("discovery fetched %d times, want 1", n)
		}
	})

	t.Run("without OIDC settings the auth function starts and says sign-in is not configured", func(t *testing.T) {
		h, err := handler(ctx, "auth", env(db))
		if err != nil {
			t.Fatal(err)
		}
		e := event(t, "testdata/get-overview.json", "")
		e.RawPath, e.RequestContext.HTTP.Path = "/auth/login", "/auth/login"
		resp, err := gateway.Handler(h)(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "not configured for this deployment") {
			t.Errorf("status %d, body:\n%.500s", resp.StatusCode, resp.Body)
		}
	})

	t.Run("an incomplete OIDC configuration is refused, saying what is missing", func(t *testing.T) {
		complete := map[string]string{"OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc", "OIDC_CLIENT_ID": "client-123", "PUBLIC_URL": "https://billing.example.com"}
		tests := []struct {
			name, key, value, want string
		}{
			{"no client id", "OIDC_CLIENT_ID", "", "OIDC_CLIENT_ID is required with OIDC_ISSUER"},
			{"no public URL", "PUBLIC_URL", "", "PUBLIC_URL is required"},
			{"a plain http public URL", "PUBLIC_URL", "http://billing.example.com", "PUBLIC_URL must be an origin"},
			{"a public URL with a path", "PUBLIC_URL", "https://billing.example.com/billing", "PUBLIC_URL must be an origin"},
			{"a plain http issuer", "OIDC_ISSUER", "http://issuer.example.com", "OIDC_ISSUER must be the issuer's https URL"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				vars := maps.Clone(complete)
				vars[tt.key] = tt.value
				_, err := handler(ctx, "auth", withVars(env(db), vars))
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want %q", err, tt.want)
				}
			})
		}
		if _, err := handler(ctx, "auth", withVars(env(db), complete)); err != nil {
			t.Errorf("the complete configuration: %v", err)
		}
	})
}
