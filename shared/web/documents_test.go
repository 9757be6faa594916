package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
)

// issuedDoc is what a customer gets of a document: its printable page's
// document and its PDF.
type issuedDoc struct {
	article string
	pdf     string
}

var articlePattern = regexp.MustCompile(`(?s)<article[^>]*id="invoice-document".*?</article>`)

// document fetches the document id's page and PDF as the browser gets them.
func (b *browser) document(t *testing.T, id string) issuedDoc {
	t.Helper()
	page := b.get("/billing/invoices/" + id)
	if page.status != http.StatusOK {
		t.Fatalf("GET the document %s: status %d", id, page.status)
	}
	article := articlePattern.FindString(page.body)
	if article == "" {
		t.Fatalf("the page of %s has no document:\n%s", id, page.body)
	}
	pdf := b.get("/billing/invoices/" + id + "/pdf")
	if pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Fatalf("GET the PDF of %s: status %d", id, pdf.status)
	}
	return issuedDoc{article: article, pdf: pdf.body}
}

// topUp adds $25 with the card and returns the new order's id.
func (b *browser) topUp(t *testing.T, e *env, card string) string {
	t.Helper()
	before, err := e.store.Orders(t.Context(), demo.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := b.creditsForm(t)
	page := b.redirected(t, b.payCredits(t, url.Values{"amount": {"25"}, "method": {card}, "token": {token}}), "/billing/credits", false)
	wantFlash(t, page, "success", "$25.00 was added to your balance")
	after, err := e.store.Orders(t.Context(), demo.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range after {
		if !slices.ContainsFunc(before, func(p store.Order) bool { return p.ID == o.ID }) {
			return o.ID
		}
	}
	t.Fatal("the top-up made no order")
	return ""
}

// TestIssuedDocumentsNeverChange is invariant 11: an invoice or receipt
// shows the seller and buyer as they stood when it was issued, whatever
// changes in the settings afterwards, while a document issued afterwards
// shows the new settings.
func TestIssuedDocumentsNeverChange(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
	visa := byLabel(t, admin.cards(t), "Visa •••• 4242").id
	admin.addTaxID(t, "DE", "eu_vat", "DE 123 456 789")
	deleted := admin.addTaxID(t, "GB", "gb_vat", "GB123456789")

	// Issued before the changes: the demo's invoice of last month and its
	// first top-up (issued when seeded, before any tax registration), a
	// receipt and this month's invoice issued with two registrations.
	receipt := admin.topUp(t, e, visa)
	admin.closeCycle(t)
	invoice := e.periodInvoice(t, demo.OrgID, billing.PeriodStart(lateInMonth)).ID
	seeded := e.periodInvoice(t, demo.OrgID, billing.PeriodStart(plan.Close.AddDate(0, -1, 0))).ID
	ids := []string{receipt, invoice, seeded, "pi_3QDemoTopUp0001"}
	before := map[string]issuedDoc{}
	for _, id := range ids {
		before[id] = admin.document(t, id)
	}
	for _, id := range []string{receipt, invoice} {
		d := before[id]
		for _, want := range []string{"Acme Inc.", "PO-2026-0042", plan.Org.Profile.BillingEmail, "European VAT number DE123456789", "GB123456789"} {
			if !strings.Contains(d.article, want) || !strings.Contains(d.pdf, want) {
				t.Errorf("%s as issued does not show %q", id, want)
			}
		}
	}

	// Every setting of the buyer changes.
	admin.redirected(t, admin.post(t, addressPath, berlin()), addressPath, false)
	admin.redirected(t, admin.post(t, notificationsPath, url.Values{"email": {"accounts@acme-europe.test"}}), notificationsPath, false)
	added := admin.addTaxID(t, "FR", "eu_vat", "FRAB123456789")
	admin.redirected(t, admin.post(t, "/billing/tax/"+deleted.id+"/delete", nil), "/billing/tax", false)
	if p := e.profile(t, demo.OrgID); p.Address != berlinAddress || p.BillingEmail != "accounts@acme-europe.test" {
		t.Fatalf("the settings did not change: %+v", p)
	}

	t.Run("the documents issued before show exactly what they showed, page and PDF", func(t *testing.T) {
		for _, id := range ids {
			after := admin.document(t, id)
			if after.article != before[id].article {
				t.Errorf("the page of %s changed:\nbefore %s\nafter  %s", id, before[id].article, after.article)
			}
			if after.pdf != before[id].pdf {
				t.Errorf("the PDF of %s changed", id)
			}
			for _, gone := range []string{"Unter den Linden", "PO-2027-0001", "accounts@acme-europe.test", added.value} {
				if strings.Contains(after.article, gone) || strings.Contains(after.pdf, gone) {
					t.Errorf("%s shows %q, a setting made after it was issued", id, gone)
				}
			}
		}
	})

	t.Run("a receipt and an invoice issued afterwards show the new settings", func(t *testing.T) {
		newReceipt := admin.topUp(t, e, visa)
		// This month is invoiced: close the next one, as the schedule
		// would, with the service the invoicing job builds.
		next := invoicing.PeriodEnd(lateInMonth)
		clock := func() time.Time { return next.Add(time.Hour) }
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		pay := payments.NewService(e.store, sandbox.New(e.store, clock, "/billing/credits/checkout/"), clock, log)
		if err := e.store.AddUsage(t.Context(), demo.OrgID, next.Add(time.Minute), 1_000_000); err != nil {
			t.Fatal(err)
		}
		newInvoice, err := invoicing.New(e.store, pay, clock, log).Close(t.Context(), demo.OrgID, next)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{newReceipt, newInvoice.ID} {
			d := admin.document(t, id)
			for _, want := range []string{"Acme Europe GmbH", "Unter den Linden 1", "PO-2027-0001", "accounts@acme-europe.test",
				"European VAT number DE123456789", "European VAT number FRAB123456789"} {
				if !strings.Contains(d.article, want) || !strings.Contains(d.pdf, want) {
					t.Errorf("%s does not show %q", id, want)
				}
			}
			for _, gone := range []string{"GB123456789", "PO-2026-0042", plan.Org.Profile.BillingEmail} {
				if strings.Contains(d.article, gone) || strings.Contains(d.pdf, gone) {
					t.Errorf("%s shows %q, which was changed before it was issued", id, gone)
				}
			}
		}
	})
}
