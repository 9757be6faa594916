package payments

import "github.com/acme/billing/shared/billing"

// POField is the name of the invoice custom field that carries the
// organisation's purchase order number on the customer's invoices.
const POField = "PO number"

// CustomerUpdate is what the Billing section keeps on the organisation's
// payment customer, for invoices: the parts left empty stay as they are.
type CustomerUpdate struct {
	// Address, when not nil, sets the customer's name to the company name,
	// its postal address (Region is the state or province), and the
	// invoice custom field POField to the PO number; an empty PO number
	// removes the field.
	Address *billing.Address
	// Email, when not empty, sets the customer's email: where the
	// provider sends invoices and receipts.
	Email string
}
