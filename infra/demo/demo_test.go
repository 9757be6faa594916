package demo_test

import (
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
)

// TestLocalPlanAt checks the local demo's money on every day of the next
// year, at several hours: its close always leaves an invoice with an amount
// due, not yet due, and its credits last beyond today.
func TestLocalPlanAt(t *testing.T) {
	start := time.Now().UTC()
	for d := range 366 {
		for _, h := range []time.Duration{0, 30 * time.Second, 7 * time.Hour, 23*time.Hour + 59*time.Minute} {
			now := start.Truncate(24*time.Hour).AddDate(0, 0, d).Add(h)
			p := demo.LocalPlanAt(now)
			closeDay := billing.Day(p.Close)
			var before, after money.Money
			for day, u := range p.Usage {
				if day < closeDay {
					before += u
				} else {
					after += u
				}
			}
			ledger, credited := p.Org.TrialCredits, p.Org.TrialCredits
			for _, tx := range p.Transactions {
				if tx.Amount < money.Dollars(5) || tx.Created.After(now) || tx.Created.Before(p.Org.Org.Created) {
					t.Fatalf("at %s: top-up %s of %s at %s", now, tx.Key, tx.Amount, tx.Created)
				}
				credited += tx.Amount
				if tx.Created.Before(p.Close) {
					ledger += tx.Amount
				}
			}
			f := invoicing.Compute(before, ledger)
			if f.Due < invoicing.MinimumCharge || f.Due > money.Dollars(25) {
				t.Errorf("at %s: the close leaves %s due, want an amount up to $25 (usage %s, credit %s)", now, f.Due, before, ledger)
			}
			if !p.DueDate.After(now.Add(24*time.Hour)) || p.DueDate.After(now.AddDate(0, 0, invoicing.DueDays)) {
				t.Errorf("at %s: the invoice is due %s, want within %d days and not before tomorrow", now, p.DueDate, invoicing.DueDays)
			}
			if remaining := credited - f.Applied - after - f.Carried; remaining <= 0 {
				t.Errorf("at %s: %s remains after the close, want credits left for the forecast", now, remaining)
			}
		}
	}
}
