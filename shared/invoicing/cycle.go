// Package invoicing closes billing cycles into invoices and collects them:
// at each close (monthly, the first day 00:00 UTC) Usage This Period is
// cut into an invoice atomically, credit is applied to it as the balance
// transaction "Applied credit balance to invoice", and what is left is the
// amount due, charged to the default card or listed under Payments Due
// until paid. It also lists the Invoices page and builds the invoice and
// receipt documents.
//
// The arithmetic of a close (Compute) is pure; the Service runs it on the
// store and the payment provider.
package invoicing

import (
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// MinimumCharge is the smallest amount due an invoice charges: Stripe's
// minimum charge in USD. A smaller amount due stays in Usage This Period
// and is invoiced with the next period.
const MinimumCharge = 50 * money.Cent

// DueDays is how long an invoice that is not charged automatically may
// stay unpaid: its due date is this many days after the invoice date.
const DueDays = 14

// Figures is the arithmetic of one cycle close. All amounts are
// micro-dollars and never negative; Invoiced = Applied + Due and
// Usage = Invoiced + Carried, exactly.
type Figures struct {
	// Usage is Usage This Period at the moment of the cut.
	Usage money.Money
	// Invoiced is the usage on the invoice, cut from Usage This Period.
	Invoiced money.Money
	// Applied is the credit applied: min(max(ledger, 0), Invoiced).
	Applied money.Money
	// Due is the amount due: whole cents, and either 0 or at least
	// MinimumCharge.
	Due money.Money
	// Carried stays in Usage This Period for the next invoice.
	Carried money.Money
}

// Compute returns the figures of closing a cycle with Usage This Period
// usage and ledger balance ledger. The rounding rule:
//
//   - credit is applied to the micro-dollar: min(max(ledger, 0), usage);
//   - the rest, usage − credit, is rounded DOWN to whole cents to give the
//     amount due, and the sub-cent remainder is not invoiced: it is
//     carried, staying in Usage This Period for the next invoice;
//   - an amount due below MinimumCharge is carried in full the same way,
//     and the invoice is settled by the credit alone.
//
// So nothing is lost or invented: every micro-dollar of usage is either on
// this invoice (as credit applied or amount due) or in the next period,
// and the invoice's usage line minus its credit is exactly its amount due.
// The usage and credit lines share their fraction of a cent, so their
// amounts rounded for display also subtract to the amount due. Usage of
// zero or less closes nothing.
func Compute(usage, ledger money.Money) Figures {
	if usage <= 0 {
		return Figures{Usage: usage, Carried: max(usage, 0)}
	}
	credit := min(max(ledger, 0), usage)
	rest := usage - credit
	carried := rest % money.Cent
	if rest-carried < MinimumCharge {
		carried = rest
	}
	return Figures{Usage: usage, Invoiced: usage - carried, Applied: credit, Due: rest - carried, Carried: carried}
}

// PeriodEnd returns the end of the billing period starting at period (the
// start of the next one).
func PeriodEnd(period time.Time) time.Time { return billing.PeriodStart(period).AddDate(0, 1, 0) }

// PreviousPeriod returns the start of the billing period that ended last
// before t: the period a close scheduled at t invoices.
func PreviousPeriod(t time.Time) time.Time { return billing.PeriodStart(t).AddDate(0, -1, 0) }

// NextClose returns the first cycle close after t: the next first of a
// month, 00:00 UTC.
func NextClose(t time.Time) time.Time { return PeriodEnd(t) }
