package stripeprovider

import (
	"context"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/payments"
)

// CryptoCheckout creates a hosted Stripe Checkout Session paid with
// crypto for r.Amount (whole cents, else EINVALID) of "Usage credits", and
// returns its id (cs_…) and the URL to send the customer to. The
// organisation and purpose (payments.PurposeAddCredits) are in the
// session's metadata and in its PaymentIntent's, so the
// checkout.session.completed webhook can credit the balance.
// r.IdempotencyKey, if set, makes a repeated request return the same
// session.
func (p *Provider) CryptoCheckout(ctx context.Context, r payments.CheckoutRequest) (payments.Checkout, error) {
	amount, err := cents(r.Amount)
	if err != nil {
		return payments.Checkout{}, err
	}
	meta := func(purpose string) map[string]string {
		return map[string]string{metaOrgID: r.OrgID, metaPurpose: purpose}
	}
	params := &stripe.CheckoutSessionParams{
		Mode:     stripe.String(string(stripe.CheckoutSessionModePayment)),
		Customer: stripe.String(r.CustomerID),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:   stripe.String(currency),
				UnitAmount: stripe.Int64(amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{
					Name: stripe.String("Usage credits"),
				},
			},
			Quantity: stripe.Int64(1),
		}},
		PaymentMethodTypes: stripe.StringSlice([]string{"crypto"}),
		SuccessURL:         stripe.String(r.SuccessURL),
		CancelURL:          stripe.String(r.CancelURL),
		Metadata:           meta(payments.PurposeAddCredits),
		// The session is the top-up, credited under its id; its
		// PaymentIntent carries another purpose so it is never credited
		// a second time as a top-up of its own.
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Metadata: meta(payments.PurposeCheckout),
		},
	}
	params.Context = ctx
	if r.IdempotencyKey != "" {
		params.SetIdempotencyKey(r.IdempotencyKey)
	}
	s, err := p.api.CheckoutSessions.New(params)
	if err != nil {
		return payments.Checkout{}, wrap("create checkout session", err)
	}
	return payments.Checkout{ID: s.ID, URL: s.URL}, nil
}
