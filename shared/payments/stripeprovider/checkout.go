package stripeprovider

import (
	"context"
	"errors"
	"net/http"

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
	// This one request speaks CryptoAPIVersion: the crypto payment
	// method type does not exist at stripe-go v76's 2023-10-16. Its
	// answer is read into the two fields we use, so the shape of a newer
	// version's Checkout Session cannot fail the decoding.
	params.Headers = http.Header{"Stripe-Version": {CryptoAPIVersion}}
	var s cryptoSession
	if err := p.api.CheckoutSessions.B.Call(http.MethodPost, "/v1/checkout/sessions", p.api.CheckoutSessions.Key, params, &s); err != nil {
		return payments.Checkout{}, wrap("create checkout session", err)
	}
	if s.ID == "" || s.URL == "" {
		return payments.Checkout{}, errors.New("stripe: create checkout session: no id or URL in the answer")
	}
	return payments.Checkout{ID: s.ID, URL: s.URL}, nil
}

// CryptoAPIVersion is the Stripe API version the crypto Checkout Session
// is created at: the first that knows payment_method_types crypto
// (2025-06-30.basil). Everything else, and the webhook endpoint, stays at
// stripe-go v76's 2023-10-16; Stripe renders the session's events at the
// endpoint's version.
const CryptoAPIVersion = "2025-06-30.basil"

// cryptoSession is the part of a Checkout Session CryptoCheckout reads.
type cryptoSession struct {
	stripe.APIResource
	ID  string `json:"id"`
	URL string `json:"url"`
}
