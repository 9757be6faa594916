package stripeprovider_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

var (
	novemberStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	decemberStart = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

func openRequest(card string) invoicing.OpenRequest {
	return invoicing.OpenRequest{
		OrgID: "acme", CustomerID: "cus_123", InvoiceID: "in_01OURS", Amount: money.MustParse("30.12"),
		Description: "Usage, November 2026", Period: novemberStart, PeriodEnd: decemberStart, CardID: card,
		DueDate: decemberStart.AddDate(0, 0, 14),
	}
}

// invoiceStates patches stripe-mock's fixed invoice (a draft of $10.00)
// into the states a real Stripe answers with: a new draft has no lines,
// a finalized one is open, a paid one is paid, and the listing has only
// the invoices in listed.
func invoiceStates(listed ...map[string]any) func(method, path string, body []byte) []byte {
	return func(method, path string, body []byte) []byte {
		var obj map[string]any
		if json.Unmarshal(body, &obj) != nil {
			return body
		}
		switch {
		case method == http.MethodGet && path == "/v1/invoices":
			data := make([]any, len(listed))
			for i, l := range listed {
				data[i] = l
			}
			obj["data"] = data
		case method == http.MethodPost && path == "/v1/invoices":
			obj["total"], obj["amount_due"], obj["status"] = 0, 0, "draft"
		case strings.HasSuffix(path, "/finalize"):
			obj["status"], obj["total"] = "open", 3012
			obj["hosted_invoice_url"], obj["invoice_pdf"] = "https://invoice.stripe.com/i/acct_1/test_1", "https://pay.stripe.com/invoice/acct_1/test_1/pdf"
		case strings.HasSuffix(path, "/pay"):
			obj["status"] = "paid"
			obj["hosted_invoice_url"], obj["invoice_pdf"] = "https://invoice.stripe.com/i/acct_1/test_1", "https://pay.stripe.com/invoice/acct_1/test_1/pdf"
			obj["status_transitions"] = map[string]any{"paid_at": decemberStart.Add(time.Minute).Unix()}
			obj["payment_intent"] = "pi_of_invoice"
		default:
			return body
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return body
		}
		return b
	}
}

// TestStripeInvoices proves OpenInvoice and PayInvoice send requests
// stripe-mock accepts (it checks them against Stripe's OpenAPI spec), in
// order, with idempotency keys from our invoice id.
func TestStripeInvoices(t *testing.T) {
	ctx := context.Background()

	t.Run("with a default card the invoice is charged automatically: created, its line added, finalized, paid", func(t *testing.T) {
		p, rec := newMockProvider(t)
		rec.patch = invoiceStates()
		r, err := p.OpenInvoice(ctx, openRequest("pm_123"))
		if err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		var got []string
		for _, q := range reqs {
			got = append(got, q.Method+" "+q.Path+" "+q.Header.Get("Idempotency-Key"))
		}
		want := []string{"GET /v1/invoices ", "POST /v1/invoices invoice-in_01OURS", "POST /v1/invoiceitems invoice-in_01OURS-item"}
		if len(got) != 5 || strings.Join(got[:3], "|") != strings.Join(want, "|") ||
			!strings.HasSuffix(got[3], "/finalize invoice-in_01OURS-finalize") || !strings.HasSuffix(got[4], "/pay invoice-in_01OURS-auto") {
			t.Fatalf("requests:\n%s", strings.Join(got, "\n"))
		}
		wantForm(t, reqs[0], map[string]string{"customer": "cus_123", "created[gte]": "1793491200"})
		wantForm(t, reqs[1], map[string]string{"customer": "cus_123", "currency": "usd", "auto_advance": "true",
			"collection_method": "charge_automatically", "default_payment_method": "pm_123", "days_until_due": "",
			"pending_invoice_items_behavior": "exclude", "metadata[org_id]": "acme", "metadata[invoice_id]": "in_01OURS"})
		wantForm(t, reqs[2], map[string]string{"customer": "cus_123", "amount": "3012", "currency": "usd",
			"description": "Usage, November 2026", "period[start]": "1793491200", "period[end]": "1796083199", "metadata[invoice_id]": "in_01OURS"})
		wantForm(t, reqs[3], map[string]string{"auto_advance": "true"})
		wantForm(t, reqs[4], map[string]string{"payment_method": "pm_123", "off_session": "true"})
		if r.Status != invoicing.RemotePaid || r.PaymentID != "pi_of_invoice" || !r.PaidAt.Equal(decemberStart.Add(time.Minute)) ||
			r.PDFURL == "" || r.Collection != invoicing.ChargeAutomatically || !strings.HasPrefix(r.ID, "in_") {
			t.Errorf("remote = %+v, want paid with its payment and PDF", r)
		}
	})

	t.Run("without a card the invoice is sent, due in 14 days, and not charged", func(t *testing.T) {
		p, rec := newMockProvider(t)
		rec.patch = invoiceStates()
		r, err := p.OpenInvoice(ctx, openRequest(""))
		if err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if len(reqs) != 4 || !strings.HasSuffix(reqs[3].Path, "/finalize") {
			t.Fatalf("%d requests, want list, create, item, finalize and no payment", len(reqs))
		}
		wantForm(t, reqs[1], map[string]string{"collection_method": "send_invoice", "days_until_due": "14", "default_payment_method": ""})
		if r.Status != invoicing.RemoteOpen || r.HostedURL == "" || r.PDFURL == "" {
			t.Errorf("remote = %+v, want open with Stripe's hosted page and PDF", r)
		}
	})

	t.Run("an invoice made before for ours is carried on, not made again", func(t *testing.T) {
		p, rec := newMockProvider(t)
		rec.patch = invoiceStates(map[string]any{"id": "in_stripe_earlier", "object": "invoice", "status": "open", "total": 3012,
			"collection_method": "charge_automatically", "customer": "cus_123", "metadata": map[string]string{"invoice_id": "in_01OURS"}})
		if _, err := p.OpenInvoice(ctx, openRequest("pm_123")); err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if len(reqs) != 2 || reqs[1].Path != "/v1/invoices/in_stripe_earlier/pay" {
			t.Fatalf("requests = %+v, want the listing and the payment of the earlier invoice only", reqs)
		}
	})

	t.Run("paying an open invoice with a chosen card is on-session with the form's idempotency key", func(t *testing.T) {
		p, rec := newMockProvider(t)
		rec.patch = func(method, path string, body []byte) []byte {
			var obj map[string]any
			if json.Unmarshal(body, &obj) != nil {
				return body
			}
			obj["customer"], obj["metadata"] = "cus_123", map[string]string{"invoice_id": "in_01OURS"}
			obj["status"] = map[bool]string{true: "paid", false: "open"}[strings.HasSuffix(path, "/pay")]
			b, _ := json.Marshal(obj)
			return b
		}
		r, err := p.PayInvoice(ctx, invoicing.PayRequest{OrgID: "acme", CustomerID: "cus_123", InvoiceID: "in_01OURS",
			ProviderID: "in_stripe_1", CardID: "pm_9", Amount: money.MustParse("30.12"), IdempotencyKey: "invoice-in_01OURS-token"})
		if err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if len(reqs) != 2 || reqs[0].Path != "/v1/invoices/in_stripe_1" || reqs[1].Path != "/v1/invoices/in_stripe_1/pay" {
			t.Fatalf("requests = %+v", reqs)
		}
		wantForm(t, reqs[1], map[string]string{"payment_method": "pm_9", "off_session": "false"})
		if k := reqs[1].Header.Get("Idempotency-Key"); k != "invoice-in_01OURS-token" {
			t.Errorf("Idempotency-Key = %q", k)
		}
		if r.Status != invoicing.RemotePaid {
			t.Errorf("remote = %+v, want paid", r)
		}
	})

	t.Run("paying another customer's invoice, or one not ours, is not found", func(t *testing.T) {
		p, _ := newMockProvider(t) // the fixture's customer is cus_Nj5B57LZqvnaIg, its metadata empty
		_, err := p.PayInvoice(ctx, invoicing.PayRequest{CustomerID: "cus_123", InvoiceID: "in_01OURS", ProviderID: "in_1", CardID: "pm_9", IdempotencyKey: "k"})
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error = %v, want not found", err)
		}
	})

	t.Run("a declined card leaves the invoice open with Stripe's message", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{
			"GET /v1/invoices/in_stripe_1":      {http.StatusOK, "invoice_open.json"},
			"POST /v1/invoices/in_stripe_1/pay": {http.StatusPaymentRequired, "card_declined_generic.json"},
		})
		r, err := p.PayInvoice(ctx, invoicing.PayRequest{CustomerID: "cus_123", InvoiceID: "in_01OURS", ProviderID: "in_stripe_1", CardID: "pm_9", IdempotencyKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != invoicing.RemoteOpen || r.Message != "Your card was declined." || r.HostedURL == "" {
			t.Errorf("remote = %+v, want open with the decline", r)
		}
	})
}

