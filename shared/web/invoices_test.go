package web_test

import (
	"encoding/base64"
	"fmt"
	stdhtml "html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// invoiceRow is one row of a table of the Invoices page, as plain text
// per cell.
type invoiceRow []string

var (
	tableRowPattern  = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	tableCellPattern = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
)

// invoiceRows returns the body rows of the page's table with id.
func invoiceRows(t *testing.T, body, id string) []invoiceRow {
	t.Helper()
	start := strings.Index(body, `id="`+id+`"`)
	if start < 0 {
		return nil
	}
	table := body[start:]
	table = table[:strings.Index(table, "</table>")]
	tbody := table[strings.Index(table, "<tbody>"):]
	var rows []invoiceRow
	for _, m := range tableRowPattern.FindAllStringSubmatch(tbody, -1) {
		var row invoiceRow
		for _, c := range tableCellPattern.FindAllStringSubmatch(m[1], -1) {
			row = append(row, plainText(c[1]))
		}
		rows = append(rows, row)
	}
	return rows
}

// invoicesPage loads the Invoices page.
func (b *browser) invoicesPage(t *testing.T) response {
	t.Helper()
	res := b.get("/billing/invoices")
	if res.status != http.StatusOK {
		t.Fatalf("GET /billing/invoices: status %d\n%s", res.status, res.text())
	}
	return res
}

// closeCycle forces the close of the signed-in organisation's current
// period through the local route and returns the page it leads to.
func (b *browser) closeCycle(t *testing.T) response {
	t.Helper()
	page := b.redirected(t, b.post(t, "/dev/close-cycle", nil), "/billing/invoices", false)
	wantFlash(t, page, "success", "billing cycle is closed")
	return page
}

// onlyInvoice returns the organisation's one invoice.
func (e *env) onlyInvoice(t *testing.T, org string) store.Invoice {
	t.Helper()
	invs, err := e.store.Invoices(t.Context(), org)
	if err != nil || len(invs) != 1 {
		t.Fatalf("%s has invoices %+v (%v), want one", org, invs, err)
	}
	return invs[0]
}

// periodInvoice returns the organisation's invoice of the billing period
// starting at period (the seeded demo also has last month's).
func (e *env) periodInvoice(t *testing.T, org string, period time.Time) store.Invoice {
	t.Helper()
	invs, err := e.store.Invoices(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	var found []store.Invoice
	for _, inv := range invs {
		if inv.Period.Equal(period) {
			found = append(found, inv)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s has invoices %+v, want one of the period %v", org, invs, period)
	}
	return found[0]
}

// invoiceCharges counts the sandbox's card payments of invoices.
func (e *env) invoiceCharges(t *testing.T) int {
	t.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(e.db.Client, &dynamodb.ScanInput{TableName: aws.String(e.db.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var r struct {
				PK      string `dynamodbav:"PK"`
				Purpose string `dynamodbav:"purpose"`
			}
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(r.PK, "SBPI#") && strings.HasPrefix(r.Purpose, "Invoice ") {
				n++
			}
		}
	}
	return n
}

var payTokenPattern = regexp.MustCompile(`<form class="inline" method="post" action="/billing/invoices/([^/"]+)/pay"><input type="hidden" name="token" value="([0-9a-f]{32})">`)

func TestInvoicesPage(t *testing.T) {
	t.Run("a new organisation's page explains both empty tables", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		res := e.signIn("newco", "you@newco.test", "admin").invoicesPage(t)
		for _, id := range []string{"payments-due-empty", "history-empty"} {
			text, ok := element(res.body, id)
			if !ok || !strings.Contains(text, "No ") || !strings.Contains(text, "1st of each month") && id == "history-empty" {
				t.Errorf("#%s = %q, want an explanation", id, text)
			}
		}
		if strings.Contains(res.body, "<table") {
			t.Error("an empty page shows a table")
		}
	})

	t.Run("the demo's top-ups and last month's invoice are listed as paid, newest first, with nothing due", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		plan := e.seed()
		res := e.signIn(demo.OrgID, "you@acme.test", "admin").invoicesPage(t)
		if _, ok := element(res.body, "payments-due-empty"); !ok {
			t.Error("the demo shows payments due")
		}
		rows := invoiceRows(t, res.body, "history-table")
		if len(rows) != len(plan.Transactions)+1 {
			t.Fatalf("history rows %q, want the %d top-ups and the invoice", rows, len(plan.Transactions))
		}
		inv := e.periodInvoice(t, demo.OrgID, billing.PeriodStart(plan.Close.AddDate(0, -1, 0)))
		closed := plan.Close.UTC().Format("Jan 2, 2006")
		want := []invoiceRow{
			{plan.Transactions[1].Created.UTC().Format("Jan 2, 2006"), plan.Transactions[1].Key + " Top-up", plan.Transactions[1].Created.UTC().Format("Jan 2, 2006"),
				plan.Transactions[1].Amount.Display() + " Visa •••• 4242", "View Download PDF"},
			{closed, inv.ID + " Invoice", closed, "$0.00 Usage " + inv.Usage.Display() + ", credit applied " + (-inv.Applied).Display(), "View Download PDF"},
			{plan.Transactions[0].Created.UTC().Format("Jan 2, 2006"), plan.Transactions[0].Key + " Top-up", plan.Transactions[0].Created.UTC().Format("Jan 2, 2006"),
				plan.Transactions[0].Amount.Display() + " Visa •••• 4242", "View Download PDF"},
		}
		for i := range want {
			if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
				t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
			}
		}
	})

	t.Run("a top-up's receipt is a page and a PDF", func(t *testing.T) {
		e := newEnv(t, lateInMonth)
		e.seed()
		b := e.signIn(demo.OrgID, "you@acme.test", "admin")
		res := b.get("/billing/invoices/pi_3QDemoTopUp0001")
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		for _, want := range []string{"Receipt pi_3QDemoTopUp0001", "Usage credits, added to your balance", "$100.00", "Visa •••• 4242", "Acme Inc.", "PO-2026-0042"} {
			if !strings.Contains(res.text(), want) {
				t.Errorf("the receipt does not show %q", want)
			}
		}
		if tax, _ := element(res.body, "tax-registrations"); tax != "None on file." {
			t.Errorf("tax registrations %q before any was added", tax)
		}
		// A registration added after the receipt was issued is not on it
		// (TestIssuedDocumentsNeverChange tests every setting).
		b.redirected(t, b.post(t, "/billing/tax/new", taxForm("DE", "eu_vat", "DE 123 456 789")), "/billing/tax", false)
		if tax, _ := element(b.get("/billing/invoices/pi_3QDemoTopUp0001").body, "tax-registrations"); tax != "None on file." {
			t.Errorf("tax registrations %q on a receipt issued before any was added", tax)
		}
		pdf := b.get("/billing/invoices/pi_3QDemoTopUp0001/pdf")
		if pdf.status != http.StatusOK || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.body, "%PDF-") || !strings.Contains(pdf.body, "($100.00)") || strings.Contains(pdf.body, "DE123456789") {
			t.Errorf("PDF: status %d, type %q, starts %q", pdf.status, pdf.header.Get("Content-Type"), pdf.body[:min(8, len(pdf.body))])
		}
	})
}

