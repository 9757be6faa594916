package stripeprovider_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/payments/stripetest"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// newMockProvider returns a provider talking to an in-process stripe-mock
// through a recorder.
func newMockProvider(t *testing.T) (*stripeprovider.Provider, *recorder) {
	t.Helper()
	srv := stripetest.Mock(t)
	rec := &recorder{next: srv.Client().Transport}
	return newProvider(t, srv.URL, &http.Client{Transport: rec}), rec
}

// wantAccepted checks that stripe-mock answered every recorded request
// with 200, that is, found each valid against its OpenAPI spec.
func wantAccepted(t *testing.T, reqs []request) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no request was sent")
	}
	for _, r := range reqs {
		if r.Status != http.StatusOK {
			t.Errorf("stripe-mock answered %s %s with %d", r.Method, r.Path, r.Status)
		}
	}
}

// TestStripeMock proves that every method sends requests that stripe-mock
// v0.203.0 accepts (it validates parameters against Stripe's OpenAPI spec)
// and maps its responses. stripe-mock is stateless and answers with fixed
// fixtures, so states and declines are tested against Stripe's real JSON
// in TestStripeResponses.
func TestStripeMock(t *testing.T) {
	ctx := context.Background()

	t.Run("creating a customer sends name, email, the org id in metadata, and an idempotency key from the org id", func(t *testing.T) {
		p, rec := newMockProvider(t)
		id, err := p.CreateCustomer(ctx, "acme", "Acme Inc.", "billing@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, "cus_") {
			t.Errorf("customer id = %q, want cus_…", id)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		r := reqs[0]
		if r.Method != http.MethodPost || r.Path != "/v1/customers" {
			t.Errorf("request = %s %s, want POST /v1/customers", r.Method, r.Path)
		}
		wantForm(t, r, map[string]string{"name": "Acme Inc.", "email": "billing@acme.test", "metadata[org_id]": "acme"})
		if got := r.Header.Get("Idempotency-Key"); got != "customer-acme" {
			t.Errorf("Idempotency-Key = %q, want customer-acme", got)
		}
	})

	t.Run("listing cards reads the customer's default and its card payment methods", func(t *testing.T) {
		p, rec := newMockProvider(t)
		cards, err := p.Cards(ctx, "cus_123")
		if err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if len(reqs) != 2 || reqs[0].Path != "/v1/customers/cus_123" || reqs[1].Path != "/v1/customers/cus_123/payment_methods" {
			t.Fatalf("requests = %+v, want the customer then its payment methods", reqs)
		}
		wantForm(t, reqs[1], map[string]string{"type": "card"})
		// stripe-mock's fixture: one visa 4242, 8/2030, no name, and a
		// customer without a default payment method.
		want := []payments.Card{{ID: "pm_1Pgc75B7WZ01zgkWlHVgdEGJ", Brand: "visa", Last4: "4242", ExpMonth: 8, ExpYear: 2030}}
		if len(cards) != 1 || cards[0] != want[0] {
			t.Errorf("cards = %+v, want %+v", cards, want)
		}
	})

	// stripe-mock's payment method fixture belongs to no customer; to reach
	// the update and detach requests, its customer is set to cus_123 on the
	// way back. The requests themselves go to stripe-mock unchanged.
	ownedBy := func(customer string) func(method, path string, body []byte) []byte {
		return func(method, path string, body []byte) []byte {
			if method != http.MethodGet || !strings.HasPrefix(path, "/v1/payment_methods/") {
				return body
			}
			var pm map[string]any
			if err := json.Unmarshal(body, &pm); err != nil {
				return body
			}
			pm["customer"] = customer
			b, err := json.Marshal(pm)
			if err != nil {
				return body
			}
			return b
		}
	}

	t.Run("setting the default card checks the owner and updates the customer's invoice settings", func(t *testing.T) {
		p, rec := newMockProvider(t)
		rec.patch = ownedBy("cus_123")
		if err := p.SetDefaultCard(ctx, "cus_123", "pm_123"); err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if len(reqs) != 2 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/payment_methods/pm_123" ||
			reqs[1].Method != http.MethodPost || reqs[1].Path != "/v1/customers/cus_123" {
			t.Fatalf("requests = %+v, want GET the payment method, POST the customer", reqs)
		}
		wantForm(t, reqs[1], map[string]string{"invoice_settings[default_payment_method]": "pm_123"})
	})

	t.Run("deleting a card checks the owner and detaches it", func(t *testing.T) {
		p, rec := newMockProvider(t)
		rec.patch = ownedBy("cus_123")
		if err := p.DeleteCard(ctx, "cus_123", "pm_123"); err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		wantAccepted(t, reqs)
		if len(reqs) != 2 || reqs[1].Method != http.MethodPost || reqs[1].Path != "/v1/payment_methods/pm_123/detach" {
			t.Fatalf("requests = %+v, want GET the payment method, POST its detach", reqs)
		}
	})

	t.Run("stripe-mock's unowned payment method is not found and nothing is changed", func(t *testing.T) {
		p, rec := newMockProvider(t)
		err := p.SetDefaultCard(ctx, "cus_123", "pm_123")
		if code := billing.ErrorCode(err); code != billing.ENOTFOUND {
			t.Fatalf("error = %v (code %q), want ENOTFOUND", err, code)
		}
		if reqs := rec.requests(); len(reqs) != 1 || reqs[0].Method != http.MethodGet {
			t.Errorf("requests = %+v, want only the GET", reqs)
		}
	})

	t.Run("an on-session charge is a confirmed card PaymentIntent in cents with metadata and a return url", func(t *testing.T) {
		p, rec := newMockProvider(t)
		pay, err := p.Charge(ctx, payments.ChargeRequest{
			OrgID: "acme", CustomerID: "cus_123", CardID: "pm_123", Amount: money.Dollars(25),
			Purpose: payments.PurposeAddCredits, IdempotencyKey: "form-token-1", ReturnURL: "https://billing.test/billing/credits/return",
		})
		if err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		if r.Method != http.MethodPost || r.Path != "/v1/payment_intents" {
			t.Errorf("request = %s %s, want POST /v1/payment_intents", r.Method, r.Path)
		}
		wantForm(t, r, map[string]string{
			"amount": "2500", "currency": "usd", "customer": "cus_123", "payment_method": "pm_123",
			"payment_method_types[0]": "card", "confirm": "true", "off_session": "",
			"return_url":       "https://billing.test/billing/credits/return",
			"metadata[org_id]": "acme", "metadata[purpose]": "Add Credits",
		})
		if got := r.Header.Get("Idempotency-Key"); got != "form-token-1" {
			t.Errorf("Idempotency-Key = %q, want form-token-1", got)
		}
		// stripe-mock reflects the amount but not the metadata; its
		// fixture's status, requires_payment_method, maps to failed.
		if !strings.HasPrefix(pay.ID, "pi_") || pay.Amount != money.Dollars(25) {
			t.Errorf("payment = %+v, want pi_… for $25", pay)
		}
		if pay.Status != payments.StatusFailed {
			t.Errorf("status = %q, want failed for stripe-mock's requires_payment_method", pay.Status)
		}
	})

	t.Run("an off-session charge sets off_session and no return url", func(t *testing.T) {
		p, rec := newMockProvider(t)
		_, err := p.Charge(ctx, payments.ChargeRequest{
			OrgID: "acme", CustomerID: "cus_123", CardID: "pm_123", Amount: money.MustParse("10.50"),
			Purpose: payments.PurposeAutoRecharge, IdempotencyKey: "recharge-1", OffSession: true, ReturnURL: "https://ignored.test",
		})
		if err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		wantForm(t, r, map[string]string{"amount": "1050", "off_session": "true", "return_url": "", "metadata[purpose]": "Auto Recharge call."})
	})

	t.Run("reading a payment gets the PaymentIntent and maps amount and status", func(t *testing.T) {
		p, rec := newMockProvider(t)
		pay, err := p.Payment(ctx, "pi_123")
		if err != nil {
			t.Fatal(err)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		if r.Method != http.MethodGet || r.Path != "/v1/payment_intents/pi_123" {
			t.Errorf("request = %s %s", r.Method, r.Path)
		}
		// The fixture: 1099 cents, requires_payment_method, no metadata.
		if pay.ID != "pi_123" || pay.Amount != money.MustParse("10.99") || pay.Status != payments.StatusFailed {
			t.Errorf("payment = %+v, want pi_123, $10.99, failed", pay)
		}
	})

	t.Run("a SetupIntent is for off-session card use and returns its client secret", func(t *testing.T) {
		p, rec := newMockProvider(t)
		secret, err := p.SetupIntent(ctx, "cus_123", "you@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "seti_") || !strings.Contains(secret, "_secret_") {
			t.Errorf("client secret = %q, want seti_…_secret_…", secret)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		if r.Method != http.MethodPost || r.Path != "/v1/setup_intents" {
			t.Errorf("request = %s %s", r.Method, r.Path)
		}
		wantForm(t, r, map[string]string{"customer": "cus_123", "usage": "off_session", "payment_method_types[0]": "card"})
	})

	// stripe-mock v0.203.0's spec (2026-08-26.dahlia) knows the crypto
	// payment method type: the request goes to it unchanged.
	t.Run("a crypto checkout is a payment-mode Checkout Session with one line item and metadata, at the basil API version, that stripe-mock accepts", func(t *testing.T) {
		p, rec := newMockProvider(t)
		co, err := p.CryptoCheckout(ctx, payments.CheckoutRequest{
			OrgID: "acme", CustomerID: "cus_123", Amount: money.Dollars(100),
			SuccessURL: "https://billing.test/billing/credits?paid=1", CancelURL: "https://billing.test/billing/credits",
			IdempotencyKey: "form-token-2",
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(co.ID, "cs_") || !strings.HasPrefix(co.URL, "https://checkout.stripe.com/") {
			t.Errorf("checkout = %+v, want cs_… and a checkout.stripe.com URL", co)
		}
		r := rec.last(t)
		wantAccepted(t, []request{r})
		if r.Method != http.MethodPost || r.Path != "/v1/checkout/sessions" {
			t.Errorf("request = %s %s", r.Method, r.Path)
		}
		want := url.Values{
			"mode":                                   {"payment"},
			"customer":                               {"cus_123"},
			"line_items[0][price_data][currency]":    {"usd"},
			"line_items[0][price_data][unit_amount]": {"10000"},
			"line_items[0][price_data][product_data][name]": {"Usage credits"},
			"line_items[0][quantity]":                       {"1"},
			"payment_method_types[0]":                       {"crypto"},
			"success_url":                                   {"https://billing.test/billing/credits?paid=1"},
			"cancel_url":                                    {"https://billing.test/billing/credits"},
			"metadata[org_id]":                              {"acme"},
			"metadata[purpose]":                             {"Add Credits"},
			"payment_intent_data[metadata][org_id]":         {"acme"},
			"payment_intent_data[metadata][purpose]":        {payments.PurposeCheckout},
		}
		for k, v := range want {
			if got := r.Form[k]; len(got) != 1 || got[0] != v[0] {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		for k := range r.Form {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected parameter %s = %q", k, r.Form[k])
			}
		}
		if got := r.Header.Get("Idempotency-Key"); got != "form-token-2" {
			t.Errorf("Idempotency-Key = %q, want form-token-2", got)
		}
		if got := r.Header.Values("Stripe-Version"); len(got) != 1 || got[0] != "2025-06-30.basil" {
			t.Errorf("Stripe-Version = %q, want only 2025-06-30.basil", got)
		}
	})

	t.Run("every other request stays at stripe-go v76's 2023-10-16", func(t *testing.T) {
		p, rec := newMockProvider(t)
		if _, err := p.CreateCustomer(ctx, "acme", "Acme Inc.", "billing@acme.test"); err != nil {
			t.Fatal(err)
		}
		if got := rec.last(t).Header.Get("Stripe-Version"); got != "2023-10-16" {
			t.Errorf("Stripe-Version = %q, want 2023-10-16", got)
		}
	})

}

// paymentIntents is a patch of stripe-mock's answers that lets edit change
// every PaymentIntent it returns to a GET.
func paymentIntents(edit func(pi map[string]any)) func(method, path string, body []byte) []byte {
	return func(method, path string, body []byte) []byte {
		if method != http.MethodGet || !strings.HasPrefix(path, "/v1/payment_intents/") {
			return body
		}
		var pi map[string]any
		if err := json.Unmarshal(body, &pi); err != nil {
			return body
		}
		edit(pi)
		b, err := json.Marshal(pi)
		if err != nil {
			return body
		}
		return b
	}
}

// TestConfirmOnSession checks, against stripe-mock, the confirmation of a
// payment the bank refused off-session: the card it was tried with and
// the return URL, expanded card.
func TestConfirmOnSession(t *testing.T) {
	p, rec := newMockProvider(t)
	// stripe-mock's PaymentIntent is made the one an off-session charge
	// left: refused with authentication_required, its card in the error.
	rec.patch = paymentIntents(func(pi map[string]any) {
		pi["status"], pi["payment_method"] = "requires_payment_method", nil
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "authentication_required",
			"decline_code": "authentication_required", "message": "Your card was declined. This transaction requires authentication.",
			"payment_method": map[string]any{"id": "pm_3184", "object": "payment_method", "type": "card"}}
	})
	if _, err := p.ConfirmOnSession(t.Context(), "pi_123", "https://billing.test/billing/credits/complete"); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	wantAccepted(t, reqs)
	if len(reqs) != 2 || reqs[1].Method != http.MethodPost || reqs[1].Path != "/v1/payment_intents/pi_123/confirm" {
		t.Fatalf("requests %+v, want the read then POST /v1/payment_intents/pi_123/confirm", reqs)
	}
	wantForm(t, reqs[1], map[string]string{"payment_method": "pm_3184", "return_url": "https://billing.test/billing/credits/complete"})
}

// TestEventsRequestsAgainstStripeMock applies a charge.refunded and a
// charge.dispute.created through Events on stripe-mock v0.203.0, so the
// reads they make (the PaymentIntent with its card, its refunds) are
// checked against Stripe's spec. stripe-mock's PaymentIntent is made a
// succeeded $25 top-up of acme's customer on the way back.
func TestEventsRequestsAgainstStripeMock(t *testing.T) {
	p, rec := newMockProvider(t)
	rec.patch = paymentIntents(func(pi map[string]any) {
		pi["customer"], pi["status"], pi["currency"], pi["amount"], pi["invoice"] = "cus_acme", "succeeded", "usd", 2500, nil
		pi["metadata"] = map[string]string{"org_id": "acme", "purpose": payments.PurposeAddCredits}
		pi["payment_method_types"] = []string{"card"}
	})
	st := storetest.New(t).Store(time.Now)
	ctx := t.Context()
	if err := st.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: "acme", Name: "Acme"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetCustomerID(ctx, "acme", "cus_acme"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := stripeprovider.NewEvents(payments.NewService(st, p, time.Now, log), st, time.Now, log)
	refunded := event(t, "evt_mock_refund", "charge.refunded", map[string]any{"id": "ch_123", "object": "charge", "amount": 2500,
		"amount_refunded": 100, "currency": "usd", "customer": "cus_acme", "payment_intent": "pi_123", "status": "succeeded"})
	if err := ev.Apply(ctx, refunded); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	wantAccepted(t, reqs)
	var paths []string
	for _, r := range reqs {
		paths = append(paths, r.Method+" "+r.Path+"?"+r.Form.Encode())
	}
	want := []string{"GET /v1/payment_intents/pi_123?expand%5B0%5D=payment_method", "GET /v1/refunds?payment_intent=pi_123"}
	if strings.Join(paths, ",") != strings.Join(want, ",") {
		t.Errorf("requests %q, want %q", paths, want)
	}
	acct, err := st.Account(ctx, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// stripe-mock's refund is $1.00 and succeeded: the $25 top-up is
	// credited (the refund came first) and $1.00 of it debited.
	if acct.Ledger != money.MustParse("24.00") {
		t.Errorf("ledger %v, want 24.00", acct.Ledger)
	}

	disputed := event(t, "evt_mock_dispute", "charge.dispute.created", map[string]any{"id": "dp_123", "object": "dispute", "amount": 500,
		"currency": "usd", "charge": "ch_123", "payment_intent": "pi_123", "status": "needs_response", "reason": "fraudulent"})
	if err := ev.Apply(ctx, disputed); err != nil {
		t.Fatal(err)
	}
	reqs = rec.requests()
	wantAccepted(t, reqs)
	if len(reqs) != 1 || reqs[0].Path != "/v1/payment_intents/pi_123" {
		t.Errorf("requests %+v, want one read of the PaymentIntent", reqs)
	}
	if acct, err = st.Account(ctx, "acme", time.Now()); err != nil || acct.Ledger != money.MustParse("19.00") {
		t.Errorf("ledger %v (%v), want 19.00 after the $5 dispute", acct.Ledger, err)
	}
}
