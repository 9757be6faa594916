package sandbox

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// maxTaxIDs is how many tax IDs a customer may have, as at Stripe.
const maxTaxIDs = 25

// taxIDRecord is a customer's tax ID, in the customer's partition.
type taxIDRecord struct {
	PK      string    `dynamodbav:"PK"` // SBCUS#<customer>
	SK      string    `dynamodbav:"SK"` // TAXID#<txi>
	ID      string    `dynamodbav:"id"`
	Type    string    `dynamodbav:"type"`
	Country string    `dynamodbav:"country"`
	Value   string    `dynamodbav:"value"`
	Status  string    `dynamodbav:"status"`
	Created time.Time `dynamodbav:"created"`
}

func toTaxID(r taxIDRecord) payments.TaxID {
	return payments.TaxID{ID: r.ID, Type: r.Type, Country: r.Country, Value: r.Value, Status: payments.TaxIDStatus(r.Status), Created: r.Created}
}

// taxIDNotFound is the error for a tax ID that is not the customer's, the
// same whether it is another customer's or does not exist.
func taxIDNotFound() error {
	return billing.Errorf(billing.ENOTFOUND, "That tax registration is not on your account.")
}

// CreateTaxID validates and adds a tax ID to the customer, as
// "unverified". Errors are EINVALID on the form field concerned (also for
// a value the customer has already, or a 26th tax ID), ENOTFOUND for an
// unknown customer.
func (p *Provider) CreateTaxID(ctx context.Context, customerID string, in payments.TaxIDInput) (payments.TaxID, error) {
	in, err := in.Normalize()
	if err != nil {
		return payments.TaxID{}, err
	}
	existing, err := p.taxIDs(ctx, customerID)
	if err != nil {
		return payments.TaxID{}, err
	}
	if len(existing) >= maxTaxIDs {
		return payments.TaxID{}, billing.FieldError("value", "You can have at most %d tax registrations; delete one first.", maxTaxIDs)
	}
	for _, r := range existing {
		if r.Type == in.Type && strings.EqualFold(r.Value, in.Value) {
			return payments.TaxID{}, billing.FieldError("value", "This tax ID is registered already.")
		}
	}
	rec := taxIDRecord{
		PK: customerPK(customerID), ID: newID("txi"), Type: in.Type, Country: in.Country, Value: in.Value,
		Status: string(payments.TaxIDUnverified), Created: p.now().UTC(),
	}
	rec.SK = "TAXID#" + rec.ID
	if err := p.items.Put(ctx, rec, true); err != nil {
		return payments.TaxID{}, fmt.Errorf("sandbox: create tax id: %w", err)
	}
	return toTaxID(rec), nil
}

// taxIDs reads the customer's tax ID records, newest first (Stripe's
// order); ENOTFOUND for an unknown customer.
func (p *Provider) taxIDs(ctx context.Context, customerID string) ([]taxIDRecord, error) {
	if _, err := p.customer(ctx, customerID); err != nil {
		return nil, err
	}
	var recs []taxIDRecord
	if err := p.items.Query(ctx, customerPK(customerID), "TAXID#", &recs); err != nil {
		return nil, fmt.Errorf("sandbox: tax ids: %w", err)
	}
	slices.SortFunc(recs, func(a, b taxIDRecord) int {
		return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID))
	})
	return recs, nil
}

// TaxIDs lists the customer's tax IDs, newest first; ENOTFOUND for an
// unknown customer.
func (p *Provider) TaxIDs(ctx context.Context, customerID string) ([]payments.TaxID, error) {
	recs, err := p.taxIDs(ctx, customerID)
	if err != nil {
		return nil, err
	}
	ts := make([]payments.TaxID, len(recs))
	for i, r := range recs {
		ts[i] = toTaxID(r)
	}
	return ts, nil
}

func (p *Provider) taxID(ctx context.Context, customerID, id string) (taxIDRecord, error) {
	var r taxIDRecord
	if customerID == "" || id == "" {
		return r, taxIDNotFound()
	}
	err := p.items.Get(ctx, customerPK(customerID), "TAXID#"+id, &r)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return r, taxIDNotFound()
	}
	return r, err
}

// DeleteTaxID removes the customer's tax ID; ENOTFOUND, and nothing
// changed, when it is not the customer's.
func (p *Provider) DeleteTaxID(ctx context.Context, customerID, id string) error {
	if _, err := p.taxID(ctx, customerID, id); err != nil {
		return err
	}
	return p.items.Delete(ctx, customerPK(customerID), "TAXID#"+id)
}

// VerifyTaxID marks the customer's tax ID verified: the sandbox's stand-in
// for Stripe's verification, for demos. ENOTFOUND, and nothing changed,
// when it is not the customer's.
func (p *Provider) VerifyTaxID(ctx context.Context, customerID, id string) (payments.TaxID, error) {
	return p.SetTaxIDStatus(ctx, customerID, id, payments.TaxIDVerified)
}

// SetTaxIDStatus gives the customer's tax ID the status Stripe's
// verification would (the demo seeds one of each). ENOTFOUND, and nothing
// changed, when it is not the customer's.
func (p *Provider) SetTaxIDStatus(ctx context.Context, customerID, id string, status payments.TaxIDStatus) (payments.TaxID, error) {
	r, err := p.taxID(ctx, customerID, id)
	if err != nil {
		return payments.TaxID{}, err
	}
	r.Status = string(status)
	if err := p.items.Put(ctx, r, false); err != nil {
		return payments.TaxID{}, fmt.Errorf("sandbox: set tax id status: %w", err)
	}
	return toTaxID(r), nil
}
