package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
)

var _ invoicing.Provider = (*Provider)(nil)

// invoiceRecord is a sandbox invoice. It goes through Stripe's states:
// draft when created, open when finalized, paid once a charge succeeds.
type invoiceRecord struct {
	PK         string      `dynamodbav:"PK"` // SBIN#<our invoice id>
	SK         string      `dynamodbav:"SK"` // IN
	ID         string      `dynamodbav:"id"` // in_sandbox_…
	InvoiceID  string      `dynamodbav:"invoice_id"`
	OrgID      string      `dynamodbav:"org_id"`
	CustomerID string      `dynamodbav:"customer_id"`
	Amount     money.Money `dynamodbav:"amount"`
	Status     string      `dynamodbav:"status"`
	Collection string      `dynamodbav:"collection"`
	DueDate    time.Time   `dynamodbav:"due_date"`
	PaymentID  string      `dynamodbav:"payment_id"`
	PaidAt     time.Time   `dynamodbav:"paid_at"`
	Message    string      `dynamodbav:"message"`
	Created    time.Time   `dynamodbav:"created"`
}

func invoicePK(invoiceID string) string { return "SBIN#" + invoiceID }

// InvoicePurpose is the purpose of a sandbox payment of an invoice:
// "Invoice in_…". Such a payment pays the invoice and credits nothing.
func InvoicePurpose(invoiceID string) string { return "Invoice " + invoiceID }

// OpenInvoice creates the sandbox invoice of r.InvoiceID, finalizes it,
// and with r.CardID charges that card at once. A repeated call carries on
// from where the first stopped and returns the invoice as it is. A
// decline leaves it open, with the card's message.
func (p *Provider) OpenInvoice(ctx context.Context, r invoicing.OpenRequest) (invoicing.Remote, error) {
	if r.Amount <= 0 || r.Amount%money.Cent != 0 {
		return invoicing.Remote{}, billing.FieldError("amount", "An invoice's amount due must be whole cents above zero.")
	}
	rec, err := p.invoice(ctx, r.InvoiceID)
	switch {
	case err == nil && rec.CustomerID != r.CustomerID:
		return invoicing.Remote{}, billing.Errorf(billing.ENOTFOUND, "No such invoice.")
	case billing.ErrorCode(err) == billing.ENOTFOUND:
		if _, err := p.customer(ctx, r.CustomerID); err != nil {
			return invoicing.Remote{}, err
		}
		rec = invoiceRecord{
			PK: invoicePK(r.InvoiceID), SK: "IN", ID: newID("in"), InvoiceID: r.InvoiceID, OrgID: r.OrgID, CustomerID: r.CustomerID,
			Amount: r.Amount, Status: invoicing.RemoteDraft, Collection: invoicing.SendInvoice, DueDate: r.DueDate.UTC(), Created: p.now().UTC(),
		}
		if r.CardID != "" {
			rec.Collection = invoicing.ChargeAutomatically
		}
		err = p.items.Put(ctx, rec, true)
		if billing.ErrorCode(err) == billing.ECONFLICT {
			rec, err = p.invoice(ctx, r.InvoiceID) // created concurrently
		}
	}
	if err != nil {
		return invoicing.Remote{}, fmt.Errorf("sandbox: create invoice: %w", err)
	}
	if rec.Status == invoicing.RemoteDraft {
		rec.Status = invoicing.RemoteOpen // finalized
		if err := p.items.Put(ctx, rec, false); err != nil {
			return invoicing.Remote{}, fmt.Errorf("sandbox: finalize invoice: %w", err)
		}
	}
	if r.CardID == "" || rec.Status != invoicing.RemoteOpen || rec.Collection != invoicing.ChargeAutomatically || rec.PaymentID != "" {
		return toRemote(rec), nil
	}
	return p.payInvoice(ctx, rec, r.CardID, "invoice-"+r.InvoiceID+"-auto", true)
}

// PayInvoice pays the open sandbox invoice with a card; a repeated
// idempotency key returns the first attempt's payment.
func (p *Provider) PayInvoice(ctx context.Context, r invoicing.PayRequest) (invoicing.Remote, error) {
	rec, err := p.invoice(ctx, r.InvoiceID)
	if err == nil && (rec.CustomerID != r.CustomerID || rec.ID != r.ProviderID) {
		err = billing.Errorf(billing.ENOTFOUND, "No such invoice.")
	}
	if err != nil {
		return invoicing.Remote{}, err
	}
	if rec.Status != invoicing.RemoteOpen && rec.Status != invoicing.RemoteUncollectible {
		return toRemote(rec), nil
	}
	return p.payInvoice(ctx, rec, r.CardID, r.IdempotencyKey, false)
}

func (p *Provider) payInvoice(ctx context.Context, rec invoiceRecord, cardID, key string, offSession bool) (invoicing.Remote, error) {
	pay, err := p.Charge(ctx, payments.ChargeRequest{
		OrgID: rec.OrgID, CustomerID: rec.CustomerID, CardID: cardID, Amount: rec.Amount, Purpose: InvoicePurpose(rec.InvoiceID),
		IdempotencyKey: key, OffSession: offSession,
	})
	if err != nil {
		return invoicing.Remote{}, fmt.Errorf("sandbox: pay invoice: %w", err)
	}
	rec.PaymentID, rec.Message = pay.ID, pay.Message
	if pay.Status == payments.StatusSucceeded {
		rec.Status, rec.PaidAt, rec.Message = invoicing.RemotePaid, p.now().UTC(), ""
	}
	if err := p.items.Put(ctx, rec, false); err != nil {
		return invoicing.Remote{}, fmt.Errorf("sandbox: pay invoice: %w", err)
	}
	return toRemote(rec), nil
}

func (p *Provider) invoice(ctx context.Context, invoiceID string) (invoiceRecord, error) {
	var rec invoiceRecord
	err := p.items.Get(ctx, invoicePK(invoiceID), "IN", &rec)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return rec, billing.Errorf(billing.ENOTFOUND, "No such invoice.")
	}
	return rec, err
}

func toRemote(r invoiceRecord) invoicing.Remote {
	return invoicing.Remote{ID: r.ID, Status: r.Status, Collection: r.Collection, PaymentID: r.PaymentID, PaidAt: r.PaidAt, Message: r.Message}
}
