// Package authtest signs members in for the tests of the functions: the
// functions refuse a session cookie whose session is not recorded in their
// table, so a test records it there first, as the sign-in does.
package authtest

import (
	"net/http/httptest"
	"testing"

	"github.com/acme/billing/shared/auth"
)

// Cookie signs s in with key, recording the session in records (the table
// the functions under test read, usually a *store.Store), and returns the
// value of its session cookie.
func Cookie(tb testing.TB, key []byte, records auth.Records, s auth.Session) string {
	tb.Helper()
	sessions, err := auth.NewSessions(key, true, nil)
	if err != nil {
		tb.Fatal(err)
	}
	sessions.UseRecords(records)
	rec := httptest.NewRecorder()
	if err := sessions.SignIn(tb.Context(), rec, s); err != nil {
		tb.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.CookieName {
			return c.Value
		}
	}
	tb.Fatalf("no %s cookie in %v", auth.CookieName, rec.Result().Cookies())
	return ""
}
