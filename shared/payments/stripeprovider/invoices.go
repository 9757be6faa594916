package stripeprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
)

var _ invoicing.Provider = (*Provider)(nil)

// metaInvoiceID is the metadata key carrying our invoice id on a Stripe
// invoice and its line.
const metaInvoiceID = "invoice_id"

// OpenInvoice creates the Stripe invoice of our invoice r.InvoiceID: a
// draft with the organisation and invoice id in its metadata, one line of
// r.Amount (whole cents), finalized with auto_advance. With r.CardID its
// collection method is charge_automatically with that card as the
// default payment method, and it is paid at once (off-session); without,
// it is send_invoice with days_until_due DueDays, so Stripe emails it.
//
// Every request carries an idempotency key from our invoice id, and an
// invoice already made for it (found by its metadata among the customer's
// invoices since the period began) is carried on, not made again, so a
// repeated call opens one Stripe invoice with one line. A declined card is
// not an error: the invoice comes back open with Stripe's message.
func (p *Provider) OpenInvoice(ctx context.Context, r invoicing.OpenRequest) (invoicing.Remote, error) {
	amount, err := cents(r.Amount)
	if err != nil {
		return invoicing.Remote{}, err
	}
	inv, err := p.findInvoice(ctx, r)
	if err != nil {
		return invoicing.Remote{}, err
	}
	if inv == nil {
		params := &stripe.InvoiceParams{
			Customer:                    stripe.String(r.CustomerID),
			Currency:                    stripe.String(currency),
			AutoAdvance:                 stripe.Bool(true),
			Description:                 stripe.String(r.Description),
			PendingInvoiceItemsBehavior: stripe.String("exclude"),
			Metadata:                    map[string]string{metaOrgID: r.OrgID, metaInvoiceID: r.InvoiceID},
		}
		if r.CardID != "" {
			params.CollectionMethod = stripe.String(string(stripe.InvoiceCollectionMethodChargeAutomatically))
			params.DefaultPaymentMethod = stripe.String(r.CardID)
		} else {
			params.CollectionMethod = stripe.String(string(stripe.InvoiceCollectionMethodSendInvoice))
			params.DaysUntilDue = stripe.Int64(invoicing.DueDays)
		}
		params.Context = ctx
		params.SetIdempotencyKey("invoice-" + r.InvoiceID)
		if inv, err = p.api.Invoices.New(params); err != nil {
			return invoicing.Remote{}, wrap("create invoice", err)
		}
	}
	if inv.Status == stripe.InvoiceStatusDraft {
		switch inv.Total {
		case 0:
			item := &stripe.InvoiceItemParams{
				Customer:    stripe.String(r.CustomerID),
				Invoice:     stripe.String(inv.ID),
				Amount:      stripe.Int64(amount),
				Currency:    stripe.String(currency),
				Description: stripe.String(r.Description),
				Period:      &stripe.InvoiceItemPeriodParams{Start: stripe.Int64(r.Period.Unix()), End: stripe.Int64(r.PeriodEnd.Unix() - 1)},
				Metadata:    map[string]string{metaOrgID: r.OrgID, metaInvoiceID: r.InvoiceID},
			}
			item.Context = ctx
			item.SetIdempotencyKey("invoice-" + r.InvoiceID + "-item")
			if _, err := p.api.InvoiceItems.New(item); err != nil {
				return invoicing.Remote{}, wrap("create invoice item", err)
			}
		case amount:
		default:
			return invoicing.Remote{}, errors.New("stripe: invoice " + inv.ID + " of " + r.InvoiceID + " has another total than the amount due")
		}
		fin := &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(true)}
		fin.Context = ctx
		fin.SetIdempotencyKey("invoice-" + r.InvoiceID + "-finalize")
		if inv, err = p.api.Invoices.FinalizeInvoice(inv.ID, fin); err != nil {
			return invoicing.Remote{}, wrap("finalize invoice", err)
		}
	}
	if r.CardID == "" || inv.Status != stripe.InvoiceStatusOpen || inv.CollectionMethod != stripe.InvoiceCollectionMethodChargeAutomatically {
		return remote(inv, ""), nil
	}
	return p.pay(ctx, inv, r.CardID, "invoice-"+r.InvoiceID+"-auto", true)
}

