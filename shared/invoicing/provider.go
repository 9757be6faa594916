package invoicing

import (
	"context"
	"time"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
)

// Provider is the payment provider's side of an invoice: Stripe invoices
// in Stripe mode, their local imitation in the sandbox. Both go through
// Stripe's states: draft, open, then paid (or void, uncollectible).
type Provider interface {
	// OpenInvoice creates and finalizes the provider's invoice of
	// r.InvoiceID for r.Amount (whole cents). With r.CardID it is charged
	// to that card at once (collection charge_automatically); without, it
	// is sent to the customer, due on r.DueDate (send_invoice). It is
	// idempotent per r.InvoiceID. A declined card is not an error: the
	// invoice comes back open with Message saying why.
	OpenInvoice(ctx context.Context, r OpenRequest) (Remote, error)
	// PayInvoice pays the provider's invoice r.ProviderID now with
	// r.CardID; r.IdempotencyKey makes a repeated request return the first
	// attempt. A decline comes back as an open invoice with a Message.
	PayInvoice(ctx context.Context, r PayRequest) (Remote, error)
}

// OpenRequest is an invoice to open at the provider.
type OpenRequest struct {
	OrgID      string
	CustomerID string
	InvoiceID  string // ours, in_…; kept in the provider's metadata
	Amount     money.Money
	// Description is the invoice line, e.g. "Usage, November 2026".
	Description string
	Period      time.Time
	PeriodEnd   time.Time
	// CardID, when set, is charged at once; otherwise the invoice is sent
	// with DueDate.
	CardID  string
	DueDate time.Time
}

// PayRequest is a card payment of an open provider invoice.
type PayRequest struct {
	OrgID          string
	CustomerID     string
	InvoiceID      string // ours
	ProviderID     string
	CardID         string
	Amount         money.Money
	IdempotencyKey string
}

// Collection methods, as Stripe names them.
const (
	ChargeAutomatically = "charge_automatically"
	SendInvoice         = "send_invoice"
)

// Provider invoice statuses, as Stripe names them.
const (
	RemoteDraft         = "draft"
	RemoteOpen          = "open"
	RemotePaid          = "paid"
	RemoteVoid          = "void"
	RemoteUncollectible = "uncollectible"
)

// Remote is the state of the provider's invoice.
type Remote struct {
	ID         string // Stripe's in_…, or the sandbox's
	Status     string // draft, open, paid, void or uncollectible
	Collection string
	// HostedURL is the provider's payment page; PDFURL its PDF (Stripe's
	// invoice_pdf), when it has one.
	HostedURL string
	PDFURL    string
	PaymentID string
	PaidAt    time.Time
	// Message says why the last charge failed, in words safe to show.
	Message string
}

// unavailable is the provider of a function without a payment provider
// that can invoice: every call fails with payments.ErrNotConfigured.
type unavailable struct{}

func (unavailable) OpenInvoice(context.Context, OpenRequest) (Remote, error) {
	return Remote{}, payments.ErrNotConfigured
}

func (unavailable) PayInvoice(context.Context, PayRequest) (Remote, error) {
	return Remote{}, payments.ErrNotConfigured
}
