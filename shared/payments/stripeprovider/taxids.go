package stripeprovider

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// taxIDNotFound is the error for a tax ID that is not the customer's, the
// same whether it is another customer's or does not exist.
func taxIDNotFound() error {
	return billing.Errorf(billing.ENOTFOUND, "That tax registration is not on your account.")
}

// toTaxID maps Stripe's tax ID. Its status is Stripe's verification
// status, which the customer.tax_id.updated webhook reports when it
// changes; a type Stripe does not verify (no verification object) is
// unverified.
func toTaxID(t *stripe.TaxID) payments.TaxID {
	status := payments.TaxIDUnverified
	if t.Verification != nil && t.Verification.Status != "" {
		status = payments.TaxIDStatus(t.Verification.Status)
	}
	return payments.TaxID{
		ID: t.ID, Type: string(t.Type), Country: t.Country, Value: t.Value, Status: status,
		Created: time.Unix(t.Created, 0).UTC(),
	}
}

// CreateTaxID validates the input and adds it to the customer's tax IDs
// (POST /v1/customers/{customer}/tax_ids). A value Stripe refuses is an
// EINVALID error on the value field; an unknown customer is ENOTFOUND.
func (p *Provider) CreateTaxID(ctx context.Context, customerID string, in payments.TaxIDInput) (payments.TaxID, error) {
	in, err := in.Normalize()
	if err != nil {
		return payments.TaxID{}, err
	}
	if customerID == "" {
		return payments.TaxID{}, billing.Errorf(billing.ENOTFOUND, "No such customer.")
	}
	params := &stripe.TaxIDParams{
		Customer: stripe.String(customerID),
		Type:     stripe.String(in.Type),
		Value:    stripe.String(in.Value),
	}
	params.Context = ctx
	t, err := p.api.TaxIDs.New(params)
	if se, ok := errors.AsType[*stripe.Error](err); ok && se.Type == stripe.ErrorTypeInvalidRequest &&
		(se.Code == stripe.ErrorCodeTaxIDInvalid || se.Param == "value" || se.Param == "type") {
		return payments.TaxID{}, billing.FieldError("value", "Stripe did not accept this tax ID. Check the type and the number, and try again.")
	}
	if isMissing(err) {
		return payments.TaxID{}, billing.Errorf(billing.ENOTFOUND, "No such customer.")
	}
	if err != nil {
		return payments.TaxID{}, wrap("create tax id", err)
	}
	return toTaxID(t), nil
}

// TaxIDs lists the customer's tax IDs live from Stripe, newest first, so
// their statuses are always Stripe's latest. An unknown customer is
// ENOTFOUND.
func (p *Provider) TaxIDs(ctx context.Context, customerID string) ([]payments.TaxID, error) {
	if customerID == "" {
		return nil, billing.Errorf(billing.ENOTFOUND, "No such customer.")
	}
	params := &stripe.TaxIDListParams{Customer: stripe.String(customerID)}
	params.Context = ctx
	var ts []payments.TaxID
	it := p.api.TaxIDs.List(params)
	for it.Next() {
		ts = append(ts, toTaxID(it.TaxID()))
	}
	if err := it.Err(); err != nil {
		if isMissing(err) {
			return nil, billing.Errorf(billing.ENOTFOUND, "No such customer.")
		}
		return nil, wrap("list tax ids", err)
	}
	return ts, nil
}

// DeleteTaxID deletes the customer's tax ID (DELETE
// /v1/customers/{customer}/tax_ids/{id}); Stripe finds it only under its
// own customer, so another customer's is ENOTFOUND and nothing changes.
func (p *Provider) DeleteTaxID(ctx context.Context, customerID, id string) error {
	if customerID == "" || id == "" {
		return taxIDNotFound()
	}
	params := &stripe.TaxIDParams{Customer: stripe.String(customerID)}
	params.Context = ctx
	if _, err := p.api.TaxIDs.Del(id, params); err != nil {
		if isMissing(err) {
			return taxIDNotFound()
		}
		return wrap("delete tax id", err)
	}
	return nil
}
