package stripeprovider

import (
	"context"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// cardNotFound is the error for a card that is not the customer's, the
// same whether it exists elsewhere or not at all, so another
// organisation's payment method id reveals nothing.
func cardNotFound() error {
	return billing.Errorf(billing.ENOTFOUND, "That card is not on your account.")
}

// Cards lists the customer's cards in Stripe's order (newest first), the
// default one (the customer's invoice_settings.default_payment_method)
// marked. An unknown customer is ENOTFOUND.
func (p *Provider) Cards(ctx context.Context, customerID string) ([]payments.Card, error) {
	if customerID == "" {
		return nil, billing.Errorf(billing.ENOTFOUND, "No such customer.")
	}
	cp := &stripe.CustomerParams{}
	cp.Context = ctx
	c, err := p.api.Customers.Get(customerID, cp)
	if isMissing(err) {
		return nil, billing.Errorf(billing.ENOTFOUND, "No such customer.")
	}
	if err != nil {
		return nil, wrap("get customer", err)
	}
	var defaultID string
	if c.InvoiceSettings != nil && c.InvoiceSettings.DefaultPaymentMethod != nil {
		defaultID = c.InvoiceSettings.DefaultPaymentMethod.ID
	}

	lp := &stripe.CustomerListPaymentMethodsParams{
		Customer: stripe.String(customerID),
		Type:     stripe.String(string(stripe.PaymentMethodTypeCard)),
	}
	lp.Context = ctx
	var cards []payments.Card
	it := p.api.Customers.ListPaymentMethods(lp)
	for it.Next() {
		pm := it.PaymentMethod()
		if pm.Card == nil {
			continue
		}
		card := payments.Card{
			ID:       pm.ID,
			Brand:    string(pm.Card.Brand),
			Last4:    pm.Card.Last4,
			ExpMonth: int(pm.Card.ExpMonth),
			ExpYear:  int(pm.Card.ExpYear),
			Default:  pm.ID == defaultID,
		}
		if pm.BillingDetails != nil {
			card.Name = pm.BillingDetails.Name
		}
		cards = append(cards, card)
	}
	if err := it.Err(); err != nil {
		return nil, wrap("list payment methods", err)
	}
	return cards, nil
}

// SetDefaultCard makes the card the customer's default for invoices and
// off-session charges. A card that is not the customer's is ENOTFOUND, and
// then nothing is changed.
func (p *Provider) SetDefaultCard(ctx context.Context, customerID, cardID string) error {
	if err := p.checkOwner(ctx, customerID, cardID); err != nil {
		return err
	}
	params := &stripe.CustomerParams{
		InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{
			DefaultPaymentMethod: stripe.String(cardID),
		},
	}
	params.Context = ctx
	if _, err := p.api.Customers.Update(customerID, params); err != nil {
		if isMissing(err) {
			return cardNotFound()
		}
		return wrap("set default payment method", err)
	}
	return nil
}

// DeleteCard detaches the card from the customer; Stripe then clears it as
// the customer's default if it was. A card that is not the customer's is
// ENOTFOUND, and then nothing is changed.
func (p *Provider) DeleteCard(ctx context.Context, customerID, cardID string) error {
	if err := p.checkOwner(ctx, customerID, cardID); err != nil {
		return err
	}
	params := &stripe.PaymentMethodDetachParams{}
	params.Context = ctx
	if _, err := p.api.PaymentMethods.Detach(cardID, params); err != nil {
		if isMissing(err) {
			return cardNotFound()
		}
		return wrap("detach payment method", err)
	}
	return nil
}

// checkOwner returns the cardNotFound error unless the payment method exists and
// is attached to the customer.
func (p *Provider) checkOwner(ctx context.Context, customerID, cardID string) error {
	if customerID == "" || cardID == "" {
		return cardNotFound()
	}
	params := &stripe.PaymentMethodParams{}
	params.Context = ctx
	pm, err := p.api.PaymentMethods.Get(cardID, params)
	if isMissing(err) {
		return cardNotFound()
	}
	if err != nil {
		return wrap("get payment method", err)
	}
	if pm.Customer == nil || pm.Customer.ID != customerID {
		return cardNotFound()
	}
	return nil
}
