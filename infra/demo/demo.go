// Package demo seeds the demo organisation "acme" with a realistic history
// relative to a given time: free trial credits, two card top-ups, usage on
// each of the last 40 days, one monthly cycle close whose invoice was
// settled by applied credit, an invoice address, a billing email and Spend
// Management on (Seed, which tests build on). The local server seeds more
// (SeedLocal): on the sandbox, two saved cards, a tax registration of each
// status and a close that left an open invoice, so every table has rows.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// OrgID is the demo organisation's id.
const OrgID = "acme"

// Plan is the demo history for a given time: what Seed writes.
type Plan struct {
	Org   store.NewOrg
	Spend billing.SpendSettings
	// Transactions are the card top-ups (Key is the payment id), excluding
	// the trial grant and the applied credit.
	Transactions []billing.NewTransaction
	// Usage is the usage of each of the last 40 UTC days, keyed by day,
	// each recorded at noon (or at now, for today).
	Usage map[string]money.Money
	// Close is when the cycle closed: the start of now's billing period.
	// Usage before it was invoiced, with credit applied.
	Close time.Time
	// DueDate is when the invoice of the close is due, should the credit
	// not cover it: DueDays after the close, or DueDays from now when
	// that has passed (the demo never starts overdue).
	DueDate time.Time
}

// UsageDays is how many days of usage the demo has, today included.
const UsageDays = 40

// PlanAt returns the demo history relative to now.
func PlanAt(now time.Time) Plan {
	now = now.UTC()
	day := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	p := Plan{
		Org: store.NewOrg{
			Org:          billing.Org{ID: OrgID, Name: "Acme Inc.", Created: day(45)},
			TrialCredits: money.Dollars(10),
			OverageLimit: money.Dollars(50),
			Profile: billing.Profile{
				Address: billing.Address{
					CompanyName: "Acme Inc.", Address1: "1 Market Street", Address2: "Suite 300", City: "San Francisco",
					PostalCode: "94105", Region: "CA", Country: "US", PONumber: "PO-2026-0042",
				},
				BillingEmail: "billing@acme.test",
			},
		},
		Spend: billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(25), EmailThreshold: money.Dollars(15)},
		Transactions: []billing.NewTransaction{
			transaction(1, money.Dollars(100), day(38)),
			transaction(2, money.Dollars(250), day(12)),
		},
		Usage: map[string]money.Money{},
		Close: billing.PeriodStart(now),
	}
	p.DueDate = p.Close.AddDate(0, 0, invoicing.DueDays)
	if !p.DueDate.After(now.Add(24 * time.Hour)) {
		p.DueDate = now.AddDate(0, 0, invoicing.DueDays)
	}
	for n := range UsageDays {
		// Between $2 and $7 a day with micro-dollar detail; today so far is smaller.
		u := money.Money(2_000_000 + (int64(n)+1)*1_234_567%5_000_000)
		if n == 0 {
			u /= 3
		}
		p.Usage[billing.Day(day(n))] = u
	}
	return p
}

// usageTime is when a day's usage is recorded.
func (p Plan) usageTime(day string, now time.Time) time.Time {
	t, _ := time.Parse(billing.DayLayout, day)
	t = t.Add(12 * time.Hour)
	if t.After(now) {
		return now
	}
	return t
}

// usageBefore is the plan's usage recorded before t.
func (p Plan) usageBefore(t, now time.Time) money.Money {
	var sum money.Money
	for day, u := range p.Usage {
		if p.usageTime(day, now).Before(t) {
			sum += u
		}
	}
	return sum
}

// Seed writes the demo history relative to now. It does nothing and returns
// false when the organisation already exists.
func Seed(ctx context.Context, s *store.Store, now time.Time) (bool, error) {
	return seed(ctx, s, PlanAt(now), now, nil)
}

