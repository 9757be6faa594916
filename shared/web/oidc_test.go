package web_test

import (
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/web"
)

const (
	oidcClientID     = "billing-web"
	oidcClientSecret = "oidc-client-secret-for-tests-0123456789"
)

// oidcOptions change how newOIDCEnv builds the sign-in.
type oidcOptions struct {
	// log receives the handler's log; nil means the env's log buffer.
	log *slog.Logger
	// orgClaim and roleClaim are the configured claims ("" for defaults).
	orgClaim, roleClaim string
	// publicClient has no client secret.
	publicClient bool
	// noOIDC builds AWS mode without OIDC settings.
	noOIDC bool
}

// oidcEnv is the web layer in AWS mode, its routes only (no /dev/login),
// with Secure cookies and sign-in through a local OIDC issuer.
type oidcEnv struct {
	*env
	idp      *issuer
	sessions *auth.Sessions
	oidc     *auth.OIDC
}

func newOIDCEnv(t *testing.T, o oidcOptions) *oidcEnv {
	t.Helper()
	clock := func() time.Time { return lateInMonth }
	db := storetest.New(t)
	key := make([]byte, auth.MinKeyBytes)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	sessions, err := auth.NewSessions(key, true, clock)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	log := o.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(logs, nil))
	}
	// The server's address is known before it starts, so the public URL
	// (and the redirect URI the issuer accepts) can be its own.
	srv := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + srv.Listener.Addr().String()
	secret := oidcClientSecret
	if o.publicClient {
		secret = ""
	}
	idp := newIssuer(t, clock, oidcClientID, secret, publicURL+"/auth/callback")
	var oidc *auth.OIDC
	if !o.noOIDC {
		oidc, err = auth.NewOIDC(auth.OIDCConfig{Issuer: idp.srv.URL, ClientID: oidcClientID, ClientSecret: secret,
			PublicURL: publicURL, OrgClaim: o.orgClaim, RoleClaim: o.roleClaim}, sessions)
		if err != nil {
			t.Fatal(err)
		}
	}
	st := db.Store(clock)
	deps := web.Deps{Store: st, Sessions: sessions, OIDC: oidc, Now: clock, Log: log,
		NewOrg: store.NewOrg{TrialCredits: money.Dollars(10), OverageLimit: money.Dollars(25)}}
	handler := web.Handler(deps, web.Routes(deps))
	srv.Config.Handler = handler
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &oidcEnv{
		env: &env{t: t, now: lateInMonth, db: db, store: st, srv: srv, handler: handler, log: logs},
		idp: idp, sessions: sessions, oidc: oidc,
	}
}

// visit GETs an absolute URL, on the issuer or on the server.
func (b *browser) visit(t *testing.T, rawURL string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

// startSignIn opens /auth/login (with next, unless "") and returns the
// authorization URL at the issuer it is sent to.
func (e *oidcEnv) startSignIn(t *testing.T, b *browser, next string) *url.URL {
	t.Helper()
	path := "/auth/login"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	res := b.get(path)
	loc, err := url.Parse(res.header.Get("Location"))
	if res.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), e.idp.srv.URL+"/authorize?") {
		t.Fatalf("GET %s: status %d, Location %q; want 303 to the issuer's authorize endpoint\n%s", path, res.status, res.header.Get("Location"), res.text())
	}
	return loc
}

// authorize signs in at the issuer and returns the callback URL it
// redirects back to.
func (e *oidcEnv) authorize(t *testing.T, b *browser, authURL *url.URL) *url.URL {
	t.Helper()
	res := b.visit(t, authURL.String())
	loc, err := url.Parse(res.header.Get("Location"))
	if res.status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), e.srv.URL+"/auth/callback?") {
		t.Fatalf("authorize: status %d, Location %q; want 302 to the callback", res.status, res.header.Get("Location"))
	}
	return loc
}

// signInOIDC runs the whole sign-in and returns the callback's answer.
func (e *oidcEnv) signInOIDC(t *testing.T, b *browser, next string) response {
	t.Helper()
	return b.visit(t, e.authorize(t, b, e.startSignIn(t, b, next)).String())
}

