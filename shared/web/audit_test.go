package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/acme/billing/infra/demo"
)

// TestAuditTrail makes one change of each kind, by two admins, and reads
// the trail back from the store and from the Overview.
func TestAuditTrail(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	ann := e.signIn(demo.OrgID, "ann@acme.test", "admin")
	bob := e.signIn(demo.OrgID, "bob@acme.test", "admin")

	// Each step is a change through the pages and the entry it must leave.
	steps := []struct {
		name  string
		do    func(t *testing.T)
		actor string
		page  string
		want  string
	}{
		{"the invoice address", func(t *testing.T) {
			ann.redirected(t, ann.post(t, addressPath, berlin()), addressPath, false)
		}, "ann@acme.test", "Invoice Address",
			`Company Name: "Acme Inc." → "Acme Europe GmbH"; Address 1: "1 Market Street" → "Unter den Linden 1"; Address 2: "Suite 300" → "3. OG"; ` +
				`City: "San Francisco" → "Berlin"; Postal code: "94105" → "10117"; Region/Province: "CA" → "Berlin"; Country: "US" → "DE"; ` +
				`Purchase order (PO) number: "PO-2026-0042" → "PO-2027-0001"`},
		{"the billing email", func(t *testing.T) {
			bob.redirected(t, bob.post(t, notificationsPath, url.Values{"email": {"ap@acme.test"}}), notificationsPath, false)
		}, "bob@acme.test", "Invoice Notifications", `Billing email: "billing@acme.test" → "ap@acme.test"`},
		{"Spend Management's budget and webhook URL, whose path is never recorded", func(t *testing.T) {
			res := ann.post(t, "/billing/spend-management", url.Values{"enabled": {"on"}, "daily_budget": {"30"}, "email_threshold": {"15"},
				"webhook_url": {"https://127.0.0.1:8443/hooks/tok_secret123"}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("status %d:\n%s", res.status, res.text())
			}
		}, "ann@acme.test", "Spend Management",
			`Daily budget: "$25.00" → "$30.00"; Webhook URL: (empty) → "https://127.0.0.1:8443/…"; webhook signing secret created`},
		{"the webhook signing secret, rotated", func(t *testing.T) {
			if res := ann.post(t, "/billing/spend-management/rotate-secret", nil); res.status != http.StatusSeeOther {
				t.Fatalf("status %d:\n%s", res.status, res.text())
			}
		}, "ann@acme.test", "Spend Management", "webhook signing secret rotated"},
		{"Spend Management turned off", func(t *testing.T) {
			bob.redirected(t, bob.post(t, "/billing/spend-management", url.Values{"daily_budget": {"30"}, "email_threshold": {"15"},
				"webhook_url": {"https://127.0.0.1:8443/hooks/tok_other"}}), "/billing/spend-management", false)
		}, "bob@acme.test", "Spend Management", `Spend Management: "On" → "Off"; Webhook URL changed (https://127.0.0.1:8443/…)`},
		{"a card added", func(t *testing.T) {
			ann.addCard(t, "Ann", "4242 4242 4242 4242", "12", expYear)
		}, "ann@acme.test", "Payment Methods", "card Visa •••• 4242 added"},
		{"auto-recharge turned on", func(t *testing.T) {
			ann.redirected(t, ann.post(t, "/billing/auto-recharge", url.Values{"enabled": {"on"}, "threshold": {"10"}, "amount": {"50"}}),
				"/billing/auto-recharge", false)
		}, "ann@acme.test", "Auto Recharge", `Auto Recharge: "Off" → "On"; Threshold: (empty) → "$10.00"; Amount: (empty) → "$50.00"`},
		{"another card added", func(t *testing.T) {
			bob.addCard(t, "Bob", "5555 5555 5555 4444", "12", expYear)
		}, "bob@acme.test", "Payment Methods", "card Mastercard •••• 4444 added"},
		{"the default card changed", func(t *testing.T) {
			id := byLabel(t, bob.cards(t), "Mastercard •••• 4444").id
			bob.redirected(t, bob.post(t, "/billing/payment-methods/default", url.Values{"card": {id}}), "/billing/payment-methods", false)
		}, "bob@acme.test", "Payment Methods", "card Mastercard •••• 4444 set as default"},
		{"a card deleted", func(t *testing.T) {
			id := byLabel(t, bob.cards(t), "Visa •••• 4242").id
			bob.redirected(t, bob.post(t, "/billing/payment-methods/delete", url.Values{"card": {id}}), "/billing/payment-methods", false)
		}, "bob@acme.test", "Payment Methods", "card Visa •••• 4242 deleted"},
	}
	for i, s := range steps {
		t.Run("records who, when and what for "+s.name, func(t *testing.T) {
			s.do(t)
			got := e.changes(t, demo.OrgID)
			if len(got) != i+1 {
				t.Fatalf("%d entries after %d changes: %+v", len(got), i+1, got)
			}
			newest := got[0]
			if newest.Actor != s.actor || newest.Page != s.page || !newest.Time.Equal(lateInMonth) || newest.Summary() != s.want {
				t.Errorf("newest entry %s at %s by %s: %q\nwant %s at %s by %s: %q",
					newest.Page, newest.Time, newest.Actor, newest.Summary(), s.page, lateInMonth, s.actor, s.want)
			}
		})
	}

	t.Run("a save that changes nothing records nothing", func(t *testing.T) {
		before := len(e.changes(t, demo.OrgID))
		ann.redirected(t, ann.post(t, addressPath, berlin()), addressPath, false)
		ann.redirected(t, ann.post(t, notificationsPath, url.Values{"email": {"ap@acme.test"}}), notificationsPath, false)
		if after := len(e.changes(t, demo.OrgID)); after != before {
			t.Errorf("%d entries, want %d", after, before)
		}
	})

	t.Run("no entry holds a secret, a webhook path or a card number", func(t *testing.T) {
		for _, c := range e.changes(t, demo.OrgID) {
			for _, bad := range []string{"whsec_", "tok_", "4242 4242", "424242", "555555"} {
				if strings.Contains(c.Summary(), bad) {
					t.Errorf("entry %q contains %q", c.Summary(), bad)
				}
			}
		}
	})

	t.Run("the Overview lists the last 5, newest first, with when, who and what", func(t *testing.T) {
		res := ann.get("/billing")
		list, ok := element(res.body, "recent-changes-list")
		if !ok {
			t.Fatal("the Overview has no Recent changes list")
		}
		if !strings.Contains(res.body, ">Recent changes</h2>") {
			t.Error(`no "Recent changes" heading`)
		}
		all := e.changes(t, demo.OrgID)
		var last int
		for i, c := range all {
			row := minuteOf(lateInMonth) + " " + c.Actor + " " + c.Page + ": " + c.Summary()
			at := strings.Index(list, row)
			switch {
			case i < 5 && at < 0:
				t.Errorf("entry %d is not listed: %q\nin %q", i, row, list)
			case i < 5 && at < last:
				t.Errorf("entry %d is listed before a newer one", i)
			case i >= 5 && at >= 0:
				t.Errorf("entry %d (older than the last 5) is listed", i)
			}
			last = max(last, at)
		}
	})

	t.Run("the Overview still costs at most 2 DynamoDB requests", func(t *testing.T) {
		e.db.Reset()
		if res := ann.get("/billing"); res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		reqs := e.db.Requests()
		ops := make([]string, len(reqs))
		for i, r := range reqs {
			ops[i] = r.Op
		}
		if len(reqs) > 2 {
			t.Errorf("%d requests %v, want at most 2", len(reqs), ops)
		}
	})

	t.Run("another organisation's Overview lists none of acme's changes", func(t *testing.T) {
		other := e.signIn("globex", "you@globex.test", "admin")
		list, _ := element(other.get("/billing").body, "recent-changes-list")
		if list != "No settings have been changed yet." {
			t.Errorf("globex's recent changes: %q", list)
		}
	})

	t.Run("a viewer's refused change records nothing", func(t *testing.T) {
		before := len(e.changes(t, demo.OrgID))
		viewer := e.signIn(demo.OrgID, "viewer@acme.test", "viewer")
		viewer.post(t, addressPath, url.Values{"company_name": {"Viewer Inc."}})
		if after := len(e.changes(t, demo.OrgID)); after != before {
			t.Errorf("%d entries, want %d", after, before)
		}
	})
}
