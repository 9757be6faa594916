package web_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/acme/billing/shared/web"
)

const changePath = "/billing/test-change"

// newChangeEnv is newEnv with an extra POST route that counts how often its
// handler ran, standing in for the forms of later issues.
func newChangeEnv(t *testing.T) (*env, *atomic.Int32) {
	t.Helper()
	ran := &atomic.Int32{}
	e := newEnv(t, lateInMonth, web.Route{
		Function: "test", Method: http.MethodPost, Path: changePath,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}),
	})
	return e, ran
}

func TestRoles(t *testing.T) {
	e, ran := newChangeEnv(t)
	admin := e.signIn("roles", "admin@roles.test", "admin")
	viewer := e.signIn("roles", "viewer@roles.test", "viewer")

	t.Run("an admin's change goes through", func(t *testing.T) {
		before := ran.Load()
		res := admin.do(http.MethodPost, changePath, sameOrigin())
		if res.status != http.StatusNoContent || ran.Load() != before+1 {
			t.Errorf("admin POST: status %d, handler ran %d times; want 204 and once", res.status, ran.Load()-before)
		}
	})

	t.Run("a viewer sees every page", func(t *testing.T) {
		for _, path := range billingPaths() {
			if res := viewer.get(path); res.status != http.StatusOK {
				t.Errorf("viewer GET %s: status %d, want 200", path, res.status)
			}
		}
	})

	t.Run("a viewer's change is refused with 403 and a page saying why", func(t *testing.T) {
		before := ran.Load()
		res := viewer.do(http.MethodPost, changePath, sameOrigin())
		if res.status != http.StatusForbidden {
			t.Errorf("viewer POST: status %d, want 403", res.status)
		}
		if !strings.Contains(res.text(), "Viewers can see billing but not change it.") {
			t.Errorf("the 403 page does not explain that viewers cannot change things:\n%s", res.text())
		}
		if ran.Load() != before {
			t.Error("the handler ran for a viewer")
		}
	})

	t.Run("a viewer's POST to any Billing page never succeeds", func(t *testing.T) {
		for _, path := range billingPaths() {
			res := viewer.do(http.MethodPost, path, sameOrigin())
			if res.status != http.StatusForbidden && res.status != http.StatusMethodNotAllowed {
				t.Errorf("viewer POST %s: status %d, want 403 or 405", path, res.status)
			}
		}
	})

	t.Run("an anonymous change is refused with 401", func(t *testing.T) {
		before := ran.Load()
		res := e.browser().do(http.MethodPost, changePath, sameOrigin())
		if res.status != http.StatusUnauthorized || ran.Load() != before {
			t.Errorf("anonymous POST: status %d, handler ran %d times; want 401 and never", res.status, ran.Load()-before)
		}
	})
}

func TestCrossOrigin(t *testing.T) {
	e, ran := newChangeEnv(t)
	admin := e.signIn("origins", "admin@origins.test", "admin")

	cases := []struct {
		name    string
		header  http.Header
		allowed bool
	}{
		{"a same-origin POST is allowed", sameOrigin(), true},
		{"a POST whose Origin is our own is allowed", http.Header{"Origin": {e.srv.URL}}, true},
		{"a cross-site POST is refused", http.Header{"Sec-Fetch-Site": {"cross-site"}}, false},
		{"a same-site POST from a sibling origin is refused", http.Header{"Sec-Fetch-Site": {"same-site"}}, false},
		{"a POST from another Origin without Sec-Fetch-Site is refused", http.Header{"Origin": {"https://evil.example"}}, false},
		{"a cross-site POST claiming our Origin is refused", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {e.srv.URL}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := ran.Load()
			res := admin.do(http.MethodPost, changePath, c.header)
			if c.allowed {
				if res.status != http.StatusNoContent || ran.Load() != before+1 {
					t.Errorf("status %d, handler ran %d times; want 204 and once", res.status, ran.Load()-before)
				}
				return
			}
			if res.status != http.StatusForbidden || ran.Load() != before {
				t.Errorf("status %d, handler ran %d times; want 403 and never", res.status, ran.Load()-before)
			}
			if !strings.Contains(res.text(), "This request came from another site, so it was refused.") {
				t.Errorf("the 403 page does not explain the refusal:\n%s", res.text())
			}
		})
	}

	t.Run("a cross-site sign-out is refused and the session survives", func(t *testing.T) {
		res := admin.do(http.MethodPost, "/auth/logout", http.Header{"Sec-Fetch-Site": {"cross-site"}})
		if res.status != http.StatusForbidden {
			t.Errorf("cross-site POST /auth/logout: status %d, want 403", res.status)
		}
		if res := admin.get("/billing"); res.status != http.StatusOK {
			t.Errorf("after a refused sign-out GET /billing: status %d, want 200", res.status)
		}
	})
}
