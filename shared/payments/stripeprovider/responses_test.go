package stripeprovider_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
)

// reply is a canned Stripe answer: a status and a JSON file in testdata.
type reply struct {
	status int
	file   string
}

// newFakeStripe returns a provider talking to a server that answers each
// "METHOD /path" in routes with the reply's file, as Stripe would; any
// other request fails the test. stripe-mock is stateless and never
// declines, so these are Stripe's real answers for declines and states.
func newFakeStripe(t *testing.T, routes map[string]reply) (*stripeprovider.Provider, *recorder) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.Error(w, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL."}}`, http.StatusNotFound)
			return
		}
		body, err := os.ReadFile(filepath.Join("testdata", rp.file))
		if err != nil {
			t.Errorf("read %s: %v", rp.file, err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_fake")
		w.WriteHeader(rp.status)
		_, _ = w.Write(body) // a failed write shows up as a client error
	}))
	t.Cleanup(srv.Close)
	rec := &recorder{next: srv.Client().Transport}
	return newProvider(t, srv.URL, &http.Client{Transport: rec}), rec
}

// charge25 is a $25 on-session charge of pm_1.
var charge25 = payments.ChargeRequest{
	OrgID: "acme", CustomerID: "cus_123", CardID: "pm_1", Amount: money.Dollars(25),
	Purpose: payments.PurposeAddCredits, IdempotencyKey: "form-token-abc", ReturnURL: "https://billing.test/return",
}

