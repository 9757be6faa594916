// Package payments is the port to the payment provider: cards saved on the
// organisation's customer, one-off and off-session card payments, and
// crypto checkouts. Two providers implement it: Stripe (stripe-go v76, in
// package stripeprovider) and the sandbox (package sandbox), the local
// default, which keeps its state in the billing table. Card numbers never
// reach our servers in Stripe mode; the sandbox accepts only Stripe's test
// numbers and stores only brand, last four digits, expiry and name.
package payments

import (
	"context"

	"github.com/acme/billing/shared/money"
)

// Card is a saved card of a customer.
type Card struct {
	ID       string // the provider's payment method id, pm_…
	Brand    string // visa, mastercard, amex, …
	Last4    string
	ExpMonth int
	ExpYear  int
	Name     string // name on card
	Default  bool
}

// Status of a payment.
type Status string

// Payment statuses, as Stripe's PaymentIntent reports them.
const (
	StatusSucceeded      Status = "succeeded"
	StatusRequiresAction Status = "requires_action" // 3-D Secure: the customer confirms with Stripe.js
	StatusProcessing     Status = "processing"
	StatusFailed         Status = "failed" // declined; nothing was charged
)

// Payment is the state of one payment (a PaymentIntent).
type Payment struct {
	ID     string // pi_…
	Status Status
	Amount money.Money
	// ClientSecret lets Stripe.js finish a payment that requires action.
	ClientSecret string
	// DeclineCode and Message explain a failed payment; Message is safe to
	// show the customer.
	DeclineCode string
	Message     string
	// OrgID and Purpose come back from the payment's metadata.
	OrgID   string
	Purpose string
	// CustomerID is the provider's customer the payment belongs to ("" for
	// none), and Currency its lowercase ISO currency ("usd"): only a USD
	// top-up of the organisation's own customer becomes credit.
	CustomerID string
	Currency   string
	// TopUp reports that the payment was created as a top-up of usage
	// credits (the provider marked it so when it was made: metadata
	// purpose Add Credits or Auto Recharge), and not as the payment of an
	// invoice or of a hosted checkout, which is credited under the
	// checkout's own id.
	TopUp bool
	// InvoiceID is the provider's invoice the payment pays, if any.
	InvoiceID string
	// Method names the card paid with, "Visa •••• 4242", when the provider
	// knows it; "" otherwise.
	Method string
}

// NeedsCustomer reports whether a payment waits for the customer to
// confirm it on-session (3-D Secure): an off-session charge the bank
// refused with authentication_required, or one that requires action. It
// is not a decline, and retrying it off-session cannot succeed.
func NeedsCustomer(p Payment) bool {
	return p.Status == StatusRequiresAction || (p.Status == StatusFailed && p.DeclineCode == DeclineAuthenticationRequired)
}

// DeclineAuthenticationRequired is the code of an off-session charge the
// card's bank wants the customer to authenticate.
const DeclineAuthenticationRequired = "authentication_required"

// USD is the one currency credited.
const USD = "usd"

// Purposes of a payment, used in the balance transaction's description:
// "Stripe Payment Intent pi_… via <purpose>".
const (
	PurposeAddCredits   = "Add Credits"
	PurposeAutoRecharge = "Auto Recharge call."
)

// PurposeCheckout is the purpose of a hosted checkout's own payment: the
// checkout is the top-up, credited under its own id, so its payment is
// never credited as a top-up of its own.
const PurposeCheckout = "Checkout Session payment"

// IsTopUpPurpose reports whether a payment's purpose, as set in its
// metadata when it was created, marks a top-up of usage credits.
func IsTopUpPurpose(purpose string) bool {
	return purpose == PurposeAddCredits || purpose == PurposeAutoRecharge
}

// ChargeRequest is a card payment to make now.
type ChargeRequest struct {
	OrgID      string
	CustomerID string
	CardID     string
	Amount     money.Money // whole cents
	Purpose    string
	// IdempotencyKey makes a repeated request (a double submit, a retry)
	// return the first payment instead of charging again.
	IdempotencyKey string
	// OffSession is a charge without the customer present (auto-recharge).
	OffSession bool
	// ReturnURL is where a 3-D Secure confirmation comes back to.
	ReturnURL string
}

// CheckoutRequest is a hosted checkout paid with crypto.
type CheckoutRequest struct {
	OrgID      string
	CustomerID string
	Amount     money.Money
	SuccessURL string
	CancelURL  string
	// IdempotencyKey makes a repeated request return the same checkout.
	IdempotencyKey string
}

// Checkout is a hosted checkout to send the customer to.
type Checkout struct {
	ID  string // cs_…
	URL string
}

// Provider is the payment provider. Every method returns a *billing.Error
// with EINVALID for a refused input, ENOTFOUND for a card that is not the
// customer's, and wraps anything else (the provider unreachable) as an
// internal error.
type Provider interface {
	// CreateCustomer creates the organisation's customer, with the
	// organisation id in its metadata, and returns its id.
	CreateCustomer(ctx context.Context, orgID, name, email string) (string, error)
	// Cards lists the customer's cards, the default one marked.
	Cards(ctx context.Context, customerID string) ([]Card, error)
	// SetDefaultCard makes the card the customer's default.
	SetDefaultCard(ctx context.Context, customerID, cardID string) error
	// DeleteCard detaches the card from the customer.
	DeleteCard(ctx context.Context, customerID, cardID string) error
	// Charge makes a card payment. A decline is not an error: it comes
	// back as a Payment with StatusFailed and a Message.
	Charge(ctx context.Context, r ChargeRequest) (Payment, error)
	// Payment reads a payment's current state.
	Payment(ctx context.Context, paymentID string) (Payment, error)
	// CryptoCheckout starts a hosted checkout paid with crypto; it is
	// credited when the provider reports it completed.
	CryptoCheckout(ctx context.Context, r CheckoutRequest) (Checkout, error)
}

// MinTopUp and MaxTopUp bound one purchase of usage credits.
var (
	MinTopUp = money.Dollars(5)
	MaxTopUp = money.Dollars(5000)
)

// CryptoCapable is a provider that says whether it can take crypto
// payments: Stripe only when the account is approved for them (set by
// configuration), the sandbox always.
type CryptoCapable interface {
	CryptoEnabled() bool
}
