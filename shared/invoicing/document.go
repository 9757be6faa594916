package invoicing

import (
	"context"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// The seller on every invoice and receipt: the one place its name and
// address are set.
const (
	SellerName    = "Example API Platform, Inc."
	SellerAddress = "100 Example Avenue, Suite 400\nWilmington, DE 19801\nUnited States"
	SellerEmail   = "billing@example.com"
	SellerTaxID   = "EIN 00-0000000"
)

// Document kinds.
const (
	DocInvoice = "Invoice"
	DocReceipt = "Receipt" // of a top-up order
)

// Document is an invoice or a receipt as the printable page and the PDF
// show it. Amounts are micro-dollars.
type Document struct {
	Kind   string
	Number string
	Date   time.Time
	// DueDate is set for an unpaid invoice; PaidAt once paid.
	DueDate time.Time
	PaidAt  time.Time
	// PaidWith says how it was paid, e.g. "Visa •••• 4242".
	PaidWith string
	Status   string
	Seller   Party
	Buyer    Party
	// PONumber is the buyer's purchase order number.
	PONumber string
	// TaxRegistrations are the buyer's tax registrations, e.g. "DE VAT
	// DE123456789"; none are on file yet.
	TaxRegistrations []string
	Lines            []Line
	Subtotal         money.Money
	// CreditApplied is the credit balance applied, ≥ 0 (shown negative).
	CreditApplied money.Money
	AmountDue     money.Money
	// AmountPaid is what was paid in money.
	AmountPaid money.Money
	// Carried is the period's usage left for the next invoice (under a
	// cent, or an amount due below the minimum charge).
	Carried money.Money
	// ProviderPDF is the payment provider's own PDF (Stripe's hosted
	// invoice PDF), when there is one; HostedURL its payment page.
	ProviderPDF string
	HostedURL   string
	// Refunded is what was refunded of the payment since (an invoice's
	// refunds, a receipt's), and Disputed what a dispute holds back.
	Refunded money.Money
	Disputed money.Money
}

// Party is a seller or buyer: a name and address lines.
type Party struct {
	Name    string
	Address []string
	Email   string
	TaxID   string
}

// Line is one line of a document.
type Line struct {
	Description string
	Amount      money.Money
}

// Seller returns the seller of every document.
func Seller() Party {
	return Party{Name: SellerName, Address: strings.Split(SellerAddress, "\n"), Email: SellerEmail, TaxID: SellerTaxID}
}

// Document returns the organisation's invoice, or the receipt of its
// top-up order, with id (in_…, or the order's pi_…/cs_…). It returns
// ENOTFOUND when the organisation has neither, another organisation's
// included.
func (s *Service) Document(ctx context.Context, orgID, id string) (Document, error) {
	d, err := s.document(ctx, orgID, id)
	if err != nil {
		return d, err
	}
	d.TaxRegistrations, err = s.taxRegistrations(ctx, orgID)
	return d, err
}

// taxLister is a provider that keeps the customer's tax registrations.
type taxLister interface {
	TaxIDs(ctx context.Context, customerID string) ([]payments.TaxID, error)
}

// taxRegistrations are the buyer's tax registrations as shown on an
// invoice, e.g. "European VAT number DE123456789"; none before the
// organisation has a payment customer.
func (s *Service) taxRegistrations(ctx context.Context, orgID string) ([]string, error) {
	tl, ok := s.payments.Provider().(taxLister)
	if !ok {
		return nil, nil
	}
	p, err := s.store.Profile(ctx, orgID)
	if err != nil || p.CustomerID == "" {
		return nil, err
	}
	ids, err := tl.TaxIDs(ctx, p.CustomerID)
	if err != nil {
		return nil, err
	}
	regs := make([]string, len(ids))
	for i, id := range ids {
		desc := id.Type
		if t, ok := payments.LookupTaxIDType(id.Type); ok {
			desc = t.Description
		}
		regs[i] = desc + " " + id.Value
	}
	return regs, nil
}

func (s *Service) document(ctx context.Context, orgID, id string) (Document, error) {
	if strings.HasPrefix(id, "in_") {
		inv, err := s.store.Invoice(ctx, orgID, id)
		if err != nil {
			return Document{}, err
		}
		return InvoiceDocument(inv), nil
	}
	orders, err := s.store.Orders(ctx, orgID)
	if err != nil {
		return Document{}, err
	}
	for _, o := range orders {
		if o.ID == id && id != "" {
			profile, err := s.store.Profile(ctx, orgID)
			if err != nil {
				return Document{}, err
			}
			return ReceiptDocument(o, profile), nil
		}
	}
	return Document{}, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", id)
}

// InvoiceDocument is the document of an invoice, billed to the address it
// was closed with.
func InvoiceDocument(inv store.Invoice) Document {
	d := Document{
		Kind: DocInvoice, Number: inv.ID, Date: inv.Created, Status: inv.Status, PaidWith: inv.PaidWith,
		Seller: Seller(), Buyer: buyer(inv.BillTo, inv.BillingEmail), PONumber: inv.BillTo.PONumber,
		Lines:    []Line{{Description: UsageLine(inv.Period) + " (" + periodRange(inv.Period, inv.Created) + ")", Amount: inv.Usage}},
		Subtotal: inv.Usage, CreditApplied: inv.Applied, AmountDue: inv.Due, Carried: inv.Carried,
		ProviderPDF: inv.PDFURL, HostedURL: inv.HostedURL, Refunded: inv.Refunded,
	}
	switch {
	case inv.Status == store.InvoicePaid:
		d.PaidAt, d.AmountPaid = inv.PaidAt, inv.Due
	case inv.Unpaid():
		d.DueDate = inv.DueDate
	}
	return d
}

// ReceiptDocument is the receipt of a paid top-up order.
func ReceiptDocument(o store.Order, p billing.Profile) Document {
	return Document{
		Kind: DocReceipt, Number: o.ID, Date: o.Created, PaidAt: o.PaidAt, PaidWith: o.Method, Status: store.InvoicePaid,
		Seller: Seller(), Buyer: buyer(p.Address, p.BillingEmail), PONumber: p.Address.PONumber,
		Lines:    []Line{{Description: "Usage credits, added to your balance", Amount: o.Amount}},
		Subtotal: o.Amount, AmountPaid: o.Amount, Refunded: o.Refunded(), Disputed: o.Disputed(),
	}
}

func buyer(a billing.Address, email string) Party {
	p := Party{Name: a.CompanyName, Email: email}
	city := strings.Join(nonEmpty(a.City, strings.TrimSpace(a.Region+" "+a.PostalCode)), ", ")
	for _, l := range []string{a.Address1, a.Address2, city, a.Country} {
		if l != "" {
			p.Address = append(p.Address, l)
		}
	}
	return p
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// periodRange is the days of a period invoiced at closed, e.g.
// "Nov 1 – Nov 30, 2026": up to the close when it came early (a forced
// close).
func periodRange(period, closed time.Time) string {
	last := PeriodEnd(period).AddDate(0, 0, -1)
	if c := closed.UTC(); c.Before(last) && !c.Before(period) {
		last = c
	}
	return period.Format("Jan 2") + " – " + last.Format("Jan 2, 2006")
}
