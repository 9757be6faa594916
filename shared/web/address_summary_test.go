package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/acme/billing/infra/demo"
)

// TestAddressAndEmailErrorSummaries: the Invoice Address and Invoice
// Notifications forms, like every form, show each field's error at once
// with a summary at the top that takes focus and links to each field, and
// change nothing.
func TestAddressAndEmailErrorSummaries(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
	before := e.profile(t, demo.OrgID)
	errorSummaryLink := regexp.MustCompile(`<a href="#([a-z_0-9]+)">`)
	focused := regexp.MustCompile(`<div class="error-summary" id="error-summary" role="alert" tabindex="-1" autofocus`)
	for _, c := range []struct {
		path   string
		form   url.Values
		fields []string
	}{
		{addressPath, url.Values{"company_name": {""}, "address1": {"1 Market Street"}, "city": {""}, "postal_code": {"94105"}, "country": {"XX"}}, []string{"company_name", "city", "country"}},
		{notificationsPath, url.Values{"email": {"not an email"}}, []string{"email"}},
	} {
		res := admin.post(t, c.path, c.form)
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("POST %s: %d, want 422", c.path, res.status)
		}
		var linked []string
		for _, m := range errorSummaryLink.FindAllStringSubmatch(res.body, -1) {
			linked = append(linked, m[1])
		}
		if strings.Join(linked, ",") != strings.Join(c.fields, ",") {
			t.Errorf("POST %s: the summary links %v, want %v", c.path, linked, c.fields)
		}
		for _, f := range c.fields {
			if msg, _ := element(res.body, f+"-error"); msg == "" {
				t.Errorf("POST %s: no message at %s", c.path, f)
			}
		}
		if !focused.MatchString(res.body) {
			t.Errorf("POST %s: the summary is not an alert that takes focus", c.path)
		}
	}
	if after := e.profile(t, demo.OrgID); after.Address != before.Address || after.BillingEmail != before.BillingEmail {
		t.Errorf("the profile changed: %+v → %+v", before, after)
	}
}