// session returns the session the browser's cookie carries, if any.
func (e *oidcEnv) session(b *browser) (auth.Session, bool) {
	req := httptest.NewRequest(http.MethodGet, "/billing", nil)
	for _, c := range b.cookies() {
		req.AddCookie(c)
	}
	return e.sessions.Read(req)
}

// setCookie returns the cookie named name that res sets, if any.
func setCookie(res response, name string) (*http.Cookie, bool) {
	for _, line := range res.header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func member(org, email, role string) map[string]any {
	return map[string]any{"email": email, "email_verified": true, auth.DefaultOrgClaim: org, auth.DefaultRoleClaim: role}
}

// wantSignedIn checks res lands on next with a session as org, email, role.
func (e *oidcEnv) wantSignedIn(t *testing.T, b *browser, res response, next, org, email string, role billing.Role) {
	t.Helper()
	if res.status != http.StatusSeeOther || res.header.Get("Location") != next {
		t.Fatalf("callback: status %d, Location %q; want 303 to %s\n%s", res.status, res.header.Get("Location"), next, res.text())
	}
	s, ok := e.session(b)
	if !ok || s.OrgID != org || s.Email != email || s.Role != role {
		t.Errorf("session %+v (signed in: %v), want %s of %s as %s", s, ok, email, org, role)
	}
}

// wantRefused checks res is the sign-in page refusing with status and
// message, that no session was issued, and that org was not created.
func (e *oidcEnv) wantRefused(t *testing.T, b *browser, res response, status int, message, org string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status %d, want %d", res.status, status)
	}
	if !strings.Contains(res.text(), message) {
		t.Errorf("the page does not say %q:\n%s", message, res.text())
	}
	if !strings.Contains(res.body, `href="/auth/login?next=`) || !strings.Contains(res.text(), "Sign in again") {
		t.Errorf("the page offers no way to sign in again:\n%s", res.body)
	}
	if c, ok := setCookie(res, auth.CookieName); ok && c.Value != "" {
		t.Errorf("a refused sign-in set a session cookie")
	}
	if _, ok := e.session(b); ok {
		t.Error("a refused sign-in left a session")
	}
	if page := b.get("/billing"); page.status != http.StatusSeeOther || !strings.HasPrefix(page.header.Get("Location"), "/auth/login") {
		t.Errorf("after a refused sign-in GET /billing: status %d, Location %q; want 303 to sign in", page.status, page.header.Get("Location"))
	}
	if org != "" {
		if _, err := e.store.Account(t.Context(), org, lateInMonth); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("a refused sign-in created organisation %s (err %v)", org, err)
		}
	}
}

