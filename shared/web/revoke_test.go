package web_test

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/web"
)

// copyCookie gives to the browser the cookie name (for path) of from, as
// someone who copied it would.
func (b *browser) copyCookie(t *testing.T, from *browser, name, path string) {
	t.Helper()
	u, err := url.Parse(b.e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: from.cookieValue(t, name, path), Path: path}})
}

// setCookie sets the browser's cookie name for path to value.
func (b *browser) setCookie(t *testing.T, name, path, value string) {
	t.Helper()
	u, err := url.Parse(b.e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: path}})
}

// wantSignedOut checks that b's session is refused: a page sends it to sign
// in, a change is refused with 401 and does not run.
func wantSignedOut(t *testing.T, b *browser, ran func() int32) {
	t.Helper()
	if res := b.get("/billing"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/auth/login") {
		t.Errorf("GET /billing: status %d to %q, want 303 to sign in", res.status, res.header.Get("Location"))
	}
	before := ran()
	if res := b.do(http.MethodPost, changePath, sameOrigin()); res.status != http.StatusUnauthorized {
		t.Errorf("POST: status %d, want 401", res.status)
	}
	if ran() != before {
		t.Error("the change ran for a session that ended")
	}
}

func TestSessionRevocation(t *testing.T) {
	// The sessions' clock can move on (RecheckAfter); it starts at the
	// tests' lateInMonth, never behind the cookie jar's real clock.
	clock := timetest.NewClock(lateInMonth)
	var ran atomic.Int32
	count := ran.Load
	e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
		key := make([]byte, auth.MinKeyBytes)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
		sessions, err := auth.NewSessions(key, false, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		sessions.UseRecords(d.Store)
		d.Sessions = sessions
	}, web.Route{Function: "test", Method: http.MethodPost, Path: changePath, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})})

	t.Run("a copied session cookie is refused in the other browser once its owner signs out", func(t *testing.T) {
		owner := e.signIn("revoke", "you@revoke.test", "admin")
		thief := e.browser()
		thief.copyCookie(t, owner, auth.CookieName, "/")
		if res := thief.get("/billing"); res.status != http.StatusOK {
			t.Fatalf("the copy before sign-out: status %d, want 200", res.status)
		}
		if res := owner.do(http.MethodPost, "/auth/logout", sameOrigin()); res.status != http.StatusSeeOther {
			t.Fatalf("sign out: status %d, want 303", res.status)
		}
		wantSignedOut(t, thief, count)
		wantSignedOut(t, owner, count)
	})

	t.Run("another session of the same member lives on after one signs out", func(t *testing.T) {
		laptop := e.signIn("revoke", "you@revoke.test", "admin")
		phone := e.signIn("revoke", "you@revoke.test", "admin")
		laptop.do(http.MethodPost, "/auth/logout", sameOrigin())
		if res := phone.get("/billing"); res.status != http.StatusOK {
			t.Errorf("the other session: status %d, want 200", res.status)
		}
	})

	t.Run("an operator's role change applies at once: an admin made viewer gets 403 on a change", func(t *testing.T) {
		admin := e.signIn("roles-op", "ann@roles-op.test", "admin")
		if res := admin.do(http.MethodPost, changePath, sameOrigin()); res.status != http.StatusNoContent {
			t.Fatalf("as admin: status %d, want 204", res.status)
		}
		// What go run ./infra/ops member -role viewer does.
		if n, err := e.store.SetMemberRole(t.Context(), "roles-op", "ann@roles-op.test", billing.RoleViewer); err != nil || n != 1 {
			t.Fatalf("set role: %d sessions, %v", n, err)
		}
		before := ran.Load()
		res := admin.do(http.MethodPost, changePath, sameOrigin())
		if res.status != http.StatusForbidden || ran.Load() != before {
			t.Errorf("as viewer: status %d, ran %d; want 403 and not run", res.status, ran.Load()-before)
		}
		if res := admin.get("/billing"); res.status != http.StatusOK {
			t.Errorf("a viewer's page: status %d, want 200", res.status)
		}
	})

	t.Run("an operator's removal refuses the session: changes at once, pages within a minute", func(t *testing.T) {
		member := e.signIn("roles-op", "bob@roles-op.test", "admin")
		if res := member.get("/billing"); res.status != http.StatusOK {
			t.Fatalf("before removal: status %d", res.status)
		}
		// What go run ./infra/ops member -role remove does.
		if n, err := e.store.SetMemberRole(t.Context(), "roles-op", "bob@roles-op.test", ""); err != nil || n != 1 {
			t.Fatalf("remove: %d sessions, %v", n, err)
		}
		before := ran.Load()
		if res := member.do(http.MethodPost, changePath, sameOrigin()); res.status != http.StatusUnauthorized || ran.Load() != before {
			t.Errorf("a change after removal: status %d, ran %d; want 401 and not run", res.status, ran.Load()-before)
		}
		clock.Advance(auth.RecheckAfter)
		wantSignedOut(t, member, count)
	})
}

