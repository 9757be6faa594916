package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/truora/minidyn/server"
)

func TestErrors(t *testing.T) {
	t.Run("a store failure gives 500 with a generic message and no internal text", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		b := e.signIn("failing", "you@failing.test", "admin")

		e.db.Reset()
		e.db.Server.EmulateFailure(server.FailureConditionInternalServerError)
		res := b.get("/billing")
		e.db.Server.EmulateFailure(server.FailureConditionNone)

		if len(e.db.Requests()) == 0 {
			t.Fatal("GET /billing did not reach the store, so its failure proves nothing")
		}
		if res.status != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", res.status)
		}
		if !strings.Contains(res.text(), "We could not complete this request. Nothing was lost; please try again in a moment.") {
			t.Errorf("no generic message in:\n%s", res.text())
		}
		for _, internal := range []string{"emulated", "InternalServerError", "internal_server", "billing error", "read account", "dynamodb", "BatchGetItem", "operation error"} {
			if strings.Contains(strings.ToLower(res.body), strings.ToLower(internal)) {
				t.Errorf("the page shows internal text %q", internal)
			}
		}
		if !strings.Contains(e.log.String(), "internal error") {
			t.Error("the internal error was not logged")
		}
		if res := b.get("/billing"); res.status != http.StatusOK {
			t.Errorf("once the store recovers, GET /billing: status %d, want 200", res.status)
		}
	})

	t.Run("an unknown path gives the 404 page", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		signedIn := e.signIn("lost", "you@lost.test", "viewer")
		for _, c := range []struct {
			name string
			b    *browser
		}{{"signed in", signedIn}, {"anonymous", e.browser()}} {
			for _, path := range []string{"/billing/nope", "/nowhere", "/billing/balance-history/extra"} {
				res := c.b.get(path)
				if res.status != http.StatusNotFound {
					t.Errorf("%s GET %s: status %d, want 404", c.name, path, res.status)
				}
				if text := res.text(); !strings.Contains(text, "Page not found") || !strings.Contains(text, "There is no page at this address.") {
					t.Errorf("%s GET %s: not the 404 page:\n%s", c.name, path, text)
				}
			}
		}
	})

	t.Run("HEAD of a page gives 200 and no body", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		b := e.signIn("heads", "you@heads.test", "viewer")
		for _, path := range []string{"/billing", "/billing/balance-history", "/billing/balance-history.csv", "/billing/tax"} {
			res := b.do(http.MethodHead, path, nil)
			if res.status != http.StatusOK || res.body != "" {
				t.Errorf("HEAD %s: status %d, body %q; want 200 and empty", path, res.status, res.body)
			}
		}
		// net/http drops a HEAD body on the wire, but the Lambda adapter
		// passes on whatever the handler writes: ask the handler itself.
		for _, path := range []string{"/billing", "/billing/balance-history.csv", "/nowhere"} {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodHead, path, nil)
			for _, c := range b.cookies() {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Body.Len() != 0 {
				t.Errorf("the handler wrote a body of %d bytes for HEAD %s", rec.Body.Len(), path)
			}
		}
		if res := e.browser().do(http.MethodHead, "/billing", nil); res.status != http.StatusSeeOther {
			t.Errorf("anonymous HEAD /billing: status %d, want 303", res.status)
		}
	})
}