func TestOIDCSignIn(t *testing.T) {
	t.Run("the whole flow lands signed in on /billing with the organisation and role of the claims, creating the organisation once", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		if n := e.idp.discoveryCount(); n != 0 {
			t.Errorf("building the handler fetched the discovery document %d times, want none before the first sign-in", n)
		}
		e.idp.signInAs(member("newco", "ada@newco.test", "admin"))
		admin := e.browser()
		e.wantSignedIn(t, admin, e.signInOIDC(t, admin, ""), "/billing", "newco", "ada@newco.test", billing.RoleAdmin)

		overview := admin.get("/billing")
		if overview.status != http.StatusOK {
			t.Fatalf("GET /billing: status %d", overview.status)
		}
		if got, _ := element(overview.body, "total-credits"); got != "$10.00" {
			t.Errorf("the new organisation's Total Credits = %q, want the $10.00 trial", got)
		}
		if p, err := e.store.Profile(t.Context(), "newco"); err != nil || p.BillingEmail != "ada@newco.test" {
			t.Errorf("newco's billing email = %q (err %v), want its first member's", p.BillingEmail, err)
		}

		e.idp.signInAs(member("newco", "vic@newco.test", "viewer"))
		viewer := e.browser()
		e.wantSignedIn(t, viewer, e.signInOIDC(t, viewer, ""), "/billing", "newco", "vic@newco.test", billing.RoleViewer)
		if got, _ := element(viewer.get("/billing").body, "total-credits"); got != "$10.00" {
			t.Errorf("after a second member's sign-in Total Credits = %q, want still $10.00", got)
		}
		if res := viewer.post(t, "/billing/notifications", url.Values{"email": {"x@newco.test"}}); res.status != http.StatusForbidden {
			t.Errorf("a viewer's change: status %d, want 403", res.status)
		}
		if n := e.idp.discoveryCount(); n != 1 {
			t.Errorf("the discovery document was fetched %d times, want once", n)
		}
	})

	t.Run("the authorization request carries an S256 challenge, a fresh state and nonce, and the sign-in cookie is sealed, short-lived and only for the callback", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		b := e.browser()
		first := e.startSignIn(t, b, "/billing/tax")
		res := b.get("/auth/login")
		second, _ := url.Parse(res.header.Get("Location"))
		q1, q2 := first.Query(), second.Query()
		if q1.Get("code_challenge_method") != "S256" || len(q1.Get("code_challenge")) != 43 || q1.Has("code_verifier") {
			t.Errorf("authorization request %v: want an S256 code_challenge and no verifier", q1)
		}
		if q1.Get("redirect_uri") != e.srv.URL+"/auth/callback" || q1.Get("client_id") != oidcClientID || q1.Get("scope") != "openid email" {
			t.Errorf("authorization request %v: wrong redirect_uri, client_id or scope", q1)
		}
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if q1.Get(k) == q2.Get(k) {
				t.Errorf("two sign-ins share the %s %q", k, q1.Get(k))
			}
		}
		c, ok := setCookie(res, auth.SignInCookieName)
		if !ok {
			t.Fatalf("no sign-in cookie: %v", res.header.Values("Set-Cookie"))
		}
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/auth/callback" || c.MaxAge != 600 {
			t.Errorf("sign-in cookie %s: want HttpOnly, Secure, SameSite=Lax, Path=/auth/callback, Max-Age=600", c)
		}
		for _, k := range []string{"state", "nonce"} {
			if strings.Contains(c.Value, q2.Get(k)) {
				t.Errorf("the sign-in cookie shows the %s", k)
			}
		}
		if cc := res.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("the redirect to sign in may be cached: Cache-Control %q", cc)
		}
	})

	t.Run("the session cookie is Secure, HttpOnly and SameSite=Lax, and the sign-in cookie is cleared", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		e.idp.signInAs(member("cookies", "you@cookies.test", "admin"))
		res := e.signInOIDC(t, e.browser(), "")
		c, ok := setCookie(res, auth.CookieName)
		if !ok || c.Value == "" {
			t.Fatalf("no session cookie: %v", res.header.Values("Set-Cookie"))
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("session cookie %s: want Secure, HttpOnly, SameSite=Lax, Path=/", c)
		}
		if c, ok := setCookie(res, auth.SignInCookieName); !ok || c.MaxAge >= 0 || c.Path != "/auth/callback" {
			t.Errorf("the sign-in cookie is not cleared: %v", res.header.Values("Set-Cookie"))
		}
		if hsts := res.header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
			t.Errorf("no HSTS in AWS mode: %q", hsts)
		}
	})

	t.Run("next is kept through the sign-in and never leads off-site", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		e.idp.signInAs(member("redirects", "you@redirects.test", "admin"))
		cases := []struct{ next, want string }{
			{"/billing/balance-history", "/billing/balance-history"},
			{"/billing/invoices?page=2", "/billing/invoices?page=2"},
			{"https://evil.example", "/billing"},
			{"https://evil.example/billing", "/billing"},
			{"//evil.example/billing", "/billing"},
			{"/billing//evil.example", "/billing"},
			{`/billing/\evil.example`, "/billing"},
			{"javascript:alert(1)", "/billing"},
			{"/auth/logout", "/billing"},
		}
		for _, c := range cases {
			b := e.browser()
			e.wantSignedIn(t, b, e.signInOIDC(t, b, c.next), c.want, "redirects", "you@redirects.test", billing.RoleAdmin)
		}
	})

	t.Run("configured claims name the organisation and role", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{orgClaim: "tenant", roleClaim: "billing_role"})
		e.idp.signInAs(map[string]any{"email": "you@tenant.test", "tenant": "tenantco", "billing_role": "viewer"})
		b := e.browser()
		e.wantSignedIn(t, b, e.signInOIDC(t, b, ""), "/billing", "tenantco", "you@tenant.test", billing.RoleViewer)

		e.idp.signInAs(member("defaults", "you@defaults.test", "admin"))
		b = e.browser()
		e.wantRefused(t, b, e.signInOIDC(t, b, ""), http.StatusForbidden, "Your account is not linked to an organisation", "defaults")
	})

	t.Run("a public client signs in with PKCE and no secret", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{publicClient: true})
		e.idp.signInAs(member("public", "you@public.test", "admin"))
		b := e.browser()
		e.wantSignedIn(t, b, e.signInOIDC(t, b, ""), "/billing", "public", "you@public.test", billing.RoleAdmin)
	})
}

