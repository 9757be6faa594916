package invoicing

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// Kinds of an entry of the order and invoice history.
const (
	KindInvoice = "invoice"
	KindOrder   = "order" // a top-up of usage credits, paid when ordered
)

// Entry is one row of the order and invoice history.
type Entry struct {
	Kind string
	ID   string
	// Date is the invoice date, or when the order was placed.
	Date   time.Time
	PaidAt time.Time
	// Amount is what was paid in money: an invoice's amount due, an
	// order's amount.
	Amount money.Money
	Status string
	// Invoice is set for an invoice, Order for an order.
	Invoice store.Invoice
	Order   store.Order
}

// Lists are the two tables of the Invoices page.
type Lists struct {
	// Due are the unpaid invoices, oldest due date first.
	Due []store.Invoice
	// History are paid and void invoices and the paid top-up orders,
	// newest first. Periods closed with no usage are not listed.
	History []Entry
}

// List returns the organisation's Payments Due and its order and invoice
// history.
func (s *Service) List(ctx context.Context, orgID string) (Lists, error) {
	invoices, err := s.store.Invoices(ctx, orgID)
	if err != nil {
		return Lists{}, err
	}
	orders, err := s.store.Orders(ctx, orgID)
	if err != nil {
		return Lists{}, err
	}
	var l Lists
	for _, inv := range invoices {
		switch {
		case inv.Unpaid():
			l.Due = append(l.Due, inv)
		case inv.Usage > 0:
			l.History = append(l.History, Entry{Kind: KindInvoice, ID: inv.ID, Date: inv.Created, PaidAt: inv.PaidAt,
				Amount: inv.Due, Status: inv.Status, Invoice: inv})
		}
	}
	for _, o := range orders {
		l.History = append(l.History, Entry{Kind: KindOrder, ID: o.ID, Date: o.Created, PaidAt: o.PaidAt,
			Amount: o.Amount, Status: store.InvoicePaid, Order: o})
	}
	slices.SortStableFunc(l.Due, func(a, b store.Invoice) int { return a.DueDate.Compare(b.DueDate) })
	slices.SortStableFunc(l.History, func(a, b Entry) int {
		return cmp.Or(b.Date.Compare(a.Date), cmp.Compare(b.ID, a.ID))
	})
	return l, nil
}
