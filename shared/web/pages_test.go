package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	stdhtml "html"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/web"
)

var currentLink = regexp.MustCompile(`<a href="([^"]*)" aria-current="page">`)

func TestPages(t *testing.T) {
	t.Run("every navigation path is a GET route of the section", func(t *testing.T) {
		routes := map[string]bool{}
		for _, r := range web.Routes(web.Deps{}) {
			routes[r.Method+" "+r.Path] = r.Access == web.AccessSession
		}
		for _, n := range html.Navigation {
			needsSession, ok := routes["GET "+n.Path]
			if !ok {
				t.Errorf("%s (%s) is not a GET route", n.Label, n.Path)
			} else if !needsSession {
				t.Errorf("%s (%s) is a public route; Billing pages need a session", n.Label, n.Path)
			}
		}
	})

	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
	for _, n := range html.Navigation {
		t.Run(n.Label+" answers 200 inside the layout with itself marked current", func(t *testing.T) {
			res := admin.get(n.Path)
			if res.status != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", n.Path, res.status)
			}
			// The wide navigation and the phone's menu each mark it.
			current := currentLink.FindAllStringSubmatch(res.body, -1)
			if len(current) != 2 || current[0][1] != n.Path || current[1][1] != n.Path {
				t.Errorf("links marked aria-current=page: %v, want one to %s in each navigation", current, n.Path)
			}
			if !regexp.MustCompile(`<main [^>]*id="main"`).MatchString(res.body) {
				t.Error("no <main id=\"main\">")
			}
			if !strings.Contains(res.body, "<h1>"+stdhtml.EscapeString(n.Label)+"</h1>") {
				t.Errorf("no heading %q", n.Label)
			}
			for _, other := range html.Navigation {
				if !strings.Contains(res.body, `href="`+other.Path+`"`) {
					t.Errorf("the navigation has no link to %s", other.Path)
				}
			}
			assertSecurityHeaders(t, res)
		})
	}

	t.Run("responses that are not pages carry the security headers too", func(t *testing.T) {
		anonymous := e.browser()
		for _, path := range []string{"/billing", "/auth/login", "/nowhere"} {
			res := anonymous.get(path)
			t.Run(path, func(t *testing.T) { assertSecurityHeaders(t, res) })
		}
		res := admin.get("/billing/balance-history.csv")
		t.Run("the CSV export", func(t *testing.T) { assertSecurityHeaders(t, res) })
	})
}

func assertSecurityHeaders(t *testing.T, res response) {
	t.Helper()
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy %q, want default-src 'self' and frame-ancestors 'none'", csp)
	}
	if v := res.header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", v)
	}
	if v := res.header.Get("Referrer-Policy"); v == "" || v == "unsafe-url" || v == "no-referrer-when-downgrade" {
		t.Errorf("Referrer-Policy %q, want one that keeps paths on our site", v)
	}
}