func TestOIDCRefused(t *testing.T) {
	e := newOIDCEnv(t, oidcOptions{})
	const (
		unverified = "Your sign-in could not be verified, so it was refused."
		noOrg      = "Your account is not linked to an organisation, so you cannot sign in to Billing."
		noRole     = "Your account has no Billing role (admin or viewer), so you cannot sign in to Billing."
	)
	otherKey := newRSAKey(t)

	t.Run("ID tokens that do not verify or lack a claim are refused with a clear page and no session", func(t *testing.T) {
		cases := []struct {
			name    string
			tamper  func(map[string]any)
			key     *rsa.PrivateKey
			message string
			reason  string // what the log says
		}{
			{"another nonce", func(c map[string]any) { c["nonce"] = "another-nonce" }, nil, unverified, "nonce does not match"},
			{"no nonce", func(c map[string]any) { delete(c, "nonce") }, nil, unverified, "nonce does not match"},
			{"another audience", func(c map[string]any) { c["aud"] = "another-client" }, nil, unverified, "expected audience"},
			{"another issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }, nil, unverified, "issued by a different provider"},
			{"an expired token", func(c map[string]any) {
				c["iat"], c["exp"] = lateInMonth.Add(-2*time.Hour).Unix(), lateInMonth.Add(-time.Minute).Unix()
			}, nil, unverified, "token is expired"},
			{"a signature by another key", nil, otherKey, unverified, "failed to verify signature"},
			{"no organisation claim", func(c map[string]any) { delete(c, auth.DefaultOrgClaim) }, nil, noOrg, "no custom:org claim"},
			{"an empty organisation claim", func(c map[string]any) { c[auth.DefaultOrgClaim] = "" }, nil, noOrg, "no custom:org claim"},
			{"an organisation claim that is no organisation id", func(c map[string]any) { c[auth.DefaultOrgClaim] = "Bad Org" }, nil,
				"is not a valid organisation id", "not a valid organisation id"},
			{"an unknown role", func(c map[string]any) { c[auth.DefaultRoleClaim] = "owner" }, nil, noRole, "not admin or viewer"},
			{"a role in capitals", func(c map[string]any) { c[auth.DefaultRoleClaim] = "ADMIN" }, nil, noRole, "not admin or viewer"},
			{"no role claim", func(c map[string]any) { delete(c, auth.DefaultRoleClaim) }, nil, noRole, "not admin or viewer"},
			{"a role list", func(c map[string]any) { c[auth.DefaultRoleClaim] = []string{"admin"} }, nil, noRole, "not admin or viewer"},
			{"no email", func(c map[string]any) { delete(c, "email") }, nil, "Your account has no valid email address", "no valid email claim"},
			{"an unverified email", func(c map[string]any) { c["email_verified"] = false }, nil, "Your email address is not verified yet", "email is not verified"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.idp.signInAs(member("refused", "you@refused.test", "admin"))
				e.idp.setTamper(c.tamper)
				e.idp.setSignKey(c.key)
				t.Cleanup(func() { e.idp.setTamper(nil); e.idp.setSignKey(nil) })
				b := e.browser()
				logged := len(e.log.String())
				e.wantRefused(t, b, e.signInOIDC(t, b, ""), http.StatusForbidden, c.message, "refused")
				if line := e.log.String()[logged:]; !strings.Contains(line, "sign-in refused") || !strings.Contains(line, c.reason) {
					t.Errorf("the log does not say the sign-in was refused because of %q:\n%s", c.reason, line)
				}
			})
		}
	})

	t.Run("a refused sign-in offers to sign in again to the same page, or to sign out of the identity provider first", func(t *testing.T) {
		e.idp.signInAs(member("refused", "you@refused.test", "owner"))
		b := e.browser()
		res := e.signInOIDC(t, b, "/billing/tax")
		e.wantRefused(t, b, res, http.StatusForbidden, noRole, "refused")
		if !strings.Contains(res.body, `href="/auth/login?next=%2Fbilling%2Ftax"`) {
			t.Errorf("the page does not sign in again to /billing/tax:\n%s", res.body)
		}
		if !strings.Contains(res.body, `action="/auth/logout"`) {
			t.Errorf("the page offers no sign-out of the identity provider:\n%s", res.body)
		}
	})

	t.Run("a callback with another state is refused", func(t *testing.T) {
		e.idp.signInAs(member("refused", "you@refused.test", "admin"))
		b := e.browser()
		cb := e.authorize(t, b, e.startSignIn(t, b, ""))
		q := cb.Query()
		q.Set("state", randomToken())
		cb.RawQuery = q.Encode()
		e.wantRefused(t, b, b.visit(t, cb.String()), http.StatusBadRequest, "This sign-in was not started here", "refused")
	})

	t.Run("a callback without the sign-in cookie, so without the PKCE verifier, is refused", func(t *testing.T) {
		e.idp.signInAs(member("refused", "you@refused.test", "admin"))
		cb := e.authorize(t, e.browser(), e.startSignIn(t, e.browser(), ""))
		other := e.browser()
		e.wantRefused(t, other, other.visit(t, cb.String()), http.StatusBadRequest, "This sign-in has expired or was started in another browser", "refused")
	})

	t.Run("an altered sign-in cookie is refused", func(t *testing.T) {
		e.idp.signInAs(member("refused", "you@refused.test", "admin"))
		b := e.browser()
		cb := e.authorize(t, b, e.startSignIn(t, b, ""))
		var sealed *http.Cookie
		for _, c := range b.client.Jar.Cookies(cb) {
			if c.Name == auth.SignInCookieName {
				sealed = c
			}
		}
		if sealed == nil {
			t.Fatal("the browser holds no sign-in cookie for the callback")
		}
		b.client.Jar.SetCookies(cb, []*http.Cookie{{Name: auth.SignInCookieName, Value: flip(sealed.Value, 20), Path: "/auth/callback"}})
		e.wantRefused(t, b, b.visit(t, cb.String()), http.StatusBadRequest, "This sign-in has expired or was started in another browser", "refused")
	})

	t.Run("a code redeemed with another sign-in's PKCE verifier is refused", func(t *testing.T) {
		// An attacker's browser with its own sign-in in flight (its own
		// state and verifier) is handed the victim's code.
		e.idp.signInAs(member("refused", "you@refused.test", "admin"))
		victim, attacker := e.browser(), e.browser()
		victimCallback := e.authorize(t, victim, e.startSignIn(t, victim, ""))
		attackerCallback := e.authorize(t, attacker, e.startSignIn(t, attacker, ""))
		q := attackerCallback.Query()
		q.Set("code", victimCallback.Query().Get("code"))
		attackerCallback.RawQuery = q.Encode()
		e.wantRefused(t, attacker, attacker.visit(t, attackerCallback.String()), http.StatusForbidden, "Your identity provider refused this sign-in.", "refused")
	})

	t.Run("a replayed callback is refused", func(t *testing.T) {
		e.idp.signInAs(member("replay", "you@replay.test", "admin"))
		b := e.browser()
		cb := e.authorize(t, b, e.startSignIn(t, b, ""))
		e.wantSignedIn(t, b, b.visit(t, cb.String()), "/billing", "replay", "you@replay.test", billing.RoleAdmin)
		b.do(http.MethodPost, "/auth/logout", sameOrigin())
		e.wantRefused(t, b, b.visit(t, cb.String()), http.StatusBadRequest, "This sign-in has expired", "")
	})

	t.Run("an error from the identity provider is refused and named", func(t *testing.T) {
		b := e.browser()
		authURL := e.startSignIn(t, b, "")
		cb := url.Values{"error": {"access_denied"}, "error_description": {"<script>alert(1)</script>"}, "state": {authURL.Query().Get("state")}}
		res := b.visit(t, e.srv.URL+"/auth/callback?"+cb.Encode())
		e.wantRefused(t, b, res, http.StatusForbidden, "Your identity provider did not sign you in (access_denied).", "")
		if strings.Contains(res.body, "<script>") {
			t.Error("the provider's error description reaches the page")
		}
	})
}

