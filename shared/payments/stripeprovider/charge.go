package stripeprovider

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// declinedMessage is shown when Stripe gives no customer-safe message.
const declinedMessage = "Your card was declined."

// Charge pays r.Amount (whole cents, else EINVALID) in USD with the saved
// card, as a PaymentIntent confirmed at once, with the organisation and
// purpose in its metadata. r.IdempotencyKey is sent as Stripe's
// Idempotency-Key, so a repeated request returns the first payment;
// without one, a repeated call charges again.
//
// A decline (Stripe's card_error, HTTP 402) is not an error: it comes back
// as StatusFailed with the decline code and Stripe's message, which Stripe
// documents as safe to show the customer. An off-session charge that needs
// 3-D Secure fails the same way, with code authentication_required. An
// on-session charge that needs it returns StatusRequiresAction and the
// client secret for Stripe.js. Any other Stripe error is an internal error.
func (p *Provider) Charge(ctx context.Context, r payments.ChargeRequest) (payments.Payment, error) {
	amount, err := cents(r.Amount)
	if err != nil {
		return payments.Payment{}, err
	}
	if r.CardID == "" {
		return payments.Payment{}, billing.FieldError("method", "Choose a payment method.")
	}
	params := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String(currency),
		Customer:           stripe.String(r.CustomerID),
		PaymentMethod:      stripe.String(r.CardID),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Confirm:            stripe.Bool(true),
		Metadata:           map[string]string{metaOrgID: r.OrgID, metaPurpose: r.Purpose},
	}
	if r.OffSession {
		params.OffSession = stripe.Bool(true)
	} else if r.ReturnURL != "" {
		params.ReturnURL = stripe.String(r.ReturnURL)
	}
	params.AddExpand("payment_method")
	params.Context = ctx
	if r.IdempotencyKey != "" {
		params.SetIdempotencyKey(r.IdempotencyKey)
	}
	pi, err := p.api.PaymentIntents.New(params)
	if se, ok := errors.AsType[*stripe.Error](err); ok && se.Type == stripe.ErrorTypeCard {
		pay := payments.Payment{Status: payments.StatusFailed, Amount: r.Amount, OrgID: r.OrgID, Purpose: r.Purpose,
			CustomerID: r.CustomerID, Currency: currency, TopUp: payments.IsTopUpPurpose(r.Purpose)}
		pay.DeclineCode, pay.Message = declined(se)
		if se.PaymentIntent != nil {
			pay.ID = se.PaymentIntent.ID
		}
		return pay, nil
	}
	if err != nil {
		return payments.Payment{}, wrap("create payment intent", err)
	}
	return toPayment(pi)
}

// Payment reads a PaymentIntent's current state, with the organisation and
// purpose from its metadata, its customer and currency, and its card
// (expanded). An unknown id is ENOTFOUND.
//
// Stripe's statuses map as: succeeded → StatusSucceeded; requires_action
// and requires_confirmation → StatusRequiresAction (with the client
// secret); processing and requires_capture → StatusProcessing;
// requires_payment_method and canceled → StatusFailed (nothing charged),
// with the last decline's code and message if there was one.
func (p *Provider) Payment(ctx context.Context, paymentID string) (payments.Payment, error) {
	if paymentID == "" {
		return payments.Payment{}, billing.Errorf(billing.ENOTFOUND, "No such payment.")
	}
	params := &stripe.PaymentIntentParams{}
	params.AddExpand("payment_method")
	params.Context = ctx
	pi, err := p.api.PaymentIntents.Get(paymentID, params)
	if isMissing(err) {
		return payments.Payment{}, billing.Errorf(billing.ENOTFOUND, "No such payment.")
	}
	if err != nil {
		return payments.Payment{}, wrap("get payment intent", err)
	}
	return toPayment(pi)
}

