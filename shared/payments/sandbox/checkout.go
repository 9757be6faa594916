package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
)

// Checkout states.
const (
	CheckoutOpen      = "open"
	CheckoutComplete  = "complete"
	CheckoutCancelled = "cancelled"
)

// CheckoutSession is a simulated hosted crypto checkout.
type CheckoutSession struct {
	PK         string      `dynamodbav:"PK"` // SBCS#<cs>
	SK         string      `dynamodbav:"SK"` // CS
	ID         string      `dynamodbav:"id"`
	OrgID      string      `dynamodbav:"org_id"`
	CustomerID string      `dynamodbav:"customer_id"`
	Amount     money.Money `dynamodbav:"amount"`
	Status     string      `dynamodbav:"status"`
	SuccessURL string      `dynamodbav:"success_url"`
	CancelURL  string      `dynamodbav:"cancel_url"`
	Created    time.Time   `dynamodbav:"created"`
}

// CryptoCheckout opens a simulated checkout, served by the local checkout
// page; a repeated idempotency key returns the same checkout.
func (p *Provider) CryptoCheckout(ctx context.Context, r payments.CheckoutRequest) (payments.Checkout, error) {
	if r.IdempotencyKey != "" {
		var k keyRecord
		err := p.items.Get(ctx, "SBKEY#"+r.IdempotencyKey, "KEY", &k)
		if err == nil {
			return payments.Checkout{ID: k.ID, URL: p.checkoutURL + k.ID}, nil
		}
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			return payments.Checkout{}, err
		}
	}
	cs := CheckoutSession{ID: newID("cs"), OrgID: r.OrgID, CustomerID: r.CustomerID, Amount: r.Amount, Status: CheckoutOpen,
		SuccessURL: r.SuccessURL, CancelURL: r.CancelURL, Created: p.now().UTC()}
	cs.PK, cs.SK = "SBCS#"+cs.ID, "CS"
	if err := p.items.Put(ctx, cs, true); err != nil {
		return payments.Checkout{}, fmt.Errorf("sandbox: checkout: %w", err)
	}
	if r.IdempotencyKey != "" {
		if err := p.items.Put(ctx, keyRecord{PK: "SBKEY#" + r.IdempotencyKey, SK: "KEY", ID: cs.ID}, true); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
			return payments.Checkout{}, err
		}
	}
	return payments.Checkout{ID: cs.ID, URL: p.checkoutURL + cs.ID}, nil
}

// Checkout returns the organisation's checkout session; ENOTFOUND for
// another organisation's or an unknown one.
func (p *Provider) Checkout(ctx context.Context, orgID, id string) (CheckoutSession, error) {
	var cs CheckoutSession
	err := p.items.Get(ctx, "SBCS#"+id, "CS", &cs)
	if err == nil && cs.OrgID != orgID {
		err = billing.Errorf(billing.ENOTFOUND, "No such checkout.")
	}
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return cs, billing.Errorf(billing.ENOTFOUND, "No such checkout.")
	}
	return cs, err
}

// FinishCheckout completes (paid) or cancels an open checkout of the
// organisation and returns it. Finishing one that is no longer open
// returns it unchanged.
func (p *Provider) FinishCheckout(ctx context.Context, orgID, id string, paid bool) (CheckoutSession, error) {
	cs, err := p.Checkout(ctx, orgID, id)
	if err != nil || cs.Status != CheckoutOpen {
		return cs, err
	}
	cs.Status = CheckoutCancelled
	if paid {
		cs.Status = CheckoutComplete
	}
	if err := p.items.Put(ctx, cs, false); err != nil {
		return cs, fmt.Errorf("sandbox: finish checkout: %w", err)
	}
	return cs, nil
}

// CryptoEnabled reports that the sandbox simulates crypto checkouts.
func (p *Provider) CryptoEnabled() bool { return true }
