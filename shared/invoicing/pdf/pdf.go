// Package pdf renders invoice and receipt documents as PDF with
// github.com/go-pdf/fpdf, in its built-in Helvetica (no font files). The
// content streams are left uncompressed: the documents are a few
// kilobytes, and their amounts stay searchable in the file.
package pdf

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
)

// Layout of an A4 page, in millimetres.
const (
	margin  = 18.0
	width   = 210.0 - 2*margin
	amountW = 40.0
	lineH   = 5.5
)

// Write renders d as a one-page PDF (more pages when it has many lines)
// to w. Its dates are d's, so the same document gives the same bytes.
func Write(w io.Writer, d invoicing.Document) error {
	f := fpdf.New("P", "mm", "A4", "")
	tr := f.UnicodeTranslatorFromDescriptor("") // cp1252: •, –, € …
	f.SetCompression(false)
	f.SetCatalogSort(true) // resources in a fixed order: same document, same bytes
	f.SetCreationDate(d.Date)
	f.SetModificationDate(d.Date)
	f.SetTitle(d.Kind+" "+d.Number, true)
	f.SetAuthor(d.Seller.Name, true)
	f.SetCreator("Billing", true)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin)
	f.AddPage()

	// text writes s from the left margin, wrapped to the page's width.
	text := func(style string, size float64, s string) {
		f.SetFont("Helvetica", style, size)
		f.MultiCell(0, lineH, tr(s), "", "L", false)
	}
	// Heading: the kind left, the seller right, each of its lines wrapped
	// to the right half of the page.
	top := f.GetY()
	f.SetFont("Helvetica", "B", 20)
	f.CellFormat(width/2, 10, tr(d.Kind), "", 0, "L", false, 0, "")
	f.SetXY(margin+width/2, top+2.5)
	f.SetFont("Helvetica", "B", 11)
	f.MultiCell(width/2, 5, tr(d.Seller.Name), "", "R", false)
	f.SetFont("Helvetica", "", 9)
	for _, l := range append(append([]string{}, d.Seller.Address...), d.Seller.Email, d.Seller.TaxID) {
		if l == "" {
			continue
		}
		f.SetX(margin + width/2)
		f.MultiCell(width/2, 4.5, tr(l), "", "R", false)
	}
	f.SetY(max(f.GetY(), top+10))
	f.Ln(4)

	facts := [][2]string{{"Number", d.Number}, {"Date", day(d)}, {"Status", strings.ToUpper(d.Status)}}
	if !d.DueDate.IsZero() {
		facts = append(facts, [2]string{"Due date", d.DueDate.UTC().Format("Jan 2, 2006")})
	}
	if !d.PaidAt.IsZero() {
		facts = append(facts, [2]string{"Paid", d.PaidAt.UTC().Format("Jan 2, 2006")})
	}
	if d.PaidWith != "" {
		facts = append(facts, [2]string{"Paid with", d.PaidWith})
	}
	for _, kv := range facts {
		f.SetFont("Helvetica", "B", 10)
		f.CellFormat(30, lineH, tr(kv[0]), "", 0, "L", false, 0, "")
		f.SetFont("Helvetica", "", 10)
		f.CellFormat(0, lineH, tr(kv[1]), "", 1, "L", false, 0, "")
	}
	f.Ln(4)

	text("B", 11, "Bill to")
	name := d.Buyer.Name
	switch {
	case d.BuyerUnrecorded():
		name = "(not recorded on this receipt when it was issued)"
	case name == "":
		name = "(no invoice address on file)"
	}
	text("", 10, name)
	for _, l := range d.Buyer.Address {
		text("", 10, l)
	}
	if d.Buyer.Email != "" {
		text("", 10, d.Buyer.Email)
	}
	if !d.BuyerUnrecorded() {
		po := d.PONumber
		if po == "" {
			po = "none"
		}
		text("", 10, "Purchase order (PO) number: "+po)
	}
	// One registration a line, so that however many there are, each shows
	// whole.
	switch {
	case d.Unrecorded:
		text("", 10, "Tax registrations: not recorded on this document when it was issued")
	case len(d.TaxRegistrations) == 0:
		text("", 10, "Tax registrations: none on file")
	default:
		text("", 10, "Tax registrations:")
		for _, r := range d.TaxRegistrations {
			text("", 10, r)
		}
	}
	f.Ln(6)

	// The lines, then the totals.
	f.SetFont("Helvetica", "B", 10)
	f.SetFillColor(240, 240, 240)
	f.CellFormat(width-amountW, 7, "Description", "B", 0, "L", true, 0, "")
	f.CellFormat(amountW, 7, "Amount (USD)", "B", 1, "R", true, 0, "")
	f.SetFont("Helvetica", "", 10)
	for _, l := range d.Lines {
		f.CellFormat(width-amountW, 7, tr(l.Description), "", 0, "L", false, 0, "")
		f.CellFormat(amountW, 7, l.Amount.Display(), "", 1, "R", false, 0, "")
	}
	f.Ln(2)
	total := func(label string, m money.Money, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		f.SetFont("Helvetica", style, 10)
		f.CellFormat(width-amountW, 7, tr(label), "T", 0, "R", false, 0, "")
		f.CellFormat(amountW, 7, m.Display(), "T", 1, "R", false, 0, "")
	}
	total("Subtotal", d.Subtotal, false)
	if d.Kind == invoicing.DocInvoice {
		total("Applied credit balance", -d.CreditApplied, false)
		total("Amount due", d.AmountDue, true)
	}
	total("Amount paid", d.AmountPaid, d.Kind == invoicing.DocReceipt)
	f.Ln(6)

	f.SetFont("Helvetica", "", 8.5)
	var notes []string
	if d.Carried > 0 {
		notes = append(notes, fmt.Sprintf("A further $%s of this period's usage (under one cent, or an amount due below the $%s minimum charge) is carried into your next invoice.",
			d.Carried, invoicing.MinimumCharge))
	}
	notes = append(notes, "Amounts are in US dollars. Usage is metered in millionths of a dollar; amounts shown are rounded to whole cents.")
	for _, n := range notes {
		f.MultiCell(0, 4.5, tr(n), "", "L", false)
	}
	if err := f.Output(w); err != nil {
		return fmt.Errorf("write %s %s as PDF: %w", strings.ToLower(d.Kind), d.Number, err)
	}
	return nil
}

func day(d invoicing.Document) string { return d.Date.UTC().Format("Jan 2, 2006") }