func TestOIDCLogout(t *testing.T) {
	t.Run("signing out clears the session cookie and ends the session at the issuer", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		e.idp.signInAs(member("bye", "you@bye.test", "admin"))
		b := e.browser()
		e.wantSignedIn(t, b, e.signInOIDC(t, b, ""), "/billing", "bye", "you@bye.test", billing.RoleAdmin)
		res := b.do(http.MethodPost, "/auth/logout", sameOrigin())
		loc, err := url.Parse(res.header.Get("Location"))
		if res.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), e.idp.srv.URL+"/logout?") {
			t.Fatalf("POST /auth/logout: status %d, Location %q; want 303 to the end-session endpoint", res.status, res.header.Get("Location"))
		}
		back := e.srv.URL + "/auth/login"
		if q := loc.Query(); q.Get("client_id") != oidcClientID || q.Get("logout_uri") != back || q.Get("post_logout_redirect_uri") != back {
			t.Errorf("end-session request %v: want client_id, and logout_uri and post_logout_redirect_uri %s", q, back)
		}
		if c, ok := setCookie(res, auth.CookieName); !ok || c.Value != "" || c.MaxAge >= 0 || !c.Secure || !c.HttpOnly {
			t.Errorf("the session cookie is not cleared: %v", res.header.Values("Set-Cookie"))
		}
		if _, ok := e.session(b); ok {
			t.Error("the browser still has a session")
		}
		if page := b.get("/billing"); page.status != http.StatusSeeOther {
			t.Errorf("after signing out GET /billing: status %d, want 303 to sign in", page.status)
		}
	})

	t.Run("without an end-session endpoint signing out returns to /auth/login", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		e.idp.setNoEndSession()
		res := e.browser().do(http.MethodPost, "/auth/logout", sameOrigin())
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/auth/login" {
			t.Errorf("POST /auth/logout: status %d, Location %q; want 303 to /auth/login", res.status, res.header.Get("Location"))
		}
	})
}