// invoiceEventsEnv is Events applying invoice.* events through the
// invoicing service, on the real store. acme (customer cus_acme) has an
// invoice of $20.00 due for November.
type invoiceEventsEnv struct {
	store  *store.Store
	events *stripeprovider.Events
	inv    store.Invoice
}

func newInvoiceEventsEnv(t *testing.T) *invoiceEventsEnv {
	t.Helper()
	now := func() time.Time { return decemberStart }
	st := storetest.New(t).Store(now)
	ctx := t.Context()
	for _, org := range []string{"acme", "globex"} {
		if err := st.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: org, Name: org}, TrialCredits: trialCredits}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetCustomerID(ctx, org, "cus_"+org); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddUsage(ctx, "acme", novemberStart, money.Dollars(30)); err != nil {
		t.Fatal(err)
	}
	f := invoicing.Compute(money.Dollars(30), trialCredits)
	inv, _, err := st.CloseCycle(ctx, store.Invoice{OrgID: "acme", Period: novemberStart, Usage: f.Invoiced, Applied: f.Applied,
		Due: f.Due, Status: store.InvoiceOpen, DueDate: decemberStart.AddDate(0, 0, 14)}, trialCredits)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Stripe request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(api.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pay := payments.NewService(st, newProvider(t, api.URL, api.Client()), now, log)
	ev := stripeprovider.NewEvents(pay, st, now, log).WithInvoices(invoicing.New(st, pay, now, log))
	return &invoiceEventsEnv{store: st, events: ev, inv: inv}
}

