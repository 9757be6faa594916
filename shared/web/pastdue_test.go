package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
)

// TestPastDue proves invariant 12 end to end: an invoice unpaid past its
// due date plus the grace period suspends Overage Protection, in the
// allowance and on the Overview, until it is paid.
func TestPastDue(t *testing.T) {
	s := newSpendE2E(t, lateInMonth)
	admin := s.signIn("globex", "you@globex.test", "admin") // $10 of trial credits, a $25 line
	if err := s.store.AddUsage(t.Context(), "globex", lateInMonth, money.MustParse("30.123456")); err != nil {
		t.Fatal(err)
	}
	admin.closeCycle(t) // $10 applied, $20.12 due in 14 days, no card to charge
	inv := s.onlyInvoice(t, "globex")
	if inv.Due != money.MustParse("20.12") || inv.DueDate.IsZero() {
		t.Fatalf("invoice %+v, want $20.12 due", inv)
	}
	// The sub-cent remainder the invoice carried stays in Usage This Period.
	line := (money.Dollars(25) - inv.Carried).String()
	overview := func(t *testing.T) string {
		t.Helper()
		res := admin.get("/billing")
		if res.status != http.StatusOK {
			t.Fatalf("GET /billing: %d", res.status)
		}
		return res.body
	}

	t.Run("while the invoice is open, the Overview shows what is due, when, and Pay now; the line still counts", func(t *testing.T) {
		banner, _ := element(overview(t), "unpaid-banner")
		if want := "$20.12 is due on " + dateOf(inv.DueDate) + " . Pay now"; banner != want {
			t.Errorf("banner %q, want %q", banner, want)
		}
		if a := s.allowance(t, "globex"); !a.Allowed || a.Available != line {
			t.Errorf("allowance %+v, want the $25 line available", a)
		}
	})

	if want := inv.DueDate.Add(billing.DefaultPastDueGrace); !inv.PastDueAt.Equal(want) {
		t.Fatalf("the invoice is past due from %v, want its due date + the default grace of 7 days (%v)", inv.PastDueAt, want)
	}
	admin.redirected(t, admin.post(t, "/billing/notifications", url.Values{"email": {"ap@globex.test"}}), "/billing/notifications", false)
	rcv := newHookReceiver(t, s.clock.Now)
	rcv.setSecret(admin.saveWebhook(t, billing.SpendSettings{Enabled: true}, rcv.url()))
	pastDueNotices := func(t *testing.T) (emails []notify.SentEmail, hooks []hookRequest) {
		t.Helper()
		for _, m := range s.emails(t) {
			if m.Subject == "Your invoice is past due: Overage Protection is paused" {
				emails = append(emails, m)
			}
		}
		for _, r := range rcv.requests() {
			if r.detail(t)["type"] == notify.TypeInvoicePastDue {
				hooks = append(hooks, r)
			}
		}
		return emails, hooks
	}

	t.Run("a second before due date + grace, the line still counts and nobody is told", func(t *testing.T) {
		s.clock.Set(inv.PastDueAt.Add(-time.Second))
		if a := s.allowance(t, "globex"); !a.Allowed || a.Available != line {
			t.Errorf("allowance %+v, want the $25 line available", a)
		}
		s.runJob(t, "notifier")
		if emails, hooks := pastDueNotices(t); len(emails)+len(hooks) != 0 {
			t.Errorf("told of a past-due invoice before its grace ended: %d emails, %d webhooks", len(emails), len(hooks))
		}
	})

	t.Run("at due date + grace the organisation is past due: the line counts as $0 and the allowance says payment_overdue", func(t *testing.T) {
		s.clock.Set(inv.PastDueAt)
		want := allowanceAnswer{Allowed: false, Available: "0.00", Reason: billing.ReasonPaymentOverdue}
		if a := s.allowance(t, "globex"); a != want {
			t.Errorf("allowance %+v, want %+v", a, want)
		}
		body := overview(t)
		if banner, _ := element(body, "unpaid-banner"); !strings.HasPrefix(banner, "Your invoice is past due: $20.12 was due on "+dateOf(inv.DueDate)) {
			t.Errorf("banner %q, want it to say the invoice is past due", banner)
		}
		if got, _ := element(body, "available-to-use"); got != "$0.00" {
			t.Errorf("Available to Use %q, want $0.00", got)
		}
		if _, ok := element(body, "overage-suspended"); !ok {
			t.Error("Overage Protection is not marked suspended")
		}
	})

	t.Run("the billing email and the webhook are told once, however often the notifier runs", func(t *testing.T) {
		for range 3 {
			s.runJob(t, "notifier")
			s.clock.Advance(5 * time.Minute)
		}
		emails, hooks := pastDueNotices(t)
		if len(emails) != 1 || len(hooks) != 1 {
			t.Fatalf("%d past-due emails and %d webhooks, want one of each", len(emails), len(hooks))
		}
		if m := emails[0]; m.To != "ap@globex.test" || !strings.Contains(m.Text, "Your unpaid invoices ($20.12, the oldest due on "+billing.Day(inv.DueDate)+") are past due") {
			t.Errorf("email to %s:\n%s\nwant the past-due notice to ap@globex.test naming $20.12 and the due date", m.To, m.Text)
		}
		d := hooks[0].detail(t)
		if d["org_id"] != "globex" || d["amount_due"] != "20.12" || d["due_date"] != billing.Day(inv.DueDate) {
			t.Errorf("webhook %s, want invoice.past_due for globex with amount_due 20.12 and the due date", hooks[0].body)
		}
	})

	t.Run("paying the invoice lifts it at once", func(t *testing.T) {
		admin.addCard(t, "Jenny Rosen", "4242424242424242", "12", expYear)
		admin.payNow(t, inv.ID)
		if a := s.allowance(t, "globex"); !a.Allowed || a.Available != line {
			t.Errorf("allowance %+v, want the $25 line back", a)
		}
		if _, ok := element(overview(t), "unpaid-banner"); ok {
			t.Error("the Overview still shows money owed")
		}
	})
}