// seed writes the plan's history relative to now. With a sandbox it makes
// the organisation's customer with its tax registrations before the
// history, so that the documents issued record them, and opens an invoice
// left with an amount due there. It does nothing and returns false when
// the organisation already exists.
func seed(ctx context.Context, s *store.Store, p Plan, now time.Time, sb *sandboxSeed) (bool, error) {
	err := s.CreateOrg(ctx, p.Org)
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("seed %s: %w", OrgID, err)
	}
	if err := s.SetSpendSettings(ctx, OrgID, p.Spend); err != nil {
		return false, fmt.Errorf("seed %s: %w", OrgID, err)
	}
	if sb != nil {
		if err := sb.taxIDs(ctx); err != nil {
			return false, fmt.Errorf("seed %s: %w", OrgID, err)
		}
	}
	ledgerAtClose := p.Org.TrialCredits
	for _, tx := range p.Transactions {
		// Card top-ups, credited as paid orders like real ones.
		_, err := s.CreditPayment(ctx, OrgID, store.PaymentCredit{
			PaymentID: tx.Key, Amount: tx.Amount, Description: tx.Description, Method: "Visa •••• 4242", Paid: tx.Created,
		})
		if err != nil {
			return false, fmt.Errorf("seed %s: %w", OrgID, err)
		}
		if tx.Created.Before(p.Close) {
			ledgerAtClose += tx.Amount
		}
	}
	// Usage before the cycle close, then the close, then the rest.
	var invoiced money.Money
	for day, u := range p.Usage {
		if at := p.usageTime(day, now); at.Before(p.Close) {
			if err := s.AddUsage(ctx, OrgID, at, u); err != nil {
				return false, fmt.Errorf("seed %s: %w", OrgID, err)
			}
			invoiced += u
		}
	}
	// The cycle close, as the monthly job makes it: an invoice settled by
	// the credit applied (the demo's balance covers it).
	acct, err := s.Account(ctx, OrgID, p.Close)
	if err != nil {
		return false, fmt.Errorf("seed %s: %w", OrgID, err)
	}
	f := invoicing.Compute(invoiced, ledgerAtClose)
	inv := store.Invoice{
		OrgID: OrgID, Period: invoicing.PreviousPeriod(p.Close), Created: p.Close,
		Usage: f.Invoiced, Applied: f.Applied, Due: f.Due, Carried: f.Carried,
		BillTo: p.Org.Profile.Address, BillingEmail: p.Org.Profile.BillingEmail,
		Status: store.InvoiceOpen,
	}
	if f.Due == 0 {
		inv.Status, inv.PaidAt, inv.PaidWith = store.InvoicePaid, p.Close, invoicing.PaidWithCredit
	} else {
		inv.DueDate = p.DueDate
	}
	if _, _, err := s.CloseCycle(ctx, inv, acct.Ledger); err != nil {
		return false, fmt.Errorf("seed %s: %w", OrgID, err)
	}
	if sb != nil {
		// Sent to be paid by its due date, as the monthly job sends an
		// invoice when there is no card to charge; the cards come after.
		if _, err := sb.invoicing.Close(ctx, OrgID, inv.Period); err != nil {
			return false, fmt.Errorf("seed %s: %w", OrgID, err)
		}
		if err := sb.cards(ctx, now); err != nil {
			return false, fmt.Errorf("seed %s: %w", OrgID, err)
		}
	}
	for day, u := range p.Usage {
		if at := p.usageTime(day, now); !at.Before(p.Close) {
			if err := s.AddUsage(ctx, OrgID, at, u); err != nil {
				return false, fmt.Errorf("seed %s: %w", OrgID, err)
			}
		}
	}
	// What the daily close would have done: days before yesterday move out
	// of the account item.
	if err := s.CloseDays(ctx, OrgID, now.AddDate(0, 0, -1)); err != nil {
		return false, fmt.Errorf("seed %s: %w", OrgID, err)
	}
	return true, nil
}
