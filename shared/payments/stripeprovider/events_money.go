package stripeprovider

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/payments"
)

// errNoStripe is the error of an event that needs a Stripe read on Events
// whose service runs on another provider.
var errNoStripe = errors.New("stripe: events need the Stripe provider")

// applyCheckout applies checkout.session.*: a paid session (completed and
// paid at once, or async_payment_succeeded later) credits its amount once
// under the session's id, when it is a USD top-up of its customer's
// organisation. async_payment_failed and expired change nothing.
func (ev *Events) applyCheckout(ctx context.Context, typ string, raw json.RawMessage) error {
	var cs stripe.CheckoutSession
	if err := json.Unmarshal(raw, &cs); err != nil {
		return err
	}
	org, err := ev.org(ctx, cs.Metadata[metaOrgID], customerID(cs.Customer))
	if org == "" || err != nil {
		return err
	}
	switch typ {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		if cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
			// A delayed payment: async_payment_succeeded credits it.
			ev.log.Info("stripe checkout completed, payment pending", "org", org, "checkout", cs.ID)
			return nil
		}
		c := payments.PaidCheckout{ID: cs.ID, CustomerID: customerID(cs.Customer), Currency: string(cs.Currency),
			Amount: fromCents(cs.AmountTotal), OrgID: cs.Metadata[metaOrgID], Purpose: cs.Metadata[metaPurpose]}
		if cs.PaymentIntent != nil {
			c.PaymentID = cs.PaymentIntent.ID
		}
		_, err := ev.svc.CheckoutPaid(ctx, org, c)
		return notOurs(err)
	case "checkout.session.async_payment_failed":
		ev.log.Info("stripe checkout payment failed; nothing credited", "org", org, "checkout", cs.ID)
	case "checkout.session.expired":
		ev.log.Info("stripe checkout expired; nothing credited", "org", org, "checkout", cs.ID)
	default:
		ev.log.Info("stripe checkout event ignored", "org", org, "checkout", cs.ID, "type", typ)
	}
	return nil
}

// payment reads a PaymentIntent (with its card) and the organisation of
// its customer; "" when it is none of ours.
func (ev *Events) payment(ctx context.Context, pi *stripe.PaymentIntent) (payments.Payment, string, error) {
	if ev.api == nil {
		return payments.Payment{}, "", errNoStripe
	}
	if pi == nil || pi.ID == "" {
		ev.log.Warn("stripe event of no payment intent ignored")
		return payments.Payment{}, "", nil
	}
	pay, err := ev.api.Payment(ctx, pi.ID)
	if err != nil {
		return payments.Payment{}, "", err
	}
	org, err := ev.org(ctx, pay.OrgID, pay.CustomerID)
	return pay, org, err
}

