package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
)

// Cards are the demo's saved cards on the sandbox, the default first: the
// Visa 4242 its top-ups were paid with, and a Mastercard 4444. Their
// expiry is this many years after the seed's year, in month ExpMonth.
var Cards = []struct {
	Number   string
	ExpMonth int
	Years    int
}{
	{"4242 4242 4242 4242", 12, 3},
	{"5555 5555 5555 4444", 8, 2},
}

// CardName is the name on the demo's cards.
const CardName = "Jane Cooper"

// TaxRegistrations are the demo's tax registrations, one of each status
// Stripe reports.
var TaxRegistrations = []struct {
	payments.TaxIDInput
	Status payments.TaxIDStatus
}{
	{payments.TaxIDInput{Country: "DE", Type: "eu_vat", Value: "DE987654321"}, payments.TaxIDVerified},
	{payments.TaxIDInput{Country: "GB", Type: "gb_vat", Value: "GB987654321"}, payments.TaxIDPending},
	{payments.TaxIDInput{Country: "US", Type: "us_ein", Value: "98-7654321"}, payments.TaxIDUnverified},
	{payments.TaxIDInput{Country: "AU", Type: "au_abn", Value: "98765432109"}, payments.TaxIDUnavailable},
}

// Amounts of the local demo's close: the invoice is left with about
// closeDue due (never less than invoicing.MinimumCharge), and the top-up
// after the close is afterClose.
var (
	closeDue   = money.Dollars(20)
	afterClose = money.Dollars(250)
)

// LocalPlanAt returns the history of the local server's demo relative to
// now: PlanAt's, but with top-ups that leave the cycle close with an
// amount due. Before the close the trial credits and at most one top-up
// (a multiple of $5, 38 days ago) leave $20–$25 of the usage invoiced due
// (at least $8 when the usage before the close is under $35); the $250
// top-up comes after the close, so the credits last beyond today.
func LocalPlanAt(now time.Time) Plan {
	now = now.UTC()
	p := PlanAt(now)
	topUp := p.usageBefore(p.Close, now) - p.Org.TrialCredits - closeDue
	topUp -= topUp % money.Dollars(5)
	p.Transactions = nil
	if topUp >= payments.MinTopUp {
		p.Transactions = append(p.Transactions, transaction(1, topUp, now.AddDate(0, 0, -38)))
	}
	p.Transactions = append(p.Transactions, transaction(2, afterClose, p.Close.Add(now.Sub(p.Close)/2)))
	return p
}

// transaction is the demo's n-th card top-up.
func transaction(n int, amount money.Money, at time.Time) billing.NewTransaction {
	id := fmt.Sprintf("pi_3QDemoTopUp%04d", n)
	return billing.NewTransaction{Description: payments.PaymentDescription(id, payments.PurposeAddCredits), Amount: amount, Created: at, Key: id}
}

// SeedLocal seeds the local server's demo, so that every table of the
// section has rows on first run: on the sandbox, LocalPlanAt's history
// with an open invoice (sent, due on Plan.DueDate, Pay now works), the
// Cards and the TaxRegistrations; with any other payment provider, Seed's
// history alone. It does nothing and returns false when the organisation
// already exists.
func SeedLocal(ctx context.Context, s *store.Store, pay *payments.Service, inv *invoicing.Service, now time.Time) (bool, error) {
	sb, ok := pay.Provider().(*sandbox.Provider)
	if !ok {
		return Seed(ctx, s, now)
	}
	return seed(ctx, s, LocalPlanAt(now), now, &sandboxSeed{provider: sb, payments: pay, invoicing: inv})
}

// sandboxSeed puts the demo's customer, tax registrations, cards and open
// invoice on the sandbox.
type sandboxSeed struct {
	provider  *sandbox.Provider
	payments  *payments.Service
	invoicing *invoicing.Service
}

// taxIDs creates the organisation's customer with the TaxRegistrations.
func (sb *sandboxSeed) taxIDs(ctx context.Context) error {
	customer, err := sb.payments.Customer(ctx, OrgID)
	if err != nil {
		return err
	}
	for _, r := range TaxRegistrations {
		t, err := sb.provider.CreateTaxID(ctx, customer, r.TaxIDInput)
		if err != nil {
			return fmt.Errorf("tax registration %s: %w", r.Value, err)
		}
		if _, err := sb.provider.SetTaxIDStatus(ctx, customer, t.ID, r.Status); err != nil {
			return fmt.Errorf("tax registration %s: %w", r.Value, err)
		}
	}
	return nil
}

// cards saves the Cards, the first as the default.
func (sb *sandboxSeed) cards(ctx context.Context, now time.Time) error {
	customer, err := sb.payments.Customer(ctx, OrgID)
	if err != nil {
		return err
	}
	for _, c := range Cards {
		card := sandbox.NewCard{Number: c.Number, ExpMonth: c.ExpMonth, ExpYear: now.Year() + c.Years, CVC: "123", Name: CardName}
		if _, err := sb.provider.AddCard(ctx, customer, card); err != nil {
			return fmt.Errorf("card %s: %w", c.Number, err)
		}
	}
	return nil
}
