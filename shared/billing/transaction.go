package billing

import (
	"time"
	"unicode/utf8"

	"github.com/acme/billing/shared/money"
)

// Descriptions of the balance transactions the system writes itself.
const (
	DescFreeTrial     = "Free Trial Credits"
	DescAppliedCredit = "Applied credit balance to invoice"
)

// Transaction is one row of the append-only balance history. Credits are
// positive, debits negative.
type Transaction struct {
	ID          string
	OrgID       string
	Description string
	Amount      money.Money
	Created     time.Time
}

// NewTransaction is a balance transaction to append.
type NewTransaction struct {
	Description string
	Amount      money.Money
	// Created is when it happened; the store's clock when zero.
	Created time.Time
	// Key, when set, makes the append idempotent: a second append with the
	// same key for the same organisation is refused with ECONFLICT and
	// changes nothing (e.g. a Stripe PaymentIntent id).
	Key string
}

// Validate returns an EINVALID error for an empty or over-long description
// or a zero amount.
func (t NewTransaction) Validate() error {
	if t.Description == "" || utf8.RuneCountInString(t.Description) > 200 {
		return FieldError("description", "Description must be 1–200 characters.")
	}
	if t.Amount == 0 {
		return FieldError("amount", "Amount must not be zero.")
	}
	if len(t.Key) > 200 {
		return FieldError("key", "Idempotency key must be at most 200 characters.")
	}
	return nil
}

// TransactionPage is one page of balance history, newest first. Next is
// the opaque cursor of the following page, or "" on the last page.
type TransactionPage struct {
	Items []Transaction
	Next  string
}