// findInvoice returns the customer's Stripe invoice of our invoice, made
// since the period began and not void; nil when there is none.
func (p *Provider) findInvoice(ctx context.Context, r invoicing.OpenRequest) (*stripe.Invoice, error) {
	params := &stripe.InvoiceListParams{
		Customer:     stripe.String(r.CustomerID),
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: r.Period.Unix()},
	}
	params.Context = ctx
	it := p.api.Invoices.List(params)
	for it.Next() {
		inv := it.Invoice()
		if inv.Metadata[metaInvoiceID] == r.InvoiceID && inv.Status != stripe.InvoiceStatusVoid {
			return inv, nil
		}
	}
	if err := it.Err(); err != nil {
		return nil, wrap("list invoices", err)
	}
	return nil, nil
}

// PayInvoice pays the Stripe invoice r.ProviderID with the card r.CardID,
// with r.IdempotencyKey as Stripe's Idempotency-Key. A decline, or a card
// that needs 3-D Secure (paid then on the hosted invoice page), comes back
// as the open invoice with a message safe to show.
func (p *Provider) PayInvoice(ctx context.Context, r invoicing.PayRequest) (invoicing.Remote, error) {
	if r.ProviderID == "" || r.CardID == "" {
		return invoicing.Remote{}, billing.FieldError("card", "Choose a card to pay with.")
	}
	get := &stripe.InvoiceParams{}
	get.Context = ctx
	inv, err := p.api.Invoices.Get(r.ProviderID, get)
	if isMissing(err) {
		return invoicing.Remote{}, billing.Errorf(billing.ENOTFOUND, "No such invoice.")
	}
	if err != nil {
		return invoicing.Remote{}, wrap("get invoice", err)
	}
	if inv.Metadata[metaInvoiceID] != r.InvoiceID || customerID(inv.Customer) != r.CustomerID {
		return invoicing.Remote{}, billing.Errorf(billing.ENOTFOUND, "No such invoice.")
	}
	if inv.Status != stripe.InvoiceStatusOpen && inv.Status != stripe.InvoiceStatusUncollectible {
		return remote(inv, ""), nil
	}
	return p.pay(ctx, inv, r.CardID, r.IdempotencyKey, false)
}

// pay attempts the payment of an open invoice with card.
func (p *Provider) pay(ctx context.Context, inv *stripe.Invoice, card, key string, offSession bool) (invoicing.Remote, error) {
	params := &stripe.InvoicePayParams{PaymentMethod: stripe.String(card), OffSession: stripe.Bool(offSession)}
	params.Context = ctx
	params.SetIdempotencyKey(key)
	paid, err := p.api.Invoices.Pay(inv.ID, params)
	if se, ok := errors.AsType[*stripe.Error](err); ok && (se.Type == stripe.ErrorTypeCard || se.Code == stripe.ErrorCodeInvoicePaymentIntentRequiresAction) {
		_, msg := declined(se)
		if se.Code == stripe.ErrorCodeInvoicePaymentIntentRequiresAction {
			msg = "Your bank asks you to confirm this payment: pay it on the invoice's payment page."
		}
		return remote(inv, msg), nil
	}
	if err != nil {
		return invoicing.Remote{}, wrap("pay invoice", err)
	}
	return remote(paid, ""), nil
}

// remote maps a Stripe invoice.
func remote(inv *stripe.Invoice, message string) invoicing.Remote {
	r := invoicing.Remote{
		ID: inv.ID, Status: string(inv.Status), Collection: string(inv.CollectionMethod),
		HostedURL: inv.HostedInvoiceURL, PDFURL: inv.InvoicePDF, Message: message,
	}
	if inv.PaymentIntent != nil {
		r.PaymentID = inv.PaymentIntent.ID
	}
	if inv.StatusTransitions != nil && inv.StatusTransitions.PaidAt > 0 {
		r.PaidAt = time.Unix(inv.StatusTransitions.PaidAt, 0).UTC()
	}
	return r
}

