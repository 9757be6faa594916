package notify_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/acme/billing/shared/events"
)

// urlPattern finds absolute URLs in an email's text.
var urlPattern = regexp.MustCompile(`https?://\S+`)

func TestEmailLinks(t *testing.T) {
	const public = "https://billing.example.com"

	t.Run("every link in an email starts with PUBLIC_URL", func(t *testing.T) {
		e := newEnv(t)
		e.notifier.WithPublicURL(public + "/")
		failed := budgetReached("acme", start)
		failed.ID, failed.Type = "acme:recharge-failed", "balance.recharge_failed"
		for _, d := range []events.Detail{budgetReached("acme", start), failed} {
			if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
				t.Fatal(err)
			}
		}
		sent := e.emails()
		if len(sent) != 2 {
			t.Fatalf("%d emails, want 2", len(sent))
		}
		for _, m := range sent {
			links := urlPattern.FindAllString(m.Text, -1)
			if !strings.Contains(m.Text, public+"/billing/spend-management\n") {
				t.Errorf("%q has no link to Spend Management:\n%s", m.Subject, m.Text)
			}
			for _, l := range links {
				if !strings.HasPrefix(l, public+"/billing") || strings.Contains(strings.TrimPrefix(l, public), "//") {
					t.Errorf("%q links to %s, not a page under %s", m.Subject, l, public)
				}
			}
		}
		if !strings.Contains(sent[0].Text+sent[1].Text, public+"/billing/payment-methods\n") {
			t.Error("the recharge-failed email does not link to Payment Methods")
		}
	})

	t.Run("without PUBLIC_URL an email names the pages and links nowhere", func(t *testing.T) {
		e := newEnv(t)
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatal(err)
		}
		for _, m := range e.emails() {
			if l := urlPattern.FindString(m.Text); l != "" {
				t.Errorf("%q links to %s", m.Subject, l)
			}
		}
	})
}
