package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
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

	t.Run("a second before due date + grace, the line still counts", func(t *testing.T) {
		s.clock.Set(inv.DueDate.Add(billing.PastDueGrace - time.Second))
		if a := s.allowance(t, "globex"); !a.Allowed || a.Available != line {
			t.Errorf("allowance %+v, want the $25 line available", a)
		}
	})

	t.Run("at due date + grace the organisation is past due: the line counts as $0 and the allowance says payment_overdue", func(t *testing.T) {
		s.clock.Set(inv.DueDate.Add(billing.PastDueGrace))
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

	t.Run("paying the invoice lifts it at once", func(t *testing.T) {
		admin.addCard(t, "Jenny Rosen", "4242424242424242", "12", expYear)
		page := admin.invoicesPage(t)
		m := payTokenPattern.FindStringSubmatch(page.body)
		card := regexp.MustCompile(`<option value="([^"]+)" selected>Visa •••• 4242`).FindStringSubmatch(page.body)
		if m == nil || card == nil {
			t.Fatalf("no Pay now form with the card:\n%s", page.text())
		}
		admin.redirected(t, admin.post(t, "/billing/invoices/"+inv.ID+"/pay", map[string][]string{"token": {m[2]}, "card": {card[1]}}), "/billing/invoices", false)
		if a := s.allowance(t, "globex"); !a.Allowed || a.Available != line {
			t.Errorf("allowance %+v, want the $25 line back", a)
		}
		if _, ok := element(overview(t), "unpaid-banner"); ok {
			t.Error("the Overview still shows money owed")
		}
	})
}