func stripeInvoice(id, status, customer string, metadata map[string]string) map[string]any {
	obj := map[string]any{"id": id, "object": "invoice", "customer": orNull(customer), "amount_due": 2000, "amount_paid": 0,
		"currency": "usd", "status": status, "collection_method": "send_invoice", "metadata": metadata, "livemode": false,
		"created": 1795000000, "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_1",
		"invoice_pdf": "https://pay.stripe.com/invoice/acct_1/test_1/pdf", "status_transitions": map[string]any{"paid_at": nil}}
	if status == "paid" {
		obj["amount_paid"], obj["paid"] = 2000, true
		obj["status_transitions"] = map[string]any{"paid_at": 1796090000}
	}
	return obj
}

func TestInvoiceEvents(t *testing.T) {
	ours := func(e *invoiceEventsEnv) map[string]string {
		return map[string]string{"org_id": "acme", "invoice_id": e.inv.ID}
	}
	get := func(t *testing.T, e *invoiceEventsEnv) store.Invoice {
		t.Helper()
		inv, err := e.store.Invoice(t.Context(), "acme", e.inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}

	t.Run("invoice.paid marks our invoice paid, once, and a later invoice.voided does not undo it", func(t *testing.T) {
		e := newInvoiceEventsEnv(t)
		paid := event(t, "evt_paid", "invoice.paid", stripeInvoice("in_stripe_1", "paid", "cus_acme", ours(e)))
		for range 2 {
			if err := e.events.Apply(t.Context(), paid); err != nil {
				t.Fatal(err)
			}
		}
		got := get(t, e)
		if got.Status != store.InvoicePaid || !got.PaidAt.Equal(time.Unix(1796090000, 0).UTC()) || got.PDFURL == "" || got.ProviderID != "in_stripe_1" {
			t.Errorf("invoice %+v, want paid at Stripe's time with its PDF", got)
		}
		if err := e.events.Apply(t.Context(), event(t, "evt_void", "invoice.voided", stripeInvoice("in_stripe_1", "void", "cus_acme", ours(e)))); err != nil {
			t.Fatal(err)
		}
		if got := get(t, e); got.Status != store.InvoicePaid {
			t.Errorf("a late invoice.voided changed the paid invoice to %s", got.Status)
		}
		acct, err := e.store.Account(t.Context(), "acme", decemberStart)
		if err != nil || acct.Ledger != 0 || acct.TotalCredits != trialCredits {
			t.Errorf("account %+v, %v: paying an invoice must not credit the balance", acct, err)
		}
	})

	t.Run("invoice.payment_failed keeps it due and says why", func(t *testing.T) {
		e := newInvoiceEventsEnv(t)
		if err := e.events.Apply(t.Context(), event(t, "evt_failed", "invoice.payment_failed", stripeInvoice("in_stripe_1", "open", "cus_acme", ours(e)))); err != nil {
			t.Fatal(err)
		}
		if got := get(t, e); got.Status != store.InvoiceOpen || got.LastError == "" {
			t.Errorf("invoice %+v, want open with the failure", got)
		}
	})

	t.Run("invoice.marked_uncollectible and invoice.voided follow Stripe", func(t *testing.T) {
		e := newInvoiceEventsEnv(t)
		for i, st := range []string{"uncollectible", "void"} {
			typ := map[string]string{"uncollectible": "invoice.marked_uncollectible", "void": "invoice.voided"}[st]
			if err := e.events.Apply(t.Context(), event(t, "evt_"+st+string(rune('a'+i)), typ, stripeInvoice("in_stripe_1", st, "cus_acme", ours(e)))); err != nil {
				t.Fatal(err)
			}
			if got := get(t, e); got.Status != st {
				t.Errorf("after %s: status %s", typ, got.Status)
			}
		}
	})

	t.Run("an invoice of another organisation, or not made by the cycle close, changes nothing", func(t *testing.T) {
		e := newInvoiceEventsEnv(t)
		for _, ev := range []map[string]any{
			stripeInvoice("in_x", "paid", "cus_globex", map[string]string{"invoice_id": e.inv.ID}),
			stripeInvoice("in_y", "paid", "cus_acme", map[string]string{"org_id": "globex", "invoice_id": e.inv.ID}),
			stripeInvoice("in_z", "paid", "cus_acme", nil),
		} {
			if err := e.events.Apply(t.Context(), event(t, "evt_"+ev["id"].(string), "invoice.paid", ev)); err != nil {
				t.Fatal(err)
			}
		}
		if got := get(t, e); got.Status != store.InvoiceOpen {
			t.Errorf("acme's invoice is %s, want still open", got.Status)
		}
	})

	t.Run("the PaymentIntent of a Stripe invoice credits nothing", func(t *testing.T) {
		e := newInvoiceEventsEnv(t)
		pi := paymentIntent("pi_of_invoice", 2000, "succeeded", "cus_acme", map[string]string{})
		pi["invoice"] = "in_stripe_1"
		if err := e.events.Apply(t.Context(), event(t, "evt_pi", "payment_intent.succeeded", pi)); err != nil {
			t.Fatal(err)
		}
		acct, err := e.store.Account(t.Context(), "acme", decemberStart)
		if err != nil || acct.TotalCredits != trialCredits {
			t.Errorf("account %+v, %v: the invoice's payment was credited as a top-up", acct, err)
		}
	})
}
