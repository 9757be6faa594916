package notify_test

import (
	"strings"
	"testing"

	"github.com/acme/billing/shared/notify"
)

// TestActionRequiredEmails checks the two notices of a payment the bank
// wants the customer to confirm: each emails the billing email once, with
// a link to the page that completes the payment.
func TestActionRequiredEmails(t *testing.T) {
	const public = "https://billing.example.com"
	for _, c := range []struct {
		typ, subject, link string
	}{
		{notify.TypeRechargeActionRequired, "Auto-recharge needs your confirmation", public + "/billing/auto-recharge\n"},
		{notify.TypeInvoiceActionRequired, "Your invoice payment needs your confirmation", public + "/billing/invoices\n"},
	} {
		t.Run(c.typ, func(t *testing.T) {
			e := newEnv(t)
			e.notifier.WithPublicURL(public)
			d := budgetReached("acme", start)
			d.ID, d.Type = "acme:"+strings.ReplaceAll(c.typ, ".", "-"), c.typ
			for range 2 {
				if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
					t.Fatal(err)
				}
			}
			sent := e.emails()
			if len(sent) != 1 || sent[0].Subject != c.subject || !strings.Contains(sent[0].Text, c.link) {
				t.Errorf("emails %+v, want one %q linking to %s", sent, c.subject, c.link)
			}
		})
	}
}