// InvoiceUpdater applies the state of a Stripe invoice to ours; the
// invoicing service is one.
type InvoiceUpdater interface {
	ProviderUpdate(ctx context.Context, orgID, invoiceID string, r invoicing.Remote) error
	// PaymentRefunded records a refund of an invoice's payment on the
	// invoice, once per refund id; ENOTFOUND for no invoice of ours.
	PaymentRefunded(ctx context.Context, orgID, paymentID, providerInvoiceID, refundID string, amount money.Money) error
	// InvoiceRefunded records it on our invoice invoiceID.
	InvoiceRefunded(ctx context.Context, orgID, invoiceID, paymentID, refundID string, amount money.Money) error
}

// WithInvoices makes ev apply invoice.* events to our invoices through u
// (besides keeping each event), and returns ev.
func (ev *Events) WithInvoices(u InvoiceUpdater) *Events {
	ev.invoices = u
	return ev
}

// applyInvoice applies an invoice.* event of org to our invoice named in
// the Stripe invoice's metadata. An invoice not made by the cycle close
// (no such metadata, or another organisation's) changes nothing.
func (ev *Events) applyInvoice(ctx context.Context, org, typ string, raw json.RawMessage) error {
	if ev.invoices == nil {
		return nil
	}
	var inv stripe.Invoice
	if err := json.Unmarshal(raw, &inv); err != nil {
		return err
	}
	id := inv.Metadata[metaInvoiceID]
	if id == "" || (inv.Metadata[metaOrgID] != "" && inv.Metadata[metaOrgID] != org) {
		return nil
	}
	msg := ""
	switch typ {
	case "invoice.payment_failed":
		// The reason is the payment's, not the invoice's finalization.
		msg = "The automatic payment failed."
		m, err := ev.paymentError(ctx, inv.PaymentIntent)
		if err != nil {
			return err
		}
		if m != "" {
			msg = m
		}
	case "invoice.payment_action_required":
		msg = "Your bank asks you to confirm this payment: pay it with Pay now."
		if err := ev.publish(ctx, events.Detail{ID: org + ":" + billing.Day(ev.now()) + ":invoice_action:" + inv.ID,
			Type: TypeInvoiceActionRequired, OrgID: org, Day: billing.Day(ev.now()), OccurredAt: ev.now().UTC()}); err != nil {
			return err
		}
	}
	err := ev.invoices.ProviderUpdate(ctx, org, id, remote(&inv, msg))
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		ev.log.Warn("stripe invoice event for an unknown invoice", "org", org, "invoice", id, "type", typ)
		return nil
	}
	return err
}

// TypeInvoiceActionRequired is the detail type of an invoice whose
// automatic payment the bank wants the customer to confirm
// (invoice.payment_action_required): the notifier emails the billing
// email a link to the Invoices page, where Pay now completes it.
const TypeInvoiceActionRequired = "invoice.payment_action_required"

// Publisher publishes billing events for the notifier.
type Publisher interface {
	Publish(ctx context.Context, details ...events.Detail) error
}

// WithPublisher makes ev publish the notices some events call for (an
// invoice payment the bank wants confirmed), and returns ev.
func (ev *Events) WithPublisher(p Publisher) *Events {
	ev.publisher = p
	return ev
}

// publish publishes d when ev has a publisher (logged otherwise). Its id
// makes a redelivered event notify once.
func (ev *Events) publish(ctx context.Context, d events.Detail) error {
	if ev.publisher == nil {
		ev.log.Warn("stripe event notice not published: no publisher", "type", d.Type, "org", d.OrgID)
		return nil
	}
	if err := ev.publisher.Publish(ctx, d); err != nil {
		return fmt.Errorf("publish %s: %w", d.Type, err)
	}
	return nil
}

// paymentError is the customer-safe reason the PaymentIntent's last
// attempt failed (its last_payment_error), read from Stripe when the
// event carries only the id; "" when there is none.
func (ev *Events) paymentError(ctx context.Context, pi *stripe.PaymentIntent) (string, error) {
	if pi == nil || pi.ID == "" {
		return "", nil
	}
	if pi.LastPaymentError == nil && pi.Status == "" && ev.api != nil {
		params := &stripe.PaymentIntentParams{}
		params.Context = ctx
		got, err := ev.api.api.PaymentIntents.Get(pi.ID, params)
		if isMissing(err) {
			return "", nil
		}
		if err != nil {
			return "", wrap("get payment intent", err)
		}
		pi = got
	}
	if pi.LastPaymentError == nil {
		return "", nil
	}
	_, msg := declined(pi.LastPaymentError)
	return msg, nil
}
