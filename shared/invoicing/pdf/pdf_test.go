package pdf_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/invoicing/pdf"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

var closed = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// seller is invoicing.DefaultSeller as recorded on a document.
func seller() store.Seller {
	s := invoicing.DefaultSeller()
	return store.Seller{Name: s.Name, Address: s.Address, Email: s.Email, TaxID: s.TaxID}
}

func invoice() store.Invoice {
	m := money.MustParse
	billTo := billing.Address{CompanyName: "Acme (Europe) GmbH", Address1: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE", PONumber: "PO-2026-0042"}
	return store.Invoice{
		ID: "in_01TESTINVOICE", OrgID: "acme", Period: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Created: closed,
		Usage: m("50.12"), Applied: m("20"), Due: m("30.12"), Carried: m("0.003456"),
		BillTo: billTo, BillingEmail: "billing@acme.test", Issued: store.Parties{Seller: seller(), BillTo: billTo, BillingEmail: "billing@acme.test", Recorded: true},
		Status: store.InvoicePaid, PaidAt: closed, PaidWith: "Visa •••• 4242",
	}
}

// text returns the strings shown by the PDF's uncompressed content
// streams, with PDF string escapes undone.
func text(b []byte) string {
	var out []string
	for _, m := range regexp.MustCompile(`\(((?:\\.|[^\\)])*)\) ?Tj`).FindAllSubmatch(b, -1) {
		s := regexp.MustCompile(`\\(.)`).ReplaceAllString(string(m[1]), "$1")
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestWrite(t *testing.T) {
	t.Run("an invoice is a valid PDF showing the seller, the buyer, the lines, the credit applied, the amount due and the status", func(t *testing.T) {
		var buf bytes.Buffer
		if err := pdf.Write(&buf, invoicing.InvoiceDocument(invoice())); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if !bytes.HasPrefix(b, []byte("%PDF-1.")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("%%EOF")) {
			t.Fatalf("not a PDF: %q … %q", b[:min(20, len(b))], b[max(0, len(b)-20):])
		}
		if n := bytes.Count(b, []byte("/Type /Page\n")); n != 1 {
			t.Errorf("%d pages, want 1", n)
		}
		got := text(b)
		for _, want := range []string{"Invoice", "in_01TESTINVOICE", invoicing.SellerName, "Wilmington, DE 19801",
			"Acme (Europe) GmbH", "Berlin, 10115", "Purchase order (PO) number: PO-2026-0042", "Tax registrations: none on file",
			"Usage, November 2026", "$50.12", "Applied credit balance", "-$20.00", "Amount due", "$30.12", "PAID", "Dec 1, 2026",
			"$0.003456"} {
			if !strings.Contains(got, want) {
				t.Errorf("the PDF does not show %q; it shows:\n%s", want, got)
			}
		}
		// cp1252: the card's bullets and the street's ß are single bytes.
		if !bytes.Contains(b, []byte("Visa \x95\x95\x95\x95 4242")) || !bytes.Contains(b, []byte("Hauptstra\xdfe 1")) {
			t.Error("the PDF does not carry the card label or the address in the font's encoding")
		}
	})

	t.Run("the same document gives the same bytes", func(t *testing.T) {
		var a, b bytes.Buffer
		d := invoicing.InvoiceDocument(invoice())
		if err := pdf.Write(&a, d); err != nil {
			t.Fatal(err)
		}
		if err := pdf.Write(&b, d); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Error("two renderings differ")
		}
	})

	t.Run("a receipt of a top-up shows the amount paid and how", func(t *testing.T) {
		var buf bytes.Buffer
		o := store.Order{ID: "pi_3QDemoTopUp0001", OrgID: "acme", Amount: money.Dollars(100), Method: "Visa •••• 4242", Created: closed, PaidAt: closed,
			Issued: store.Parties{Seller: seller(), BillTo: invoice().BillTo, Recorded: true}}
		if err := pdf.Write(&buf, invoicing.ReceiptDocument(o)); err != nil {
			t.Fatal(err)
		}
		got := text(buf.Bytes())
		for _, want := range []string{"Receipt", "pi_3QDemoTopUp0001", "Usage credits, added to your balance", "$100.00", "Amount paid", "PAID"} {
			if !strings.Contains(got, want) {
				t.Errorf("the receipt does not show %q; it shows:\n%s", want, got)
			}
		}
		if strings.Contains(got, "Amount due") {
			t.Error("a receipt shows an amount due")
		}
	})
}
