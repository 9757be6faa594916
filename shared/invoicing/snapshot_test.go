package invoicing_test

import (
	"bytes"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/invoicing/pdf"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
)

// issuedAs is a document as its owner gets it: the document and its PDF.
type issuedAs struct {
	doc invoicing.Document
	pdf []byte
}

func (e *env) issuedAs(svc *invoicing.Service, id string) issuedAs {
	e.t.Helper()
	d, err := svc.Document(e.t.Context(), "acme", id)
	if err != nil {
		e.t.Fatalf("document %s: %v", id, err)
	}
	var buf bytes.Buffer
	if err := pdf.Write(&buf, d); err != nil {
		e.t.Fatal(err)
	}
	return issuedAs{doc: d, pdf: buf.Bytes()}
}

// sorted is regs in order: the sandbox lists registrations made at one
// instant in no fixed order.
func sorted(regs []string) []string { return slices.Sorted(slices.Values(regs)) }

func (e *env) credit(paymentID string) {
	e.t.Helper()
	if _, err := e.store.CreditPayment(e.t.Context(), "acme", store.PaymentCredit{PaymentID: paymentID, Amount: money.Dollars(20),
		Description: "Stripe Payment Intent " + paymentID + " via Add Credits", Method: "Visa •••• 4242"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) addTaxID(customer, country, typ, value string) payments.TaxID {
	e.t.Helper()
	id, err := e.sandbox.CreateTaxID(e.t.Context(), customer, payments.TaxIDInput{Country: country, Type: typ, Value: value})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func TestIssuedDocumentsKeepTheirParties(t *testing.T) {
	e := newEnv(t)
	e.org("acme", money.Dollars(10))
	e.card("acme", "4242424242424242")
	customer, err := e.pay.Customer(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	first := invoicing.Party{Name: "First Seller Ltd", Address: []string{"1 First Street", "London EC1A 1AA"}, Email: "billing@first.test", TaxID: "GB VAT GB111111111"}
	e.svc.WithSeller(first)
	e.addTaxID(customer, "DE", "eu_vat", "DE123456789")
	gone := e.addTaxID(customer, "GB", "gb_vat", "GB123456789")

	e.credit("pi_before")
	e.usage("acme", money.Dollars(30))
	inv, err := e.svc.Close(t.Context(), "acme", november)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"pi_before", inv.ID}
	before := map[string]issuedAs{}
	for _, id := range ids {
		before[id] = e.issuedAs(e.svc, id)
		d := before[id].doc
		if d.Seller.Name != first.Name || d.Buyer.Name != "Org acme Ltd" || d.PONumber != "PO-acme" || d.Buyer.Email != "billing@acme.test" ||
			!reflect.DeepEqual(sorted(d.TaxRegistrations), []string{"European VAT number DE123456789", "United Kingdom VAT number GB123456789"}) || d.Unrecorded {
			t.Errorf("%s as issued: %+v", id, d)
		}
	}

	// Every setting changes, the seller too (a deploy with new SELLER_*).
	newAddress := billing.Address{CompanyName: "Acme Europe GmbH", Address1: "Unter den Linden 1", City: "Berlin", PostalCode: "10117", Country: "DE", PONumber: "PO-2027-0001"}
	if err := e.store.SetAddress(t.Context(), "acme", billing.Address{CompanyName: "Org acme Ltd", Country: "US", PONumber: "PO-acme"}, newAddress, billing.AuditEntry{Actor: "you@acme.test", Page: "Invoice Address"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetBillingEmail(t.Context(), "acme", "billing@acme.test", "ap@acme-europe.test", billing.AuditEntry{Actor: "you@acme.test", Page: "Invoice Notifications"}); err != nil {
		t.Fatal(err)
	}
	if err := e.sandbox.DeleteTaxID(t.Context(), customer, gone.ID); err != nil {
		t.Fatal(err)
	}
	e.addTaxID(customer, "FR", "eu_vat", "FRAB123456789")
	second := invoicing.Party{Name: "Second Seller GmbH", Address: []string{"2 Second Strasse", "10115 Berlin"}, Email: "billing@second.test", TaxID: "DE VAT DE222222222"}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	redeployed := invoicing.New(e.store, e.pay, e.clock, log).WithSeller(second)

	t.Run("documents issued before show exactly what they did, PDF byte for byte", func(t *testing.T) {
		for _, svc := range []*invoicing.Service{e.svc, redeployed} {
			for _, id := range ids {
				after := e.issuedAs(svc, id)
				if !reflect.DeepEqual(after.doc, before[id].doc) {
					t.Errorf("%s changed:\nbefore %+v\nafter  %+v", id, before[id].doc, after.doc)
				}
				if !bytes.Equal(after.pdf, before[id].pdf) {
					t.Errorf("the PDF of %s changed", id)
				}
			}
		}
	})

	t.Run("documents issued afterwards show the new seller and buyer", func(t *testing.T) {
		e.credit("pi_after")
		e.setNow(closeAt.AddDate(0, 1, 0))
		e.usage("acme", money.Dollars(5))
		next, err := redeployed.Close(t.Context(), "acme", closeAt)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"pi_after", next.ID} {
			d := e.issuedAs(redeployed, id)
			if !reflect.DeepEqual(d.doc.Seller, second) || d.doc.Buyer.Name != "Acme Europe GmbH" || d.doc.PONumber != "PO-2027-0001" ||
				d.doc.Buyer.Email != "ap@acme-europe.test" ||
				!reflect.DeepEqual(sorted(d.doc.TaxRegistrations), []string{"European VAT number DE123456789", "European VAT number FRAB123456789"}) {
				t.Errorf("%s issued after the changes: %+v", id, d.doc)
			}
			if !bytes.Contains(d.pdf, []byte("Second Seller GmbH")) || !bytes.Contains(d.pdf, []byte("FRAB123456789")) || bytes.Contains(d.pdf, []byte("GB123456789")) {
				t.Errorf("the PDF of %s does not show the new parties", id)
			}
		}
	})
}

func TestDocumentsStoredWithoutParties(t *testing.T) {
	e := newEnv(t)
	e.org("acme", money.Dollars(10))
	customer, err := e.pay.Customer(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	// A store with no issuer writes documents as they were before parties
	// were recorded.
	old := e.db.Store(e.clock)
	if _, err := old.CreditPayment(t.Context(), "acme", store.PaymentCredit{PaymentID: "pi_old", Amount: money.Dollars(20), Description: "old", Method: "Visa •••• 4242"}); err != nil {
		t.Fatal(err)
	}
	e.usage("acme", money.Dollars(30))
	acct, err := old.Account(t.Context(), "acme", closeAt)
	if err != nil {
		t.Fatal(err)
	}
	f := invoicing.Compute(acct.UsagePeriod, acct.Ledger)
	inv, _, err := old.CloseCycle(t.Context(), store.Invoice{OrgID: "acme", Period: november, Created: closeAt, Usage: f.Invoiced, Applied: f.Applied,
		Due: f.Due, Carried: f.Carried, Status: store.InvoiceOpen, DueDate: closeAt.AddDate(0, 0, 14),
		BillTo: billing.Address{CompanyName: "Org acme Ltd", Country: "US", PONumber: "PO-acme"}, BillingEmail: "billing@acme.test"}, acct.Ledger)
	if err != nil {
		t.Fatal(err)
	}
	// Settings made since: none may show on them.
	e.addTaxID(customer, "DE", "eu_vat", "DE123456789")
	e.svc.WithSeller(invoicing.Party{Name: "Configured Seller Inc."})

	t.Run("an invoice shows the address, PO number and billing email it recorded, the seller of its time, and its tax registrations as not recorded", func(t *testing.T) {
		d := e.issuedAs(e.svc, inv.ID)
		if d.doc.Buyer.Name != "Org acme Ltd" || d.doc.PONumber != "PO-acme" || d.doc.Buyer.Email != "billing@acme.test" ||
			!reflect.DeepEqual(d.doc.Seller, invoicing.DefaultSeller()) || !d.doc.Unrecorded || d.doc.TaxRegistrations != nil {
			t.Errorf("%+v", d.doc)
		}
		if !bytes.Contains(d.pdf, []byte("Tax registrations: not recorded")) || bytes.Contains(d.pdf, []byte("DE123456789")) {
			t.Error("the PDF does not say the registrations were not recorded, or shows today's")
		}
	})

	t.Run("a receipt shows the seller of its time and its buyer as not recorded, never today's settings", func(t *testing.T) {
		d := e.issuedAs(e.svc, "pi_old")
		if !reflect.DeepEqual(d.doc.Seller, invoicing.DefaultSeller()) || !d.doc.BuyerUnrecorded() || d.doc.Buyer.Name != "" || d.doc.PONumber != "" {
			t.Errorf("%+v", d.doc)
		}
		for _, today := range []string{"Org acme Ltd", "PO-acme", "DE123456789", "Configured Seller"} {
			if bytes.Contains(d.pdf, []byte(today)) {
				t.Errorf("the PDF shows %q", today)
			}
		}
		if !strings.Contains(string(d.pdf), "not recorded on this receipt") {
			t.Error("the PDF does not say the buyer was not recorded")
		}
	})
}