// applyRefund applies charge.refunded and charge.refund.updated: it reads
// the refunds of the charge's PaymentIntent from Stripe (a 2023-10-16
// charge no longer carries them) and debits each succeeded one once, by
// its refund id, as "Refund of Stripe Payment Intent pi_…". Reading them
// all makes any order and number of deliveries end the same. A refund of
// a payment that is not a top-up (an invoice's) leaves the balance alone.
func (ev *Events) applyRefund(ctx context.Context, typ string, raw json.RawMessage) error {
	var pi *stripe.PaymentIntent
	if typ == "charge.refunded" {
		var ch stripe.Charge
		if err := json.Unmarshal(raw, &ch); err != nil {
			return err
		}
		pi = ch.PaymentIntent
	} else {
		var r stripe.Refund
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		pi = r.PaymentIntent
	}
	pay, org, err := ev.payment(ctx, pi)
	if org == "" || err != nil {
		return err
	}
	if err := ev.checkoutOf(ctx, org, pay); err != nil {
		return err
	}
	refunds, err := ev.api.refunds(ctx, pay.ID)
	if err != nil {
		return err
	}
	for _, r := range refunds {
		if r.Status != stripe.RefundStatusSucceeded {
			continue // pending ones are debited when charge.refund.updated says they succeeded
		}
		if r.Currency != stripe.CurrencyUSD {
			ev.log.Error("stripe refund in a currency other than USD not applied", "org", org, "refund", r.ID, "currency", r.Currency)
			continue
		}
		_, err := ev.svc.Refunded(ctx, org, pay, r.ID, fromCents(r.Amount))
		if err != nil && notOurs(err) == nil && !pay.TopUp {
			// Not a top-up: the refund of an invoice's payment shows on
			// the invoice and leaves the prepaid balance alone.
			err = ev.invoiceRefunded(ctx, org, pay, r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// invoiceRefunded records a refund of an invoice's payment on our invoice;
// a payment of no invoice of ours changes nothing.
func (ev *Events) invoiceRefunded(ctx context.Context, org string, pay payments.Payment, r *stripe.Refund) error {
	if ev.invoices == nil || pay.InvoiceID == "" {
		ev.log.Info("stripe refund of a payment that is not a top-up; the balance is unchanged", "org", org, "payment", pay.ID, "refund", r.ID)
		return nil
	}
	// Our invoice is named in the Stripe invoice's metadata: read it, so
	// a refund reported before the invoice's own events lands all the same.
	params := &stripe.InvoiceParams{}
	params.Context = ctx
	inv, err := ev.api.api.Invoices.Get(pay.InvoiceID, params)
	if err != nil && !isMissing(err) {
		return wrap("get invoice", err)
	}
	if err == nil && inv.Metadata[metaInvoiceID] != "" && (inv.Metadata[metaOrgID] == "" || inv.Metadata[metaOrgID] == org) {
		err = ev.invoices.InvoiceRefunded(ctx, org, inv.Metadata[metaInvoiceID], pay.ID, r.ID, fromCents(r.Amount))
	} else {
		err = ev.invoices.PaymentRefunded(ctx, org, pay.ID, pay.InvoiceID, r.ID, fromCents(r.Amount))
	}
	if notOurs(err) == nil && err != nil {
		ev.log.Warn("stripe refund of an invoice payment of no invoice of ours", "org", org, "payment", pay.ID, "refund", r.ID)
		return nil
	}
	return err
}

// applyDispute applies charge.dispute.created (the disputed amount is
// debited at once, "Disputed payment pi_…") and charge.dispute.closed (won:
// credited back; lost: stays debited), each effect once whatever the
// order. An inquiry (a warning_* status) withdraws no funds and changes
// nothing.
func (ev *Events) applyDispute(ctx context.Context, typ string, raw json.RawMessage) error {
	var d stripe.Dispute
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	if strings.HasPrefix(string(d.Status), "warning_") {
		ev.log.Info("stripe inquiry; no funds withdrawn", "dispute", d.ID, "status", d.Status)
		return nil
	}
	pi := d.PaymentIntent
	if pi == nil && d.Charge != nil {
		pi = d.Charge.PaymentIntent
	}
	pay, org, err := ev.payment(ctx, pi)
	if org == "" || err != nil {
		return err
	}
	if d.Currency != stripe.CurrencyUSD {
		ev.log.Error("stripe dispute in a currency other than USD not applied", "org", org, "dispute", d.ID, "currency", d.Currency)
		return nil
	}
	if err := ev.checkoutOf(ctx, org, pay); err != nil {
		return err
	}
	amount := fromCents(d.Amount)
	switch {
	case typ == "charge.dispute.closed" && d.Status == stripe.DisputeStatusWon:
		err = ev.svc.DisputeClosed(ctx, org, pay, d.ID, amount, true)
	case typ == "charge.dispute.closed" && d.Status == stripe.DisputeStatusLost:
		err = ev.svc.DisputeClosed(ctx, org, pay, d.ID, amount, false)
	default:
		_, err = ev.svc.Disputed(ctx, org, pay, d.ID, amount)
	}
	if notOurs(err) == nil && err != nil {
		ev.log.Info("stripe dispute of a payment that is not a top-up; the balance is unchanged", "org", org, "payment", pay.ID, "dispute", d.ID)
		return nil
	}
	return err
}

// checkoutOf makes sure the checkout a checkout's PaymentIntent paid is
// credited, and known by that PaymentIntent, before a refund or dispute
// of it is applied: the session is read from Stripe, so a refund reported
// before the session's completion, or of a session credited before its
// PaymentIntent was recorded with it, lands all the same. Any other
// payment is left alone.
func (ev *Events) checkoutOf(ctx context.Context, org string, pay payments.Payment) error {
	if pay.Purpose != payments.PurposeCheckout {
		return nil
	}
	params := &stripe.CheckoutSessionListParams{PaymentIntent: stripe.String(pay.ID)}
	params.Context = ctx
	it := ev.api.api.CheckoutSessions.List(params)
	for it.Next() {
		cs := it.CheckoutSession()
		if cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
			continue
		}
		c := payments.PaidCheckout{ID: cs.ID, PaymentID: pay.ID, CustomerID: customerID(cs.Customer), Currency: string(cs.Currency),
			Amount: fromCents(cs.AmountTotal), OrgID: cs.Metadata[metaOrgID], Purpose: cs.Metadata[metaPurpose]}
		if _, err := ev.svc.CheckoutPaid(ctx, org, c); err != nil {
			return notOurs(err)
		}
		return ev.store.AddPaymentAlias(ctx, org, pay.ID, cs.ID)
	}
	if err := it.Err(); err != nil {
		return wrap("list checkout sessions", err)
	}
	return nil
}

// cardOf names the card of a PaymentIntent for the order history, "Visa
// •••• 4242", reading the payment method from Stripe when the event
// carries only its id; "Card" when it is not a card.
func (ev *Events) cardOf(ctx context.Context, pm *stripe.PaymentMethod) (string, error) {
	if label := cardLabel(pm); label != "" {
		return label, nil
	}
	if pm == nil || pm.ID == "" || ev.api == nil {
		return "Card", nil
	}
	params := &stripe.PaymentMethodParams{}
	params.Context = ctx
	got, err := ev.api.api.PaymentMethods.Get(pm.ID, params)
	if isMissing(err) {
		return "Card", nil
	}
	if err != nil {
		return "", wrap("get payment method", err)
	}
	if label := cardLabel(got); label != "" {
		return label, nil
	}
	return "Card", nil
}

// refunds lists every refund of a PaymentIntent.
func (p *Provider) refunds(ctx context.Context, paymentID string) ([]*stripe.Refund, error) {
	params := &stripe.RefundListParams{PaymentIntent: stripe.String(paymentID)}
	params.Context = ctx
	var out []*stripe.Refund
	it := p.api.Refunds.List(params)
	for it.Next() {
		out = append(out, it.Refund())
	}
	if err := it.Err(); err != nil {
		return nil, wrap("list refunds", err)
	}
	return out, nil
}
