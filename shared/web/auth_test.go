package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
)

// billingPaths are the paths of every Billing page, the CSV export included.
func billingPaths() []string {
	var paths []string
	for _, n := range html.Navigation {
		paths = append(paths, n.Path)
	}
	return append(paths, "/billing/balance-history.csv")
}

func TestAuth(t *testing.T) {
	t.Run("an anonymous visitor of any Billing page is sent to sign in", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		b := e.browser()
		for _, path := range append(billingPaths(), "/billing/balance-history?after=abc") {
			res := b.get(path)
			want := "/auth/login?next=" + url.QueryEscape(path)
			if res.status != http.StatusSeeOther || res.header.Get("Location") != want {
				t.Errorf("anonymous GET %s: status %d, Location %q; want 303 to %s", path, res.status, res.header.Get("Location"), want)
			}
			if dollarAmount.MatchString(res.body) {
				t.Errorf("anonymous GET %s shows an amount: %s", path, res.body)
			}
		}
		login := b.get("/auth/login?next=" + url.QueryEscape("/billing/tax"))
		if login.status != http.StatusOK || !strings.Contains(login.body, `name="next" value="/billing/tax"`) {
			t.Errorf("the sign-in page does not carry next=/billing/tax: status %d\n%s", login.status, login.body)
		}
	})

	t.Run("an anonymous visitor can sign out but change nothing else", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		b := e.browser()
		res := b.do(http.MethodPost, "/auth/logout", sameOrigin())
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/auth/login" {
			t.Errorf("anonymous POST /auth/logout: status %d, Location %q; want 303 to /auth/login", res.status, res.header.Get("Location"))
		}
		for _, path := range append(billingPaths(), "/dev/login", "/auth/login") {
			res := b.do(http.MethodPost, path, sameOrigin())
			if !slices.Contains([]int{http.StatusUnauthorized, http.StatusForbidden, http.StatusMethodNotAllowed}, res.status) {
				t.Errorf("anonymous POST %s: status %d, want 401, 403 or 405", path, res.status)
			}
		}
	})

	t.Run("a POST to a page that only answers GET gets 405 naming GET", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		for _, b := range []*browser{e.browser(), e.signIn("methods", "you@methods.test", "admin")} {
			res := b.do(http.MethodPost, "/billing", sameOrigin())
			if res.status != http.StatusMethodNotAllowed || !strings.Contains(res.header.Get("Allow"), http.MethodGet) {
				t.Errorf("POST /billing: status %d, Allow %q; want 405 allowing GET", res.status, res.header.Get("Allow"))
			}
		}
	})

	t.Run("a tampered session cookie counts as anonymous", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		signedIn := e.signIn("tamper", "you@tamper.test", "admin")
		var value string
		for _, c := range signedIn.cookies() {
			if c.Name == auth.CookieName {
				value = c.Value
			}
		}
		payload, sig, ok := strings.Cut(value, ".")
		if !ok {
			t.Fatalf("session cookie %q is not payload.signature", value)
		}
		// A session naming another organisation, signed with nothing.
		forged := base64.RawURLEncoding.EncodeToString([]byte(`{"o":"acme","e":"you@acme.test","r":"admin","x":"2099-01-01T00:00:00Z"}`))
		cases := []struct {
			name   string
			cookie string
			signed bool
		}{
			{"the cookie as issued is accepted", value, true},
			{"a character of the payload flipped", flip(value, 0), false},
			{"a character of the signature flipped", flip(value, len(payload)+1), false},
			{"another payload with the original signature", forged + "." + sig, false},
			{"the payload without its signature", payload, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := e.browser().do(http.MethodGet, "/billing", http.Header{"Cookie": {auth.CookieName + "=" + c.cookie}})
				switch {
				case c.signed && res.status != http.StatusOK:
					t.Errorf("status %d, want 200", res.status)
				case !c.signed && (res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/auth/login")):
					t.Errorf("status %d, Location %q; want 303 to sign in", res.status, res.header.Get("Location"))
				}
			})
		}
	})

	t.Run("/dev/login refuses a bad organisation id, email or role with 400 and says why", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		cases := []struct {
			name, org, email, role, message string
		}{
			{"an organisation id with capitals and spaces", "Bad Org", "you@acme.test", "admin", "Organisation id must be 1–63 lowercase letters, digits or hyphens."},
			{"no organisation id", "", "you@acme.test", "admin", "Organisation id must be 1–63 lowercase letters, digits or hyphens."},
			{"an email without a domain", "fresh", "not-an-email", "admin", "Enter an email address like name@example.com."},
			{"no email", "fresh", "", "admin", "Enter an email address."},
			{"an unknown role", "fresh", "you@fresh.test", "owner", "Role must be admin or viewer."},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := e.browser()
				q := url.Values{"org": {c.org}, "email": {c.email}, "role": {c.role}}
				res := b.get("/dev/login?" + q.Encode())
				if res.status != http.StatusBadRequest {
					t.Errorf("status %d, want 400", res.status)
				}
				if !strings.Contains(res.text(), c.message) {
					t.Errorf("the page does not say %q:\n%s", c.message, res.text())
				}
				if strings.Contains(res.header.Get("Set-Cookie"), auth.CookieName) {
					t.Error("a refused sign-in set a session cookie")
				}
				if billing.ValidateOrgID(c.org) == nil {
					if _, err := e.store.Account(t.Context(), c.org, lateInMonth); billing.ErrorCode(err) != billing.ENOTFOUND {
						t.Errorf("a refused sign-in created organisation %s (err %v)", c.org, err)
					}
				}
			})
		}
	})

	t.Run("/dev/login redirects only within the Billing section", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		cases := []struct{ next, want string }{
			{"https://evil.example", "/billing"},
			{"https://evil.example/billing", "/billing"},
			{"//evil.example/billing", "/billing"},
			{"/billing//evil.example", "/billing"},
			{`/billing/\evil.example`, "/billing"},
			{"javascript:alert(1)", "/billing"},
			{"/auth/logout", "/billing"},
			{"/billing/balance-history", "/billing/balance-history"},
		}
		for _, c := range cases {
			q := url.Values{"org": {"redirects"}, "email": {"you@redirects.test"}, "role": {"admin"}, "next": {c.next}}
			res := e.browser().get("/dev/login?" + q.Encode())
			if res.status != http.StatusSeeOther || res.header.Get("Location") != c.want {
				t.Errorf("next=%s: status %d, Location %q; want 303 to %s", c.next, res.status, res.header.Get("Location"), c.want)
			}
		}
	})

	t.Run("a first sign-in creates the organisation with $10 of Free Trial Credits, once", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.signIn("newco", "founder@newco.test", "admin")
		b := e.signIn("newco", "founder@newco.test", "admin") // a second sign-in grants nothing more

		overview := b.get("/billing")
		for id, want := range map[string]string{
			"total-credits":      "$10.00",
			"remaining-credits":  "$10.00",
			"usage-period":       "$0.00",
			"overage-protection": "$25.00",
			"available-to-use":   "$35.00",
			"daily-limit":        "Off",
		} {
			if got, _ := element(overview.body, id); got != want {
				t.Errorf("newco's #%s = %q, want %q", id, got, want)
			}
		}
		rows := historyRows(b.get("/billing/balance-history").body)
		if len(rows) != 1 || rows[0].description != billing.DescFreeTrial || rows[0].amount != "credit $10.00" {
			t.Errorf("newco's balance history = %+v, want one %q row of $10.00", rows, billing.DescFreeTrial)
		}
	})

	t.Run("an organisation never sees another's transactions or figures", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		acmeFigures := expectedDemoFigures(t, plan, lateInMonth)
		acme := e.storedHistory(demo.OrgID)
		b := e.signIn("other", "you@other.test", "admin")
		cursor := base64.RawURLEncoding.EncodeToString([]byte("TX#" + acme[0].ID))

		leaks := []string{"Acme Inc.", "billing@acme.test", "pi_3QDemoTopUp", billing.DescAppliedCredit,
			acmeFigures.total.Display(), acmeFigures.remaining.Display(), acmeFigures.total.String()}
		for _, tx := range acme {
			leaks = append(leaks, tx.ID)
		}
		for _, path := range []string{
			"/billing", "/billing?org=acme", "/billing?org_id=acme",
			"/billing/balance-history", "/billing/balance-history?org=acme", "/billing/balance-history?after=" + cursor,
			"/billing/balance-history.csv", "/billing/balance-history.csv?org=acme",
		} {
			res := b.get(path)
			if res.status != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200", path, res.status)
			}
			for _, leak := range leaks {
				if strings.Contains(res.body, leak) {
					t.Errorf("GET %s as other shows acme's %q", path, leak)
				}
			}
		}
		if got, _ := element(b.get("/billing").body, "total-credits"); got != "$10.00" {
			t.Errorf("other's Total Credits = %q, want its own $10.00", got)
		}
	})
}

// flip returns s with the character at i replaced by a different one of
// the base64url alphabet.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
