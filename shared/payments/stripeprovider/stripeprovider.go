// Package stripeprovider is the Stripe implementation of payments.Provider,
// on stripe-go v76 with an injected client: it never reads or sets the
// global stripe.Key. One Stripe customer stands for one organisation and
// carries the organisation id in its metadata. Card numbers never reach
// our servers: cards are added in the browser with a SetupIntent and
// Stripe Elements, and this package only lists, chooses and charges them.
package stripeprovider

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
)

// Provider is the Stripe payment provider. It is safe for concurrent use.
type Provider struct {
	api    *client.API
	crypto bool
}

var _ payments.Provider = (*Provider)(nil)

// New returns the provider on api, a client built with client.New from
// the secret key (and, in tests, backends pointing at a stand-in server).
func New(api *client.API) *Provider {
	return &Provider{api: api}
}

// WithCrypto says whether the Stripe account is approved for crypto
// payments (configuration: Stripe tells it per account), and returns p.
// Without it the Cryptocurrency option is not offered.
func (p *Provider) WithCrypto(on bool) *Provider {
	p.crypto = on
	return p
}

// CryptoEnabled reports what WithCrypto set.
func (p *Provider) CryptoEnabled() bool { return p.crypto }

// currency is the one currency of the product.
const currency = string(stripe.CurrencyUSD)

// Metadata keys on customers, PaymentIntents and Checkout Sessions.
const (
	metaOrgID   = "org_id"
	metaPurpose = "purpose"
)

// CreateCustomer creates the organisation's Stripe customer with the
// organisation id in its metadata and returns its id (cus_…). The
// idempotency key is derived from the organisation id, so two concurrent
// first payments of one organisation create one customer. Stripe keeps a
// key for 24 hours: within them a repeat with another name or email is an
// (internal) idempotency error, after them it would create a second
// customer, so the caller stores the id it gets back and reuses it.
func (p *Provider) CreateCustomer(ctx context.Context, orgID, name, email string) (string, error) {
	params := &stripe.CustomerParams{
		Name:     stripe.String(name),
		Email:    stripe.String(email),
		Metadata: map[string]string{metaOrgID: orgID},
	}
	params.Context = ctx
	params.SetIdempotencyKey("customer-" + orgID)
	c, err := p.api.Customers.New(params)
	if err != nil {
		return "", wrap("create customer", err)
	}
	return c.ID, nil
}

// SetupIntent creates a SetupIntent that saves a card to the customer for
// later off-session payments, and returns its client secret for Stripe
// Elements on the "Add New Credit Card" page. The secret lets the browser
// confirm this one SetupIntent; do not log it. addedBy (the signed-in
// member's email) goes in its metadata, so the webhook that reports the
// saved card can record who added it.
func (p *Provider) SetupIntent(ctx context.Context, customerID, addedBy string) (clientSecret string, err error) {
	params := &stripe.SetupIntentParams{
		Customer:           stripe.String(customerID),
		Usage:              stripe.String(string(stripe.SetupIntentUsageOffSession)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Metadata:           map[string]string{MetaAddedBy: addedBy},
	}
	params.Context = ctx
	si, err := p.api.SetupIntents.New(params)
	if err != nil {
		return "", wrap("create setup intent", err)
	}
	return si.ClientSecret, nil
}

// MetaAddedBy is the SetupIntent metadata key naming who added the card.
const MetaAddedBy = "added_by"

// cents converts a positive amount of whole cents to Stripe's smallest
// currency unit; anything else is an EINVALID error on the amount field.
func cents(m money.Money) (int64, error) {
	switch {
	case m <= 0:
		return 0, billing.FieldError("amount", "Enter an amount greater than zero.")
	case m%money.Cent != 0:
		return 0, billing.FieldError("amount", "Enter the amount in whole cents.")
	}
	return int64(m / money.Cent), nil
}

// fromCents converts Stripe's smallest currency unit back to Money.
func fromCents(c int64) money.Money {
	return money.Money(c) * money.Cent
}
