package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// Customer is a sandbox customer as the provider keeps it, with what
// UpdateCustomer last set, like a Stripe customer's name, email, address
// and invoice custom fields.
type Customer struct {
	ID      string
	OrgID   string
	Name    string
	Email   string
	Address Address
	// InvoiceFields are the invoice custom fields by name, e.g.
	// payments.POField → "PO-2026-0042".
	InvoiceFields map[string]string
}

// Address is a customer's postal address, with Stripe's field names.
type Address struct {
	Line1      string
	Line2      string
	City       string
	PostalCode string
	State      string
	Country    string
}

// The parts UpdateCustomer sets live in items of their own beside the
// customer's CUSTOMER item (which the card calls rewrite whole), one per
// part, so that concurrent updates of the address and of the email never
// undo each other.
const (
	skAddress = "DETAILS#ADDRESS"
	skEmail   = "DETAILS#EMAIL"
)

type addressRecord struct {
	PK         string    `dynamodbav:"PK"` // SBCUS#<customer>
	SK         string    `dynamodbav:"SK"` // DETAILS#ADDRESS
	Name       string    `dynamodbav:"name"`
	Line1      string    `dynamodbav:"line1"`
	Line2      string    `dynamodbav:"line2"`
	City       string    `dynamodbav:"city"`
	PostalCode string    `dynamodbav:"postal_code"`
	State      string    `dynamodbav:"state"`
	Country    string    `dynamodbav:"country"`
	PONumber   string    `dynamodbav:"po_number"`
	Updated    time.Time `dynamodbav:"updated"`
}

type emailRecord struct {
	PK      string    `dynamodbav:"PK"` // SBCUS#<customer>
	SK      string    `dynamodbav:"SK"` // DETAILS#EMAIL
	Email   string    `dynamodbav:"email"`
	Updated time.Time `dynamodbav:"updated"`
}

// UpdateCustomer sets the customer's name, address, PO number invoice field
// and email as u says. It returns ENOTFOUND for an unknown customer.
func (p *Provider) UpdateCustomer(ctx context.Context, customerID string, u payments.CustomerUpdate) error {
	if _, err := p.customer(ctx, customerID); err != nil {
		return err
	}
	now := p.now().UTC()
	if a := u.Address; a != nil {
		rec := addressRecord{PK: customerPK(customerID), SK: skAddress, Name: a.CompanyName, Line1: a.Address1, Line2: a.Address2,
			City: a.City, PostalCode: a.PostalCode, State: a.Region, Country: a.Country, PONumber: a.PONumber, Updated: now}
		if err := p.items.Put(ctx, rec, false); err != nil {
			return fmt.Errorf("sandbox: update customer address: %w", err)
		}
	}
	if u.Email != "" {
		if err := p.items.Put(ctx, emailRecord{PK: customerPK(customerID), SK: skEmail, Email: u.Email, Updated: now}, false); err != nil {
			return fmt.Errorf("sandbox: update customer email: %w", err)
		}
	}
	return nil
}

// Customer returns the sandbox customer with what UpdateCustomer set. It
// returns ENOTFOUND for an unknown customer.
func (p *Provider) Customer(ctx context.Context, customerID string) (Customer, error) {
	c, err := p.customer(ctx, customerID)
	if err != nil {
		return Customer{}, err
	}
	out := Customer{ID: c.ID, OrgID: c.OrgID, Name: c.Name, Email: c.Email, InvoiceFields: map[string]string{}}
	var a addressRecord
	switch err := p.items.Get(ctx, customerPK(customerID), skAddress, &a); {
	case err == nil:
		out.Name = a.Name
		out.Address = Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode, State: a.State, Country: a.Country}
		if a.PONumber != "" {
			out.InvoiceFields[payments.POField] = a.PONumber
		}
	case billing.ErrorCode(err) != billing.ENOTFOUND:
		return Customer{}, err
	}
	var e emailRecord
	switch err := p.items.Get(ctx, customerPK(customerID), skEmail, &e); {
	case err == nil:
		out.Email = e.Email
	case billing.ErrorCode(err) != billing.ENOTFOUND:
		return Customer{}, err
	}
	return out, nil
}