// TestForcedCloseMatchesTheBooks is the "done when": forcing a
// cycle close for the demo's acme makes an invoice whose numbers match
// Balance History and the Overview, and it downloads as a PDF.
func TestForcedCloseMatchesTheBooks(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	b := e.signIn(demo.OrgID, "you@acme.test", "admin")
	usageShown, ok := element(b.get("/billing").body, "usage-period")
	if !ok {
		t.Fatal("no Usage This Period on the Overview")
	}
	before, err := e.store.Account(t.Context(), demo.OrgID, lateInMonth)
	if err != nil {
		t.Fatal(err)
	}

	page := b.closeCycle(t)
	inv := e.periodInvoice(t, demo.OrgID, billing.PeriodStart(lateInMonth))
	if inv.Usage+inv.Carried != before.UsagePeriod || inv.Usage.Display() != usageShown {
		t.Errorf("invoice usage %v (+%v carried), Overview showed %s and the account held %v", inv.Usage, inv.Carried, usageShown, before.UsagePeriod)
	}
	if inv.Applied != inv.Usage || inv.Due != 0 || inv.Status != store.InvoicePaid {
		t.Errorf("invoice %+v: acme's balance covers its usage, so credit should pay it all", inv)
	}

	// Balance History: the newest row is the credit applied to this invoice.
	rows := historyRows(b.get("/billing/balance-history").body)
	if len(rows) == 0 || rows[0].id != inv.TransactionID || rows[0].description != billing.DescAppliedCredit ||
		!strings.HasSuffix(rows[0].amount, (-inv.Applied).Display()) {
		t.Errorf("newest balance history row %+v, want %s %q of %s", rows[0], inv.TransactionID, billing.DescAppliedCredit, (-inv.Applied).Display())
	}
	// The Overview: what was Usage This Period is invoiced; Remaining
	// Credits are unchanged, the credit having moved from the ledger.
	after, err := e.store.Account(t.Context(), demo.OrgID, lateInMonth)
	if err != nil {
		t.Fatal(err)
	}
	overview := b.get("/billing").body
	if got, _ := element(overview, "usage-period"); got != inv.Carried.Display() {
		t.Errorf("Usage This Period after the close %q, want %s", got, inv.Carried.Display())
	}
	if after.Figures().Remaining != before.Figures().Remaining || after.Ledger != before.Ledger-inv.Applied {
		t.Errorf("Remaining %v → %v, ledger %v → %v; want Remaining unchanged and the ledger down by %v",
			before.Figures().Remaining, after.Figures().Remaining, before.Ledger, after.Ledger, inv.Applied)
	}

	// The Invoices page lists it as paid, first (before the two top-ups and
	// last month's invoice), and its document shows the same numbers.
	hist := invoiceRows(t, page.body, "history-table")
	if len(hist) != 4 || !strings.HasPrefix(hist[0][1], inv.ID) || hist[0][3] != "$0.00 Usage "+inv.Usage.Display()+", credit applied "+(-inv.Applied).Display() {
		t.Errorf("history %q, want the invoice first", hist)
	}
	doc := b.get("/billing/invoices/" + inv.ID)
	if doc.status != http.StatusOK {
		t.Fatalf("GET the invoice: %d", doc.status)
	}
	for id, want := range map[string]string{"subtotal": inv.Usage.Display(), "credit-applied": (-inv.Applied).Display(),
		"amount-due": "$0.00", "status": "Paid", "po-number": "PO-2026-0042"} {
		if got, _ := element(doc.body, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if buyer, _ := element(doc.body, "buyer"); !strings.Contains(buyer, "Acme Inc. 1 Market Street Suite 300 San Francisco, CA 94105 US billing@acme.test") {
		t.Errorf("buyer %q", buyer)
	}
	if tax, _ := element(doc.body, "tax-registrations"); tax != "None on file." {
		t.Errorf("tax registrations %q", tax)
	}
	pdf := b.get("/billing/invoices/" + inv.ID + "/pdf")
	if pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") || !strings.Contains(pdf.header.Get("Content-Disposition"), "invoice-"+inv.ID+".pdf") {
		t.Fatalf("PDF: status %d, %q", pdf.status, pdf.header.Get("Content-Disposition"))
	}
	for _, want := range []string{"(" + inv.Usage.Display() + ")", "(" + (-inv.Applied).Display() + ")", "(Amount due)", "($0.00)", "(PAID)"} {
		if !strings.Contains(pdf.body, want) {
			t.Errorf("the PDF does not show %s", want)
		}
	}

	// Closing again changes nothing.
	b.closeCycle(t)
	if again := e.periodInvoice(t, demo.OrgID, billing.PeriodStart(lateInMonth)); again.ID != inv.ID {
		t.Errorf("a second close made invoice %s", again.ID)
	}
	if n := len(historyRows(b.get("/billing/balance-history").body)); n != len(rows) {
		t.Errorf("a second close changed the balance history: %d rows, was %d", n, len(rows))
	}
}

var payConfirmPattern = regexp.MustCompile(`<form method="post" action="/billing/invoices/([^/"]+)/pay" data-busy="Charging…"><input type="hidden" name="token" value="([0-9a-f]{32})"><input type="hidden" name="card" value="([^"]+)"><input type="hidden" name="confirm" value="yes">`)

// askToPay presses Pay now on invoice id, with the card labelled card
// chosen on the confirmation unless card is "", and returns the
// confirmation with the fields of its Pay button (token, card,
// confirm=yes). Nothing is charged yet.
func (b *browser) askToPay(t *testing.T, id, card string) (response, url.Values) {
	t.Helper()
	m := payTokenPattern.FindStringSubmatch(b.invoicesPage(t).body)
	if m == nil || m[1] != id {
		t.Fatalf("no Pay now form for %s", id)
	}
	form := url.Values{"token": {m[2]}}
	if card != "" {
		opt := regexp.MustCompile(`<option value="([^"]+)"[^>]*>` + regexp.QuoteMeta(card)).FindStringSubmatch(b.post(t, "/billing/invoices/"+id+"/pay", form).body)
		if opt == nil {
			t.Fatalf("the confirmation offers no card %q", card)
		}
		form.Set("card", opt[1])
	}
	res := b.post(t, "/billing/invoices/"+id+"/pay", form)
	c := payConfirmPattern.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || c == nil || c[1] != id || c[2] != m[2] {
		t.Fatalf("Pay now on %s: status %d, no confirmation carrying the form's token:\n%s", id, res.status, res.text())
	}
	return res, url.Values{"token": {c[2]}, "card": {c[3]}, "confirm": {"yes"}}
}

// payNow pays invoice id with the default card through Pay now and its
// confirmation, and returns the Invoices page it leads to.
func (b *browser) payNow(t *testing.T, id string) response {
	t.Helper()
	_, confirm := b.askToPay(t, id, "")
	return b.redirected(t, b.post(t, "/billing/invoices/"+id+"/pay", confirm), "/billing/invoices", false)
}

func TestPayNow(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	b := e.signIn("globex", "you@globex.test", "admin") // $10 of trial credits
	if err := e.store.AddUsage(t.Context(), "globex", lateInMonth, money.MustParse("30.123456")); err != nil {
		t.Fatal(err)
	}
	page := b.closeCycle(t)
	inv := e.onlyInvoice(t, "globex")
	due := invoiceRows(t, page.body, "payments-due-table")
	want := invoiceRow{dateOf(lateInMonth), inv.ID, dateOf(lateInMonth.AddDate(0, 0, 14)), "$20.12", "Pay now Download"}
	if len(due) != 1 || strings.Join(due[0], "|") != strings.Join(want, "|") {
		t.Fatalf("payments due %q, want %q", due, want)
	}

	t.Run("without a card, Pay now leads to adding one and charges nothing", func(t *testing.T) {
		m := payTokenPattern.FindStringSubmatch(page.body)
		if m == nil {
			t.Fatal("no Pay now form")
		}
		res := b.post(t, "/billing/invoices/"+inv.ID+"/pay", url.Values{"token": {m[2]}})
		if got, _ := element(res.body, "pay-no-card"); res.status != http.StatusOK || !strings.Contains(got, "no card on file") ||
			!strings.Contains(res.body, `href="/billing/payment-methods/new?next=/billing/invoices">Add a card to pay</a>`) {
			t.Errorf("status %d; want a page offering to add a card:\n%s", res.status, res.text())
		}
		if n := e.invoiceCharges(t); n != 0 {
			t.Errorf("%d card payments, want none", n)
		}
	})

	b.addCard(t, "Jenny Rosen", "4242424242424242", "12", expYear)
	b.addCard(t, "Jenny Rosen", "5555555555554444", "06", laterExpYear)
	yy := func(year string) string { return year[len(year)-2:] }

	t.Run("Pay now asks first: the amount, the invoice and the default card, and nothing is charged", func(t *testing.T) {
		res, _ := b.askToPay(t, inv.ID, "")
		if got, _ := element(res.body, "pay-confirm"); got != "Charge $20.12 to Visa •••• 4242 (exp 12/"+yy(expYear)+")?" {
			t.Errorf("question %q", got)
		}
		if got, _ := element(res.body, "pay-amount"); got != "$20.12" || !strings.Contains(res.text(), inv.ID) {
			t.Errorf("amount %q; want $20.12 and the invoice %s named", got, inv.ID)
		}
		if !strings.Contains(res.body, `href="/billing/invoices">Cancel</a>`) {
			t.Error("no Cancel back to the Invoices page")
		}
		if n := e.invoiceCharges(t); n != 0 {
			t.Errorf("%d card payments before the confirmation, want none", n)
		}
		if got := e.onlyInvoice(t, "globex"); got.Status != store.InvoiceOpen {
			t.Errorf("invoice %s before the confirmation, want open", got.Status)
		}
	})

	res, confirm := b.askToPay(t, inv.ID, "Mastercard •••• 4444")
	if got, _ := element(res.body, "pay-confirm"); got != "Charge $20.12 to Mastercard •••• 4444 (exp 06/"+yy(laterExpYear)+")?" {
		t.Errorf("after choosing the Mastercard, the question is %q", got)
	}
	paid := b.redirected(t, b.post(t, "/billing/invoices/"+inv.ID+"/pay", confirm), "/billing/invoices", false)
	wantFlash(t, paid, "success", "Invoice "+inv.ID+" is paid: $20.12 charged to Mastercard •••• 4444.")
	again := b.redirected(t, b.post(t, "/billing/invoices/"+inv.ID+"/pay", confirm), "/billing/invoices", false)
	wantFlash(t, again, "info", "already paid; nothing more was charged")
	if n := e.invoiceCharges(t); n != 1 {
		t.Errorf("%d card payments, want 1", n)
	}
	unconfirmed := b.redirected(t, b.post(t, "/billing/invoices/"+inv.ID+"/pay", url.Values{"token": confirm["token"]}), "/billing/invoices", false)
	wantFlash(t, unconfirmed, "info", "already paid; nothing more was charged")
	if _, ok := element(again.body, "payments-due-empty"); !ok {
		t.Error("the paid invoice is still due")
	}
	hist := invoiceRows(t, again.body, "history-table")
	if len(hist) != 1 || hist[0][0] != dateOf(lateInMonth) || !strings.HasPrefix(hist[0][1], inv.ID) || hist[0][2] != dateOf(lateInMonth) || !strings.HasPrefix(hist[0][3], "$20.12") {
		t.Errorf("history %q, want the paid invoice", hist)
	}
	acct, err := e.store.Account(t.Context(), "globex", lateInMonth)
	if err != nil || acct.Ledger != 0 || acct.TotalCredits != money.Dollars(10) {
		t.Errorf("account %+v (%v): paying an invoice must not change the balance", acct, err)
	}
	card := confirm["card"]

	t.Run("another organisation's invoice or order is not found, and cannot be paid", func(t *testing.T) {
		acme := e.signIn(demo.OrgID, "you@acme.test", "admin")
		for _, path := range []string{"/billing/invoices/" + inv.ID, "/billing/invoices/" + inv.ID + "/pdf", "/billing/invoices/in_nonexistent"} {
			if res := acme.get(path); res.status != http.StatusNotFound || strings.Contains(res.body, "$20.12") {
				t.Errorf("acme GET %s: status %d, want 404 without the amount", path, res.status)
			}
		}
		for _, form := range []url.Values{
			{"token": {strings.Repeat("a", 32)}, "card": card},
			{"token": {strings.Repeat("a", 32)}, "card": card, "confirm": {"yes"}},
		} {
			if res := acme.post(t, "/billing/invoices/"+inv.ID+"/pay", form); res.status != http.StatusNotFound || strings.Contains(res.body, "$20.12") {
				t.Errorf("acme paying globex's invoice (%v): status %d, want 404 without the amount", form, res.status)
			}
		}
		if res := b.get("/billing/invoices/pi_3QDemoTopUp0001"); res.status != http.StatusNotFound {
			t.Errorf("globex GET acme's order: status %d, want 404", res.status)
		}
	})
}

func TestInvoicesViewer(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("globex", "you@globex.test", "admin")
	if err := e.store.AddUsage(t.Context(), "globex", lateInMonth, money.Dollars(25)); err != nil {
		t.Fatal(err)
	}
	admin.closeCycle(t)
	admin.addCard(t, "Jenny Rosen", "4242424242424242", "12", expYear)
	inv := e.onlyInvoice(t, "globex")
	viewer := e.signIn("globex", "viewer@globex.test", "viewer")
	page := viewer.invoicesPage(t)
	due := invoiceRows(t, page.body, "payments-due-table")
	if len(due) != 1 || due[0][4] != "Only admins can pay. Download" || strings.Contains(page.body, "/pay\"") || strings.Contains(page.body, "/dev/close-cycle") {
		t.Errorf("a viewer's payments due %q; want no Pay now and no close", due)
	}
	res := viewer.post(t, "/billing/invoices/"+inv.ID+"/pay", url.Values{"token": {strings.Repeat("b", 32)}, "card": {"pm_x"}})
	if res.status != http.StatusForbidden {
		t.Errorf("a viewer's Pay now: status %d, want 403", res.status)
	}
	if res := viewer.post(t, "/dev/close-cycle", nil); res.status != http.StatusForbidden {
		t.Errorf("a viewer's close: status %d, want 403", res.status)
	}
	if n := e.invoiceCharges(t); n != 0 {
		t.Errorf("%d card payments, want none", n)
	}
}

func TestInvoiceStripePDF(t *testing.T) {
	e := newEnv(t, earlyInMonth)
	b := e.signIn("globex", "you@globex.test", "admin")
	if err := e.store.AddUsage(t.Context(), "globex", earlyInMonth, money.Dollars(25)); err != nil {
		t.Fatal(err)
	}
	b.closeCycle(t)
	inv := e.onlyInvoice(t, "globex")
	const hosted = "https://pay.stripe.com/invoice/acct_1/test_1/pdf"
	if _, err := e.store.ChangeInvoice(t.Context(), "globex", inv.ID, store.InvoiceChange{ProviderID: "in_stripe_1", PDFURL: hosted}); err != nil {
		t.Fatal(err)
	}
	if page := b.invoicesPage(t); !strings.Contains(page.body, `href="`+hosted+`"`) {
		t.Error("the Invoices page does not link Stripe's PDF of a Stripe invoice")
	}
	res := b.get("/billing/invoices/" + inv.ID + "/pdf")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != hosted {
		t.Errorf("GET the PDF: status %d to %q, want 303 to Stripe's PDF", res.status, res.header.Get("Location"))
	}
}

var (
	olderPageLink = regexp.MustCompile(`<a class="btn btn-secondary" href="([^"]+)" rel="next">Older</a>`)
	newerPageLink = regexp.MustCompile(`<a class="btn btn-secondary" href="([^"]+)" rel="prev">Newer</a>`)
)

// pageLink returns the href of the page's link matching pattern, "" when
// it has none.
func pageLink(body string, pattern *regexp.Regexp) string {
	if m := pattern.FindStringSubmatch(body); m != nil {
		return stdhtml.UnescapeString(m[1])
	}
	return ""
}

// historyIDs returns the ids of the rows of the order and invoice history.
func historyIDs(t *testing.T, body string) []string {
	t.Helper()
	var ids []string
	for _, row := range invoiceRows(t, body, "history-table") {
		ids = append(ids, strings.Fields(row[1])[0])
	}
	return ids
}

// seedHistory gives org 65 paid top-ups, one a day back from the env's
// time, and 3 paid invoices of earlier months among them, besides an open
// invoice and one of a period without usage, which the history does not
// list. It refunds $2 of two top-ups, the newest and one of the oldest, and
// returns the history's ids newest first.
func (e *env) seedHistory(t *testing.T, org string) []string {
	t.Helper()
	ctx := t.Context()
	type entry struct {
		id string
		at time.Time
	}
	var want []entry
	for i := range 65 {
		at := e.now.Add(-time.Duration(i)*24*time.Hour - time.Hour)
		id := fmt.Sprintf("pi_%s%03d", org, i)
		if _, err := e.store.CreditPayment(ctx, org, store.PaymentCredit{PaymentID: id, Amount: money.Dollars(int64(5 + i)),
			Description: "Stripe Payment Intent " + id + " via Add Credits", Method: "Visa •••• 4242", Paid: at}); err != nil {
			t.Fatal(err)
		}
		want = append(want, entry{id, at})
	}
	for i, status := range []string{store.InvoicePaid, store.InvoicePaid, store.InvoiceOpen, store.InvoicePaid, store.InvoicePaid} {
		at := e.now.Add(-time.Duration(3+i*12)*24*time.Hour - 30*time.Minute) // between two top-ups
		usage := money.Dollars(int64(7 + i))
		if i == 4 {
			usage = 0
		}
		if usage > 0 {
			if err := e.store.AddUsage(ctx, org, at, usage); err != nil {
				t.Fatal(err)
			}
		}
		acct, err := e.store.Account(ctx, org, at)
		if err != nil {
			t.Fatal(err)
		}
		inv, _, err := e.store.CloseCycle(ctx, store.Invoice{OrgID: org, Period: time.Date(2000+i, 1, 1, 0, 0, 0, 0, time.UTC), Created: at,
			Usage: usage, Due: usage, Status: status, PaidAt: at, DueDate: at.AddDate(0, 0, 14)}, acct.Ledger)
		if err != nil {
			t.Fatal(err)
		}
		if status == store.InvoicePaid && usage > 0 {
			want = append(want, entry{inv.ID, at})
		}
	}
	for _, id := range []string{want[0].id, want[62].id} {
		if _, err := e.store.AdjustPayment(ctx, org, store.Adjustment{Key: "refund:re_" + id, PaymentID: id, Kind: store.AdjustRefund,
			Amount: -money.Dollars(2), Description: "Refund of Stripe Payment Intent " + id}); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(want, func(a, b entry) int { return b.at.Compare(a.at) })
	ids := make([]string, len(want))
	for i, w := range want {
		ids[i] = w.id
	}
	return ids
}

func TestInvoicesPaged(t *testing.T) {
	e := newEnv(t, lateInMonth)
	b := e.signIn("pager", "you@pager.test", "admin")
	want := e.seedHistory(t, "pager")
	if len(want) != 68 {
		t.Fatalf("seeded %d entries, want 68", len(want))
	}

	// Walk Older to the end, then Newer back to the top.
	var pages [][]string
	var older []string
	path, last := "/billing/invoices", ""
	for path != "" {
		last = path
		e.db.Reset()
		res := b.get(path)
		reqs := e.db.Requests()
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: status %d\n%s", path, res.status, res.text())
		}
		// Every page in 2 requests: the invoices, and the orders with
		// their adjustments.
		if len(reqs) > 2 {
			t.Errorf("page %d made %d DynamoDB requests, want at most 2", len(pages)+1, len(reqs))
		}
		ids := historyIDs(t, res.body)
		pages = append(pages, ids)
		older = append(older, ids...)
		if due := invoiceRows(t, res.body, "payments-due-table"); len(due) != 1 {
			t.Errorf("page %d lists %d payments due, want the open invoice", len(pages), len(due))
		}
		if (len(pages) > 1) != (pageLink(res.body, newerPageLink) != "") {
			t.Errorf("page %d: Newer link %q", len(pages), pageLink(res.body, newerPageLink))
		}
		for _, id := range []string{want[0], want[62]} {
			if slices.Contains(ids, id) && !strings.Contains(res.text(), "Refunded $2.00") {
				t.Errorf("page %d lists %s without its refund", len(pages), id)
			}
		}
		path = pageLink(res.body, olderPageLink)
		if len(pages) > 5 {
			t.Fatal("Older never reaches the oldest page")
		}
	}
	if sizes := fmt.Sprint(len(pages[0]), len(pages[1]), len(pages[2]), len(pages[3])); len(pages) != 4 || sizes != "20 20 20 8" {
		t.Errorf("pages of %s entries, want 20, 20, 20 and 8", sizes)
	}
	if strings.Join(older, " ") != strings.Join(want, " ") {
		t.Errorf("walking Older lists\n%q\nwant every paid invoice and order once, newest first:\n%q", older, want)
	}

	t.Run("Newer walks back to the newest page", func(t *testing.T) {
		res := b.get(last)
		for n := 0; ; n++ {
			link := pageLink(res.body, newerPageLink)
			if link == "" {
				break
			}
			from := historyIDs(t, res.body)[0]
			e.db.Reset()
			res = b.get(link)
			if reqs := e.db.Requests(); len(reqs) > 2 {
				t.Errorf("a Newer page made %d DynamoDB requests, want at most 2", len(reqs))
			}
			top := res.status == http.StatusSeeOther
			if top {
				if loc := res.header.Get("Location"); loc != "/billing/invoices#history" {
					t.Fatalf("Newer redirects to %q, want the newest page", loc)
				}
				res = b.get("/billing/invoices")
			}
			ids := historyIDs(t, res.body)
			at := slices.Index(want, ids[0])
			if len(ids) != 20 || at < 0 || strings.Join(ids, " ") != strings.Join(want[at:at+20], " ") {
				t.Fatalf("a Newer page lists %q, want 20 entries in a row of the history", ids)
			}
			if below := slices.Index(want, from); at+20 != below && !top {
				t.Errorf("a Newer page ends at entry %d, want the one above the page it came from, %d", at+19, below-1)
			}
			next := historyIDs(t, b.get(pageLink(res.body, olderPageLink)).body)
			if rest := want[at+20:]; strings.Join(next, " ") != strings.Join(rest[:min(20, len(rest))], " ") {
				t.Errorf("Older from a Newer page lists %q, want the entries after it, %q", next, rest[:min(20, len(rest))])
			}
			if n > 5 {
				t.Fatal("Newer never reaches the newest page")
			}
		}
		if ids := historyIDs(t, res.body); strings.Join(ids, " ") != strings.Join(want[:20], " ") {
			t.Errorf("the page without Newer lists %q, want the newest 20", ids)
		}
	})

	t.Run("a cursor of another organisation shows only this one's history", func(t *testing.T) {
		other := e.signIn("otherco", "you@otherco.test", "admin")
		mine := e.seedHistory(t, "otherco")
		link := pageLink(b.get("/billing/invoices").body, olderPageLink)
		res := other.get(link)
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		ids := historyIDs(t, res.body)
		for _, id := range ids {
			if !slices.Contains(mine, id) {
				t.Errorf("otherco's page lists %s, not its own", id)
			}
		}
		if strings.Contains(res.body, "pi_pager") || strings.Contains(res.body, "pager.test") {
			t.Error("otherco's page shows something of pager's")
		}
	})

	t.Run("refuses a forged cursor with 400 and a clear message", func(t *testing.T) {
		for _, cursor := range []string{"not-a-cursor!", "eyJpIjoiVFgjYnQifQ", base64.RawURLEncoding.EncodeToString([]byte(`{"o":"PROFILE"}`))} {
			res := b.get("/billing/invoices?page=" + cursor)
			if res.status != http.StatusBadRequest || !strings.Contains(res.text(), "That page link is not valid; start from the first page.") {
				t.Errorf("cursor %q: status %d\n%s", cursor, res.status, res.text())
			}
		}
	})
}
