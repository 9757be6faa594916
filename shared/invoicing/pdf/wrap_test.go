package pdf_test

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/invoicing/pdf"
	"github.com/acme/billing/shared/store"
)

// run is a string the PDF shows: where it starts, in points from the
// page's left edge, and how wide it is.
type run struct {
	text        string
	left, width float64
}

// runs returns the strings of b's content streams with their positions and
// widths, measured in the fonts and sizes they are set in.
func runs(t *testing.T, b []byte) []run {
	t.Helper()
	// The font resources: /F<hash> n 0 R, and object n's /BaseFont.
	base := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\d+) 0 obj\n<</Type /Font\n/BaseFont /(\S+)`).FindAllSubmatch(b, -1) {
		base[string(m[1])] = string(m[2])
	}
	fonts := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^/(F[0-9a-f]+) (\d+) 0 R$`).FindAllSubmatch(b, -1) {
		fonts[string(m[1])] = base[string(m[2])]
	}
	measure := fpdf.New("P", "pt", "A4", "")
	var out []run
	ops := regexp.MustCompile(`/(F[0-9a-f]+) ([\d.]+) Tf|BT ([\d.]+) [\d.]+ Td \(((?:\\.|[^\\)])*)\) ?Tj`)
	for _, m := range ops.FindAllSubmatch(b, -1) {
		if m[1] != nil {
			style := ""
			if strings.HasSuffix(fonts[string(m[1])], "-Bold") {
				style = "B"
			}
			size, _ := strconv.ParseFloat(string(m[2]), 64)
			measure.SetFont("Helvetica", style, size)
			continue
		}
		left, _ := strconv.ParseFloat(string(m[3]), 64)
		s := regexp.MustCompile(`\\(.)`).ReplaceAllString(string(m[4]), "$1")
		// Measure cp1252's other letters as W, the widest.
		ascii := strings.Map(func(r rune) rune {
			if r > 126 {
				return 'W'
			}
			return r
		}, s)
		out = append(out, run{text: s, left: left, width: measure.GetStringWidth(ascii)})
	}
	if len(fonts) == 0 || len(out) == 0 {
		t.Fatal("found no fonts or no text in the PDF")
	}
	return out
}

func TestLongDocuments(t *testing.T) {
	regs := []string{
		"European VAT number DE123456789", "United Kingdom VAT number GB123456789", "Swiss VAT number CHE-123.456.789 MWST",
		"Australian Business Number (AU ABN) 12345678912", "Canadian BN 123456789", "Indian GST number 12ABCDE1234F1Z5",
		"European VAT number FRAB123456789",
	}
	long := "Building 7, Floor 12, Department of Accounts Payable and Procurement Services, attention of the finance operations team"
	billTo := billing.Address{CompanyName: "Acme Worldwide Holdings International Trading and Services Company Limited (Europe, Middle East and Africa)",
		Address1: long, Address2: long, City: "Berlin", PostalCode: "10115", Country: "DE",
		PONumber: "PO-2026-0042-ACCOUNTS-PAYABLE-PROCUREMENT-REQUEST-NUMBER-0000000000000000000000000000000000001"}
	sel := store.Seller{Name: "Example API Platform International Holdings, Incorporated in the State of Delaware",
		Address: []string{long, "Wilmington, DE 19801", "United States"}, Email: "billing@example.com", TaxID: "EIN 00-0000000"}
	inv := invoice()
	inv.BillTo = billTo
	inv.Issued = store.Parties{Seller: sel, BillTo: billTo, BillingEmail: "billing@acme.test", TaxRegistrations: regs, Recorded: true}
	o := store.Order{ID: "pi_3QDemoTopUp0001", OrgID: "acme", Amount: 100_000_000, Method: "Visa •••• 4242", Created: closed, PaidAt: closed,
		Issued: inv.Issued}

	for _, d := range []invoicing.Document{invoicing.InvoiceDocument(inv), invoicing.ReceiptDocument(o)} {
		t.Run("a "+strings.ToLower(d.Kind)+" with seven tax registrations and long lines shows each registration whole, and nothing past the margin", func(t *testing.T) {
			var buf bytes.Buffer
			if err := pdf.Write(&buf, d); err != nil {
				t.Fatal(err)
			}
			rs := runs(t, buf.Bytes())
			lines := map[string]bool{}
			var all []string
			for _, r := range rs {
				lines[r.text] = true
				all = append(all, r.text)
				// A4 is 595.28 points wide, with 18 mm (51.02 points) margins.
				if right := r.left + r.width; right > 595.28-51.02+0.5 || r.left < 51.02-0.5 {
					t.Errorf("%q runs from %.1f to %.1f points, outside the margins (51.0 to 544.3)", r.text, r.left, right)
				}
			}
			for _, reg := range regs {
				if !lines[reg] {
					t.Errorf("the registration %q is not a line of the PDF; its lines:\n%s", reg, strings.Join(all, "\n"))
				}
			}
			// The long lines are wrapped, not cut: every word shows (one
			// longer than a line, broken across lines).
			text := strings.ReplaceAll(strings.Join(all, ""), " ", "")
			for _, w := range strings.Fields(long + " " + billTo.CompanyName + " " + sel.Name + " " + billTo.PONumber) {
				if !strings.Contains(text, w) {
					t.Errorf("the PDF lost the word %q", w)
				}
			}
		})
	}
}