func TestOIDCDiscovery(t *testing.T) {
	t.Run("an unreachable issuer gets a clear error page, and the next sign-in tries discovery again", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{})
		e.idp.setDown(true)
		b := e.browser()
		res := b.get("/auth/login")
		if res.status != http.StatusInternalServerError || !strings.Contains(res.text(), "Nothing was lost; please try again in a moment.") {
			t.Errorf("GET /auth/login with the issuer down: status %d, want 500 saying to try again\n%s", res.status, res.text())
		}
		if strings.Contains(res.body, "down for maintenance") || strings.Contains(res.body, e.idp.srv.URL) {
			t.Error("the error page shows the issuer's answer or address")
		}
		e.idp.setDown(false)
		e.startSignIn(t, b, "")
		e.startSignIn(t, b, "")
		if n := e.idp.discoveryCount(); n != 2 {
			t.Errorf("discovery fetched %d times, want 2 (the failed one and one kept)", n)
		}
	})

	t.Run("in AWS without OIDC settings the sign-in page says sign-in is not configured", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{noOIDC: true})
		b := e.browser()
		res := b.get("/auth/login?next=/billing/tax")
		if res.status != http.StatusOK || !strings.Contains(res.text(), "is not configured for this deployment yet") {
			t.Errorf("GET /auth/login: status %d\n%s", res.status, res.text())
		}
		if strings.Contains(res.body, "/dev/login") {
			t.Error("AWS mode offers the local sign-in")
		}
		if res := b.get("/auth/callback?code=x&state=y"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/auth/login" {
			t.Errorf("GET /auth/callback: status %d, Location %q; want 303 to /auth/login", res.status, res.header.Get("Location"))
		}
		if res := b.do(http.MethodPost, "/auth/logout", sameOrigin()); res.status != http.StatusSeeOther || res.header.Get("Location") != "/auth/login" {
			t.Errorf("POST /auth/logout: status %d, Location %q; want 303 to /auth/login", res.status, res.header.Get("Location"))
		}
		if n := e.idp.discoveryCount(); n != 0 {
			t.Errorf("the issuer was asked %d times", n)
		}
	})
}
