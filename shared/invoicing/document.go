package invoicing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// The default seller: of local mode, and of the documents issued before
// the seller was recorded on each (what those documents always showed).
// In AWS the seller comes from configuration (see README.md, Seller and
// documents) through Service.WithSeller.
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
	// TaxRegistrations are the buyer's tax registrations when it was
	// issued, e.g. "European VAT number DE123456789".
	TaxRegistrations []string
	// Unrecorded is set on a document issued before its parties were
	// recorded on it: then the buyer's tax registrations (and, on a
	// receipt, the buyer) are unknown and shown as not recorded, never
	// read from today's settings.
	Unrecorded bool
	Lines      []Line
	Subtotal   money.Money
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

// BuyerUnrecorded reports whether the document's buyer is unknown: a
// receipt of an order credited before parties were recorded.
func (d Document) BuyerUnrecorded() bool { return d.Unrecorded && d.Kind == DocReceipt }

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

// DefaultSeller is the seller of SellerName, SellerAddress, SellerEmail
// and SellerTaxID.
func DefaultSeller() Party {
	return Party{Name: SellerName, Address: strings.Split(SellerAddress, "\n"), Email: SellerEmail, TaxID: SellerTaxID}
}

// WithSeller makes p the seller of the documents s issues from now on
// (DefaultSeller when not called); documents issued before keep theirs.
// Call it before s is used.
func (s *Service) WithSeller(p Party) *Service {
	s.seller = p
	return s
}

// Parties returns the seller and the buyer of a document issued to the
// organisation now: the configured seller, the invoice address, billing
// email and the tax registrations kept at the payment provider. They are
// copied onto each invoice and receipt when it is issued (invariant 11).
// It returns ENOTFOUND for an unknown organisation, and an error when the
// provider cannot list the tax registrations.
func (s *Service) Parties(ctx context.Context, orgID string) (store.Parties, error) {
	p, err := s.store.Profile(ctx, orgID)
	if err != nil {
		return store.Parties{}, err
	}
	regs, err := s.taxRegistrations(ctx, p.CustomerID)
	if err != nil {
		return store.Parties{}, fmt.Errorf("tax registrations of %s: %w", orgID, err)
	}
	sel := s.seller
	return store.Parties{
		Seller: store.Seller{Name: sel.Name, Address: slices.Clone(sel.Address), Email: sel.Email, TaxID: sel.TaxID},
		BillTo: p.Address, BillingEmail: p.BillingEmail, TaxRegistrations: regs, Recorded: true,
	}, nil
}

// Document returns the organisation's invoice, or the receipt of its
// top-up order, with id (in_…, or the order's pi_…/cs_…), as it was
// issued: its seller and buyer are those recorded on it, never today's
// settings. It returns ENOTFOUND when the organisation has neither,
// another organisation's included.
func (s *Service) Document(ctx context.Context, orgID, id string) (Document, error) {
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
			return ReceiptDocument(o), nil
		}
	}
	return Document{}, billing.Errorf(billing.ENOTFOUND, "Invoice %s not found.", id)
}

// taxLister is a provider that keeps the customer's tax registrations.
type taxLister interface {
	TaxIDs(ctx context.Context, customerID string) ([]payments.TaxID, error)
}

// taxRegistrations are the customer's tax registrations as a document
// shows them, e.g. "European VAT number DE123456789"; none before the
// organisation has a payment customer, or without a provider that keeps
// them.
func (s *Service) taxRegistrations(ctx context.Context, customerID string) ([]string, error) {
	if s.payments == nil || customerID == "" {
		return nil, nil
	}
	tl, ok := s.payments.Provider().(taxLister)
	if !ok {
		return nil, nil
	}
	ids, err := tl.TaxIDs(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var regs []string // nil when none: the embedded DynamoDB garbles an empty list
	for _, id := range ids {
		regs = append(regs, payments.TaxIDDescription(id.Type)+" "+id.Value)
	}
	return regs, nil
}

// InvoiceDocument is the document of an invoice, with the parties recorded
// when its cycle closed. An invoice closed before parties were recorded
// shows what it recorded then (its bill-to address, PO number and billing
// email), DefaultSeller (the one seller of that time), and its tax
// registrations as not recorded.
func InvoiceDocument(inv store.Invoice) Document {
	d := Document{
		Kind: DocInvoice, Number: inv.ID, Date: inv.Created, Status: inv.Status, PaidWith: inv.PaidWith,
		Seller: DefaultSeller(), Buyer: buyer(inv.BillTo, inv.BillingEmail), PONumber: inv.BillTo.PONumber, Unrecorded: true,
		Lines:    []Line{{Description: UsageLine(inv.Period) + " (" + periodRange(inv.Period, inv.Created) + ")", Amount: inv.Usage}},
		Subtotal: inv.Usage, CreditApplied: inv.Applied, AmountDue: inv.Due, Carried: inv.Carried,
		ProviderPDF: inv.PDFURL, HostedURL: inv.HostedURL, Refunded: inv.Refunded,
	}
	if inv.Issued.Recorded {
		issued(&d, inv.Issued)
	}
	switch {
	case inv.Status == store.InvoicePaid:
		d.PaidAt, d.AmountPaid = inv.PaidAt, inv.Due
	case inv.Unpaid():
		d.DueDate = inv.DueDate
	}
	return d
}

// ReceiptDocument is the receipt of a paid top-up order, with the parties
// recorded when it was credited. An order credited before parties were
// recorded recorded no buyer: its receipt shows DefaultSeller (the one
// seller of that time) and the buyer as not recorded, rather than today's
// address, which may postdate it.
func ReceiptDocument(o store.Order) Document {
	d := Document{
		Kind: DocReceipt, Number: o.ID, Date: o.Created, PaidAt: o.PaidAt, PaidWith: o.Method, Status: store.InvoicePaid,
		Seller: DefaultSeller(), Unrecorded: true,
		Lines:    []Line{{Description: "Usage credits, added to your balance", Amount: o.Amount}},
		Subtotal: o.Amount, AmountPaid: o.Amount, Refunded: o.Refunded(), Disputed: o.Disputed(),
	}
	if o.Issued.Recorded {
		issued(&d, o.Issued)
	}
	return d
}

// issued puts the parties recorded on a document onto it.
func issued(d *Document, p store.Parties) {
	d.Seller = Party{Name: p.Seller.Name, Address: p.Seller.Address, Email: p.Seller.Email, TaxID: p.Seller.TaxID}
	d.Buyer, d.PONumber = buyer(p.BillTo, p.BillingEmail), p.BillTo.PONumber
	d.TaxRegistrations, d.Unrecorded = p.TaxRegistrations, false
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
