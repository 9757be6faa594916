package web_test

import (
	"strings"
	"testing"
)

// TestTaxRegistrationsAreAudited: adding, verifying and deleting a tax
// registration each leave an entry in Recent changes, with who did it.
func TestTaxRegistrationsAreAudited(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("globex", "ann@globex.test", "admin")
	row := admin.addTaxID(t, "DE", "eu_vat", "DE260543043")
	admin.redirected(t, admin.post(t, "/billing/tax/"+row.id+"/verify", nil), "/billing/tax", false)
	admin.redirected(t, admin.post(t, "/billing/tax/"+row.id+"/delete", nil), "/billing/tax", false)
	var got []string
	for _, c := range e.changes(t, "globex") {
		if c.Page == "Tax Settings" && c.Actor == "ann@globex.test" {
			got = append(got, c.Summary())
		}
	}
	want := []string{"marked verified (sandbox)", "deleted", "added"}
	if len(got) != 3 {
		t.Fatalf("tax changes %q, want added, verified and deleted", got)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, "DE260543043 "+w)
		}
		if !found {
			t.Errorf("no change %q in %q", w, got)
		}
	}
}