func TestFlashCookie(t *testing.T) {
	t.Run("the flash is sealed: it does not show the billing email, and a tampered or forged one shows nothing", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
		res := admin.post(t, notificationsPath, url.Values{"email": {"ap@acme.test"}})
		value := admin.cookieValue(t, "billing_flash", notificationsPath)
		// The value as sent, and as any of the encodings a cookie might use
		// decoded, must not hold the message. (Checking for short strings
		// such as "ap" in the ciphertext's base64 fails by chance.)
		readings := []string{value}
		if v, err := url.QueryUnescape(value); err == nil {
			readings = append(readings, v)
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
			if b, err := enc.DecodeString(value); err == nil {
				readings = append(readings, string(b))
			}
		}
		for _, r := range readings {
			if strings.Contains(r, "ap@acme.test") || strings.Contains(r, "acme.test") || strings.Contains(r, "success") {
				t.Errorf("the flash cookie %q shows its message", value)
			}
		}
		wantFlash(t, admin.redirected(t, res, notificationsPath, false), "success", "Invoices and other billing notifications will be sent to ap@acme.test.")

		admin.post(t, notificationsPath, url.Values{"email": {"ap2@acme.test"}})
		sealed := admin.cookieValue(t, "billing_flash", notificationsPath)
		other := e.signIn(demo.OrgID, "other@acme.test", "admin")
		for name, v := range map[string]string{
			"one character changed":   flip(sealed, len(sealed)/2),
			"an unsigned message":     url.QueryEscape("success:Your payment of $5,000.00 was added."),
			"a message cut short":     sealed[:len(sealed)-4],
			"another session's flash": sealed,
			"an empty value":          "",
		} {
			b := admin
			if name == "another session's flash" {
				b = other
			}
			b.setCookie(t, "billing_flash", "/billing", v)
			if kind, text := flash(b.get(notificationsPath).body); kind != "" || text != "" {
				t.Errorf("%s: the page shows flash %s %q", name, kind, text)
			}
		}
	})

	t.Run("in AWS the flash cookie is Secure, HttpOnly and SameSite=Lax", func(t *testing.T) {
		e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
			key := make([]byte, auth.MinKeyBytes)
			_, _ = rand.Read(key) // crypto/rand.Read never fails
			sessions, err := auth.NewSessions(key, true, d.Now)
			if err != nil {
				t.Fatal(err)
			}
			sessions.UseRecords(d.Store)
			d.Sessions, d.Local = sessions, false
		})
		e.seed()
		// The jar keeps Secure cookies from plain HTTP, so the cookies go by hand.
		login := rawRequest(t, e, http.MethodGet, "/dev/login?org=acme&email=you%40acme.test&role=admin", "", nil)
		session := cookieOf(login, auth.CookieName)
		if session == nil || !session.Secure {
			t.Fatalf("session cookie %+v, want a Secure one", session)
		}
		res := rawRequest(t, e, http.MethodPost, notificationsPath, "email=ap%40acme.test", session)
		f := cookieOf(res, "billing_flash")
		if res.StatusCode != http.StatusSeeOther || f == nil {
			t.Fatalf("status %d, flash cookie %+v; want 303 with a flash", res.StatusCode, f)
		}
		if !f.Secure || !f.HttpOnly || f.SameSite != http.SameSiteLaxMode || f.MaxAge <= 0 || f.MaxAge > 60 {
			t.Errorf("flash cookie %+v, want Secure, HttpOnly, SameSite=Lax, at most a minute", f)
		}
	})
}

// rawRequest sends one request to e with cookie (if any), without a jar
// and without following redirects.
func rawRequest(t *testing.T, e *env, method, path, form string, cookie *http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if cookie != nil {
		req.Header.Set("Cookie", cookie.Name+"="+cookie.Value)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func cookieOf(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