// TestStripeResponses maps Stripe's real answers: declines, 3-D Secure,
// server errors, missing objects and other customers' cards.
func TestStripeResponses(t *testing.T) {
	ctx := context.Background()

	t.Run("declines are failed payments with Stripe's code and customer-safe message, not errors", func(t *testing.T) {
		tests := []struct {
			name, file                string
			wantID, wantCode, wantMsg string
		}{
			{"insufficient funds", "card_declined_insufficient_funds.json", "pi_123", "insufficient_funds", "Your card has insufficient funds."},
			{"generic decline", "card_declined_generic.json", "pi_456", "generic_decline", "Your card was declined."},
			{"expired card without a decline code", "card_expired.json", "pi_789", "expired_card", "Your card has expired."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {http.StatusPaymentRequired, tt.file}})
				pay, err := p.Charge(ctx, charge25)
				if err != nil {
					t.Fatalf("Charge: %v, want a failed payment and no error", err)
				}
				want := payments.Payment{ID: tt.wantID, Status: payments.StatusFailed, Amount: money.Dollars(25),
					DeclineCode: tt.wantCode, Message: tt.wantMsg, OrgID: "acme", Purpose: payments.PurposeAddCredits, CustomerID: "cus_123", Currency: "usd", TopUp: true}
				if pay != want {
					t.Errorf("payment = %+v\nwant      %+v", pay, want)
				}
			})
		}
	})

	t.Run("a Stripe server error is an internal error whose text never contains the secret key", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{
			"POST /v1/payment_intents":       {http.StatusInternalServerError, "api_error.json"},
			"GET /v1/payment_intents/pi_123": {http.StatusInternalServerError, "api_error.json"},
		})
		_, err := p.Charge(ctx, charge25)
		if code := billing.ErrorCode(err); code != billing.EINTERNAL {
			t.Fatalf("error = %v (code %q), want internal", err, code)
		}
		if se, ok := errors.AsType[*stripe.Error](err); !ok || se.Type != stripe.ErrorTypeAPI {
			t.Errorf("error %v does not wrap Stripe's api_error", err)
		}
		if !strings.HasPrefix(err.Error(), "stripe: create payment intent: api_error") {
			t.Errorf("error text = %q, want the operation and Stripe's error type", err)
		}
		noSecret(t, err)
		_, err = p.Payment(ctx, "pi_123")
		if code := billing.ErrorCode(err); code != billing.EINTERNAL {
			t.Errorf("Payment error = %v (code %q), want internal", err, code)
		}
		noSecret(t, err)
	})

	t.Run("an error's text leaves out the PaymentIntent Stripe embeds, client secret and all", func(t *testing.T) {
		// stripe-go's own error text is the whole error as JSON. Charge
		// turns a card error into a failed payment, so a 402 answered to
		// Payment's GET stands in for any error that embeds an intent.
		p, _ := newFakeStripe(t, map[string]reply{"GET /v1/payment_intents/pi_123": {http.StatusPaymentRequired, "card_declined_insufficient_funds.json"}})
		_, err := p.Payment(ctx, "pi_123")
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), "_secret_") {
			t.Errorf("error text contains a client secret: %v", err)
		}
	})

	t.Run("a payment that needs 3-D Secure requires action and carries the client secret", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {http.StatusOK, "payment_intent_requires_action.json"}})
		pay, err := p.Charge(ctx, charge25)
		if err != nil {
			t.Fatal(err)
		}
		want := payments.Payment{ID: "pi_3ds", Status: payments.StatusRequiresAction, Amount: money.Dollars(25),
			ClientSecret: "pi_3ds_secret_abc", OrgID: "acme", Purpose: payments.PurposeAddCredits, CustomerID: "cus_123", Currency: "usd", TopUp: true}
		if pay != want {
			t.Errorf("payment = %+v\nwant      %+v", pay, want)
		}
	})

	t.Run("the idempotency key is sent as given", func(t *testing.T) {
		p, rec := newFakeStripe(t, map[string]reply{"POST /v1/payment_intents": {http.StatusOK, "payment_intent_succeeded.json"}})
		pay, err := p.Charge(ctx, charge25)
		if err != nil {
			t.Fatal(err)
		}
		if pay.Status != payments.StatusSucceeded {
			t.Errorf("status = %q, want succeeded", pay.Status)
		}
		r := rec.last(t)
		if got := r.Header.Values("Idempotency-Key"); len(got) != 1 || got[0] != "form-token-abc" {
			t.Errorf("Idempotency-Key = %q, want [form-token-abc]", got)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+secretKey {
			t.Errorf("Authorization = %q, want the injected key", got)
		}
	})

	t.Run("an amount that is not whole cents is refused and nothing is sent", func(t *testing.T) {
		p, rec := newFakeStripe(t, nil)
		for _, amount := range []money.Money{money.MustParse("25.001"), 0, -money.Dollars(5)} {
			r := charge25
			r.Amount = amount
			_, err := p.Charge(ctx, r)
			if code := billing.ErrorCode(err); code != billing.EINVALID {
				t.Errorf("Charge(%s): error = %v, want EINVALID", amount, err)
			}
			_, err = p.CryptoCheckout(ctx, payments.CheckoutRequest{OrgID: "acme", CustomerID: "cus_123", Amount: amount})
			if code := billing.ErrorCode(err); code != billing.EINVALID {
				t.Errorf("CryptoCheckout(%s): error = %v, want EINVALID", amount, err)
			}
		}
		if reqs := rec.requests(); len(reqs) != 0 {
			t.Errorf("requests = %+v, want none", reqs)
		}
	})

	t.Run("reading a payment maps each state with its metadata", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{
			"GET /v1/payment_intents/pi_ok":      {http.StatusOK, "payment_intent_succeeded.json"},
			"GET /v1/payment_intents/pi_proc":    {http.StatusOK, "payment_intent_processing.json"},
			"GET /v1/payment_intents/pi_3ds":     {http.StatusOK, "payment_intent_requires_action.json"},
			"GET /v1/payment_intents/pi_failed":  {http.StatusOK, "payment_intent_failed.json"},
			"GET /v1/payment_intents/pi_missing": {http.StatusNotFound, "payment_intent_missing.json"},
		})
		tests := []struct {
			id   string
			want payments.Payment
		}{
			{"pi_ok", payments.Payment{ID: "pi_ok", Status: payments.StatusSucceeded, Amount: money.Dollars(25), OrgID: "acme", Purpose: payments.PurposeAutoRecharge, CustomerID: "cus_123", Currency: "usd", TopUp: true}},
			{"pi_proc", payments.Payment{ID: "pi_proc", Status: payments.StatusProcessing, Amount: money.Dollars(10), OrgID: "acme", Purpose: payments.PurposeAddCredits, CustomerID: "cus_123", Currency: "usd", TopUp: true}},
			{"pi_3ds", payments.Payment{ID: "pi_3ds", Status: payments.StatusRequiresAction, Amount: money.Dollars(25), ClientSecret: "pi_3ds_secret_abc", OrgID: "acme", Purpose: payments.PurposeAddCredits, CustomerID: "cus_123", Currency: "usd", TopUp: true}},
			{"pi_failed", payments.Payment{ID: "pi_failed", Status: payments.StatusFailed, Amount: money.Dollars(25), DeclineCode: "insufficient_funds",
				Message: "Your card has insufficient funds.", OrgID: "acme", Purpose: payments.PurposeAddCredits, CustomerID: "cus_123", Currency: "usd", TopUp: true}},
		}
		for _, tt := range tests {
			pay, err := p.Payment(ctx, tt.id)
			if err != nil {
				t.Errorf("Payment(%s): %v", tt.id, err)
				continue
			}
			if pay != tt.want {
				t.Errorf("Payment(%s) = %+v\nwant %+v", tt.id, pay, tt.want)
			}
		}
		_, err := p.Payment(ctx, "pi_missing")
		if code := billing.ErrorCode(err); code != billing.ENOTFOUND {
			t.Errorf("Payment(pi_missing): error = %v, want ENOTFOUND", err)
		}
	})

	t.Run("cards are listed with the customer's default marked", func(t *testing.T) {
		p, _ := newFakeStripe(t, map[string]reply{
			"GET /v1/customers/cus_123":                 {http.StatusOK, "customer.json"},
			"GET /v1/customers/cus_123/payment_methods": {http.StatusOK, "customer_payment_methods.json"},
		})
		cards, err := p.Cards(ctx, "cus_123")
		if err != nil {
			t.Fatal(err)
		}
		want := []payments.Card{
			{ID: "pm_1", Brand: "visa", Last4: "4242", ExpMonth: 4, ExpYear: 2030, Name: "Jenny Rosen"},
			{ID: "pm_2", Brand: "mastercard", Last4: "4444", ExpMonth: 12, ExpYear: 2031, Name: "J. Rosen", Default: true},
		}
		if len(cards) != len(want) {
			t.Fatalf("cards = %+v, want %+v", cards, want)
		}
		for i := range want {
			if cards[i] != want[i] {
				t.Errorf("card %d = %+v, want %+v", i, cards[i], want[i])
			}
		}
	})

	t.Run("another customer's card is not found and is neither made default nor detached", func(t *testing.T) {
		p, rec := newFakeStripe(t, map[string]reply{"GET /v1/payment_methods/pm_other": {http.StatusOK, "payment_method_other_customer.json"}})
		for name, call := range map[string]func() error{
			"SetDefaultCard": func() error { return p.SetDefaultCard(ctx, "cus_123", "pm_other") },
			"DeleteCard":     func() error { return p.DeleteCard(ctx, "cus_123", "pm_other") },
		} {
			err := call()
			if code := billing.ErrorCode(err); code != billing.ENOTFOUND {
				t.Errorf("%s: error = %v, want ENOTFOUND", name, err)
			}
			if msg := billing.ErrorMessage(err); msg != "That card is not on your account." {
				t.Errorf("%s: message = %q", name, msg)
			}
			for _, r := range rec.requests() {
				if r.Method != http.MethodGet {
					t.Errorf("%s sent %s %s, want only the GET", name, r.Method, r.Path)
				}
			}
		}
	})

	t.Run("a card that does not exist is not found", func(t *testing.T) {
		p, rec := newFakeStripe(t, map[string]reply{"GET /v1/payment_methods/pm_missing": {http.StatusNotFound, "payment_method_missing.json"}})
		if err := p.SetDefaultCard(ctx, "cus_123", "pm_missing"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("SetDefaultCard: error = %v, want ENOTFOUND", err)
		}
		if err := p.DeleteCard(ctx, "cus_123", "pm_missing"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("DeleteCard: error = %v, want ENOTFOUND", err)
		}
		if reqs := rec.requests(); len(reqs) != 2 {
			t.Errorf("requests = %+v, want the two GETs", reqs)
		}
	})

	t.Run("the customer's own card is made default and detached", func(t *testing.T) {
		p, rec := newFakeStripe(t, map[string]reply{
			"GET /v1/payment_methods/pm_1":         {http.StatusOK, "payment_method_own.json"},
			"POST /v1/customers/cus_123":           {http.StatusOK, "customer.json"},
			"POST /v1/payment_methods/pm_1/detach": {http.StatusOK, "payment_method_own.json"},
		})
		if err := p.SetDefaultCard(ctx, "cus_123", "pm_1"); err != nil {
			t.Fatal(err)
		}
		wantForm(t, rec.last(t), map[string]string{"invoice_settings[default_payment_method]": "pm_1"})
		if err := p.DeleteCard(ctx, "cus_123", "pm_1"); err != nil {
			t.Fatal(err)
		}
		if r := rec.last(t); r.Path != "/v1/payment_methods/pm_1/detach" {
			t.Errorf("last request = %s %s, want the detach", r.Method, r.Path)
		}
	})
}
