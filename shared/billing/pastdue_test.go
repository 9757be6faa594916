package billing_test

import (
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// A pure test: the clock is an argument.
func TestPastDue(t *testing.T) {
	due := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	t.Run("an organisation is past due from the time its first unpaid invoice's grace ends, not a nanosecond earlier", func(t *testing.T) {
		from := due.Add(billing.DefaultPastDueGrace)
		a := billing.Account{OldestDue: due, PastDueFrom: from}
		if a.PastDueAt(from.Add(-time.Nanosecond)) {
			t.Error("past due before the grace period ends")
		}
		if !a.PastDueAt(from) {
			t.Error("not past due when the grace period ends")
		}
		if (billing.Account{}).PastDueAt(due.AddDate(1, 0, 0)) {
			t.Error("past due with no unpaid invoice")
		}
	})

	cases := []struct {
		name      string
		acct      billing.Account
		available string
		reason    string
		suspended bool
	}{
		{"past due with credits left: the credits stay usable, the line does not",
			billing.Account{Ledger: money.Dollars(40), UsagePeriod: money.Dollars(10), OverageLimit: money.Dollars(25), PastDue: true}, "30", "", true},
		{"past due with credits used up: nothing, because of the overdue invoice",
			billing.Account{Ledger: money.Dollars(10), UsagePeriod: money.Dollars(12), OverageLimit: money.Dollars(25), PastDue: true}, "0", billing.ReasonPaymentOverdue, true},
		{"past due beyond the line too: insufficient credits",
			billing.Account{Ledger: money.Dollars(10), UsagePeriod: money.Dollars(40), OverageLimit: money.Dollars(25), PastDue: true}, "0", billing.ReasonInsufficientCredits, true},
		{"past due with no line: nothing is suspended",
			billing.Account{Ledger: money.Dollars(10), UsagePeriod: money.Dollars(12), PastDue: true}, "0", billing.ReasonInsufficientCredits, false},
		{"not past due: the line counts",
			billing.Account{Ledger: money.Dollars(10), UsagePeriod: money.Dollars(12), OverageLimit: money.Dollars(25)}, "23", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.acct.Figures()
			if f.Available != money.MustParse(c.available) || f.Reason != c.reason || f.OverageSuspended != c.suspended {
				t.Errorf("available %v, reason %q, suspended %v; want %s, %q, %v", f.Available, f.Reason, f.OverageSuspended, c.available, c.reason, c.suspended)
			}
			if f.OverageLimit != max(c.acct.OverageLimit, 0) {
				t.Errorf("Overage Protection shows %v, want the line %v", f.OverageLimit, c.acct.OverageLimit)
			}
		})
	}
}
