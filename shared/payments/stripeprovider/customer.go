package stripeprovider

import (
	"context"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
)

// UpdateCustomer sets, in one customers.Update call, the customer's name
// (the company name), address and invoice custom fields from u.Address,
// and its email from u.Email. The PO number is the customer's only invoice
// custom field, payments.POField: the list is replaced, and an empty PO
// number clears it. It returns ENOTFOUND for a customer Stripe does not
// know, and wraps any other failure.
func (p *Provider) UpdateCustomer(ctx context.Context, customerID string, u payments.CustomerUpdate) error {
	params := &stripe.CustomerParams{}
	params.Context = ctx
	if a := u.Address; a != nil {
		params.Name = stripe.String(a.CompanyName)
		params.Address = &stripe.AddressParams{
			Line1:      stripe.String(a.Address1),
			Line2:      stripe.String(a.Address2),
			City:       stripe.String(a.City),
			PostalCode: stripe.String(a.PostalCode),
			State:      stripe.String(a.Region),
			Country:    stripe.String(a.Country),
		}
		// A non-nil empty list is sent as invoice_settings[custom_fields]=""
		// which removes the fields set before.
		fields := []*stripe.CustomerInvoiceSettingsCustomFieldParams{}
		if a.PONumber != "" {
			fields = append(fields, &stripe.CustomerInvoiceSettingsCustomFieldParams{
				Name: stripe.String(payments.POField), Value: stripe.String(a.PONumber),
			})
		}
		params.InvoiceSettings = &stripe.CustomerInvoiceSettingsParams{CustomFields: fields}
	}
	if u.Email != "" {
		params.Email = stripe.String(u.Email)
	}
	if _, err := p.api.Customers.Update(customerID, params); err != nil {
		if isMissing(err) {
			return billing.Errorf(billing.ENOTFOUND, "No such customer.")
		}
		return wrap("update customer", err)
	}
	return nil
}
