package notify_test

import (
	"testing"

	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
)

// TestSpendManagementOff holds the notifier to the Spend Management page's
// words: with the switch off, no spend notification goes out and nothing
// is posted to the webhook; auto-recharge and invoice payment problems
// are still emailed to the billing email.
func TestSpendManagementOff(t *testing.T) {
	if !notify.SentWhileOff(notify.TypeInvoicePastDue) {
		t.Error("the past-due notice is not emailed while Spend Management is off, as its page says it is")
	}
	for _, tc := range []struct {
		typ       string
		wantEmail bool
	}{
		{notify.TypeSpendThreshold, false},
		{notify.TypeSpendBudget, false},
		{notify.TypeRechargeFailed, true},
		{notify.TypeRechargeActionRequired, true},
		{notify.TypeInvoiceActionRequired, true},
	} {
		d := events.Detail{ID: "acme:2026-11-27:" + tc.typ, Type: tc.typ, OrgID: "acme", Day: "2026-11-27", OccurredAt: start,
			Threshold: money.Dollars(5), UsedToday: money.Dollars(6), Remaining: money.Dollars(4)}

		t.Run(tc.typ+" with the switch off", func(t *testing.T) {
			e := newEnv(t)
			rcv := newReceiver(t, e.clock)
			e.setWebhook("acme", rcv.srv.URL)
			e.setSpend("acme", false)
			if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
				t.Fatal(err)
			}
			if n := len(rcv.requests()); n != 0 {
				t.Errorf("%d webhook requests, want none while Spend Management is off", n)
			}
			sent := e.emails()
			if got := len(sent) == 1 && sent[0].To == "billing@acme.test"; got != tc.wantEmail {
				t.Errorf("emails %+v; want an email to the billing email: %v", sent, tc.wantEmail)
			}
			if got := notify.SentWhileOff(tc.typ); got != tc.wantEmail {
				t.Errorf("SentWhileOff(%q) = %v, want %v", tc.typ, got, tc.wantEmail)
			}
			for _, del := range e.deliveries("acme") {
				if del.Channel == notify.ChannelWebhook {
					t.Errorf("a webhook delivery is recorded: %+v", del)
				}
			}
		})

		t.Run(tc.typ+" with the switch on goes to the email and the webhook", func(t *testing.T) {
			e := newEnv(t)
			rcv := newReceiver(t, e.clock)
			e.setWebhook("acme", rcv.srv.URL)
			if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
				t.Fatal(err)
			}
			if n := len(rcv.requests()); n != 1 {
				t.Errorf("%d webhook requests, want 1", n)
			}
			if n := len(e.emails()); n != 1 {
				t.Errorf("%d emails, want 1", n)
			}
		})
	}
}