// toPayment maps a PaymentIntent; an unknown status is an error.
func toPayment(pi *stripe.PaymentIntent) (payments.Payment, error) {
	pay := payments.Payment{
		ID:         pi.ID,
		Amount:     fromCents(pi.Amount),
		OrgID:      pi.Metadata[metaOrgID],
		Purpose:    pi.Metadata[metaPurpose],
		CustomerID: customerID(pi.Customer),
		Currency:   string(pi.Currency),
		Method:     cardLabel(pi.PaymentMethod),
	}
	if pi.Invoice != nil {
		pay.InvoiceID = pi.Invoice.ID
	}
	// A top-up is marked so by its purpose when created; an invoice's
	// PaymentIntent and a crypto checkout's (credited under the session's
	// id) are not top-ups, whatever their metadata says.
	if slices.Contains(pi.PaymentMethodTypes, "crypto") {
		// A crypto checkout's own payment, whatever older metadata says.
		pay.Purpose = payments.PurposeCheckout
	}
	pay.TopUp = payments.IsTopUpPurpose(pay.Purpose) && pi.Invoice == nil
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		pay.Status = payments.StatusSucceeded
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		pay.Status = payments.StatusRequiresAction
		pay.ClientSecret = pi.ClientSecret
	case stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		pay.Status = payments.StatusProcessing
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusCanceled:
		pay.Status = payments.StatusFailed
		pay.Message = "The payment was not completed."
		if pi.LastPaymentError != nil {
			pay.DeclineCode, pay.Message = declined(pi.LastPaymentError)
		}
	default:
		return payments.Payment{}, fmt.Errorf("stripe: payment intent %s: unknown status %q", pi.ID, pi.Status)
	}
	return pay, nil
}

// declined returns the decline code (or, without one, the error code) and
// a message safe to show: Stripe's own for a card error, else a generic one.
func declined(e *stripe.Error) (code, message string) {
	code = string(e.DeclineCode)
	if code == "" {
		code = string(e.Code)
	}
	message = declinedMessage
	if e.Type == stripe.ErrorTypeCard && e.Msg != "" {
		message = e.Msg
	}
	return code, message
}

// ConfirmOnSession confirms a PaymentIntent with the customer present,
// with the card it was tried with and returnURL for the bank's page: a
// payment refused off-session with authentication_required then requires
// action, which Stripe.js's handleNextAction finishes with its client
// secret. A payment that needs nothing from the customer comes back as
// it is. A card error is a failed payment, not an error.
func (p *Provider) ConfirmOnSession(ctx context.Context, paymentID, returnURL string) (payments.Payment, error) {
	get := &stripe.PaymentIntentParams{}
	get.Context = ctx
	pi, err := p.api.PaymentIntents.Get(paymentID, get)
	if isMissing(err) {
		return payments.Payment{}, billing.Errorf(billing.ENOTFOUND, "No such payment.")
	}
	if err != nil {
		return payments.Payment{}, wrap("get payment intent", err)
	}
	pay, err := toPayment(pi)
	if err != nil || !payments.NeedsCustomer(pay) || pi.Status == stripe.PaymentIntentStatusRequiresAction {
		return pay, err
	}
	params := &stripe.PaymentIntentConfirmParams{}
	switch {
	case pi.PaymentMethod != nil:
		params.PaymentMethod = stripe.String(pi.PaymentMethod.ID)
	case pi.LastPaymentError != nil && pi.LastPaymentError.PaymentMethod != nil:
		params.PaymentMethod = stripe.String(pi.LastPaymentError.PaymentMethod.ID)
	}
	if returnURL != "" {
		params.ReturnURL = stripe.String(returnURL)
	}
	params.AddExpand("payment_method")
	params.Context = ctx
	pi, err = p.api.PaymentIntents.Confirm(paymentID, params)
	if se, ok := errors.AsType[*stripe.Error](err); ok && se.Type == stripe.ErrorTypeCard {
		pay.Status = payments.StatusFailed
		pay.DeclineCode, pay.Message = declined(se)
		return pay, nil
	}
	if err != nil {
		return payments.Payment{}, wrap("confirm payment intent", err)
	}
	return toPayment(pi)
}

var _ payments.Confirmer = (*Provider)(nil)
