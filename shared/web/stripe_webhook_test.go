package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"github.com/truora/minidyn/server"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/web"
)

const webhookSecret = "whsec_test"

// newStripeEnv is the web layer in Stripe mode: payments on the Stripe
// provider (whose API answers only the card of pm_1 and acme's tax
// registrations, none: any other call fails the test), the webhook secret, and the event applier.
func newStripeEnv(t *testing.T) *env {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/payment_methods/pm_1" {
			// The order names the card: Events reads it.
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"pm_1","object":"payment_method","type":"card","customer":"cus_acme",`+
				`"card":{"brand":"visa","last4":"4242","exp_month":4,"exp_year":2040},"metadata":{}}`)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == "/v1/customers/cus_acme/tax_ids" {
			// A receipt records the tax registrations when it is issued.
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"object":"list","data":[],"has_more":false,"url":"/v1/customers/cus_acme/tax_ids"}`)
			return
		}
		t.Errorf("unexpected Stripe request %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(api.Close)
	return newEnvWith(t, lateInMonth, func(d *web.Deps) {
		d.Payments = payments.NewService(d.Store, stripeprovider.New(stripetest.Client(api.URL, api.Client())), d.Now, d.Log)
		d.StripeWebhookSecret = webhookSecret
		d.StripeEvents = stripeprovider.NewEvents(d.Payments, d.Store, d.Now, d.Log)
	})
}

// paymentSucceeded is a payment_intent.succeeded event of API version
// 2023-10-16 for a card top-up of acme, as Stripe sends it.
func paymentSucceeded(t *testing.T, eventID, paymentID string, cents int64) []byte {
	t.Helper()
	b, err := json.MarshalIndent(map[string]any{
		"id": eventID, "object": "event", "api_version": "2023-10-16", "created": 1795000000, "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": "req_1", "idempotency_key": "credits-acme-token"},
		"type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{
			"id": paymentID, "object": "payment_intent", "amount": cents, "amount_received": cents, "currency": "usd",
			"customer": "cus_acme", "payment_method": "pm_1", "payment_method_types": []string{"card"}, "status": "succeeded",
			"metadata": map[string]string{"org_id": "acme", "purpose": payments.PurposeAddCredits},
		}},
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign returns the Stripe-Signature header of payload signed with secret
// now.
func sign(payload []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header
}

// deliver posts a webhook as Stripe does: no cookies, no Origin, the raw
// JSON body and its signature header (none when signature is "").
func (e *env) deliver(body []byte, signature string) response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL+"/webhooks/stripe", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("POST /webhooks/stripe: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// balance is an organisation's ledger and history as the store has them.
type balance struct {
	ledger  money.Money
	history []string // descriptions, newest first
}

func (e *env) balance(t *testing.T, org string) balance {
	t.Helper()
	acct, err := e.store.Account(t.Context(), org, e.now)
	if err != nil {
		t.Fatalf("account %s: %v", org, err)
	}
	b := balance{ledger: acct.Ledger}
	var sum money.Money
	for _, tx := range e.storedHistory(org) {
		b.history = append(b.history, tx.Description)
		sum += tx.Amount
	}
	if sum != acct.Ledger {
		t.Errorf("%s: ledger %v, history sums to %v", org, acct.Ledger, sum)
	}
	return b
}

func (b balance) count(description string) int {
	n := 0
	for _, d := range b.history {
		if d == description {
			n++
		}
	}
	return n
}

// stripeCustomer records cus_acme as acme's Stripe customer, as its first
// payment does: events find the organisation from it.
func (e *env) stripeCustomer(t *testing.T) {
	t.Helper()
	if _, err := e.store.SetCustomerID(t.Context(), "acme", "cus_acme"); err != nil {
		t.Fatal(err)
	}
}

func (e *env) wantBalance(t *testing.T, org string, want balance) {
	t.Helper()
	if got := e.balance(t, org); got.ledger != want.ledger || strings.Join(got.history, "|") != strings.Join(want.history, "|") {
		t.Errorf("%s: ledger %v with history %q, want %v with %q", org, got.ledger, got.history, want.ledger, want.history)
	}
}

func TestStripeWebhook(t *testing.T) {
	const desc = "Stripe Payment Intent pi_hook_1 via Add Credits"

	t.Run("a signed payment_intent.succeeded credits the balance once, however often it is delivered", func(t *testing.T) {
		e := newStripeEnv(t)
		admin := e.signIn("acme", "you@acme.test", "admin")
		e.stripeCustomer(t)
		start := e.balance(t, "acme")
		payload := paymentSucceeded(t, "evt_hook_1", "pi_hook_1", 2500)
		header := sign(payload, webhookSecret)

		res := e.deliver(payload, header)
		if res.status != http.StatusOK || !strings.Contains(res.body, `"received":true`) {
			t.Fatalf("status %d, body %s; want 200 received", res.status, res.body)
		}
		b := e.balance(t, "acme")
		if b.ledger != start.ledger+money.Dollars(25) || b.count(desc) != 1 {
			t.Fatalf("ledger %v → %v, history %q; want $25 more as %q", start.ledger, b.ledger, b.history, desc)
		}
		rows := historyRows(admin.get("/billing/balance-history").body)
		if len(rows) == 0 || rows[0].description != desc || rows[0].amount != "credit $25.00" || !strings.Contains(rows[0].class, "amount-credit") {
			t.Errorf("Balance History's first row = %+v, want %q of credit $25.00", rows, desc)
		}
		total, ok := element(admin.get("/billing").body, "total-credits")
		if want := (start.ledger + money.Dollars(25)).Display(); !ok || total != want {
			t.Errorf("Overview's Total Credits = %q, want %s", total, want)
		}

		// Stripe retries the same delivery, and resends it later with a
		// new signature: both are answered 200 and credit nothing more.
		for _, h := range []string{header, sign(payload, webhookSecret)} {
			if res := e.deliver(payload, h); res.status != http.StatusOK {
				t.Errorf("redelivery: status %d, want 200; body %s", res.status, res.body)
			}
		}
		e.wantBalance(t, "acme", b)
	})

	t.Run("a bad signature, a tampered body or a missing header is refused with 400 and changes nothing", func(t *testing.T) {
		e := newStripeEnv(t)
		e.signIn("acme", "you@acme.test", "admin")
		e.stripeCustomer(t)
		start := e.balance(t, "acme")
		payload := paymentSucceeded(t, "evt_hook_2", "pi_hook_2", 2500)
		tampered := bytes.Replace(payload, []byte(`"amount": 2500`), []byte(`"amount": 250000`), 1)
		if bytes.Equal(tampered, payload) {
			t.Fatal("the tampered payload is unchanged")
		}
		for _, c := range []struct {
			name      string
			body      []byte
			signature string
		}{
			{"signed with another secret", payload, sign(payload, "whsec_other")},
			{"a tampered body", tampered, sign(payload, webhookSecret)},
			{"no signature header", payload, ""},
			{"a malformed signature header", payload, "t=1,v1=00"},
			{"a signature an hour old", payload, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
				Payload: payload, Secret: webhookSecret, Timestamp: time.Now().Add(-time.Hour)}).Header},
		} {
			res := e.deliver(c.body, c.signature)
			if res.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400; body %s", c.name, res.status, res.body)
			}
			if !strings.Contains(res.body, "Invalid Stripe webhook.") {
				t.Errorf("%s: body %s", c.name, res.body)
			}
		}
		e.wantBalance(t, "acme", start)
		// Nothing was recorded either: the genuine delivery still applies.
		if res := e.deliver(payload, sign(payload, webhookSecret)); res.status != http.StatusOK {
			t.Fatalf("genuine delivery: status %d", res.status)
		}
		if b := e.balance(t, "acme"); b.ledger != start.ledger+money.Dollars(25) || b.count("Stripe Payment Intent pi_hook_2 via Add Credits") != 1 {
			t.Errorf("after the genuine delivery: ledger %v, history %q", b.ledger, b.history)
		}
	})

	t.Run("a body over 512 KB is refused unread, even validly signed, and one under it is applied", func(t *testing.T) {
		e := newStripeEnv(t)
		e.signIn("acme", "you@acme.test", "admin")
		e.stripeCustomer(t)
		start := e.balance(t, "acme")
		// JSON allows white space before the closing brace.
		padded := func(p []byte, size int) []byte {
			out := append([]byte{}, p[:len(p)-1]...)
			out = append(out, bytes.Repeat([]byte(" "), size-len(p))...)
			return append(out, '}')
		}
		big := padded(paymentSucceeded(t, "evt_big", "pi_big", 2500), 512<<10+1)
		res := e.deliver(big, sign(big, webhookSecret))
		if res.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%d bytes: status %d, want 413", len(big), res.status)
		}
		e.wantBalance(t, "acme", start)

		fits := padded(paymentSucceeded(t, "evt_fits", "pi_fits", 700), 512<<10)
		if res := e.deliver(fits, sign(fits, webhookSecret)); res.status != http.StatusOK {
			t.Errorf("%d bytes: status %d, want 200; body %s", len(fits), res.status, res.body)
		}
		if b := e.balance(t, "acme"); b.ledger != start.ledger+money.Dollars(7) {
			t.Errorf("ledger %v, want %v", b.ledger, start.ledger+money.Dollars(7))
		}
	})

	t.Run("a store failure answers 500 so Stripe retries, and the retry after recovery credits once", func(t *testing.T) {
		e := newStripeEnv(t)
		e.signIn("acme", "you@acme.test", "admin")
		e.stripeCustomer(t)
		start := e.balance(t, "acme")
		payload := paymentSucceeded(t, "evt_hook_3", "pi_hook_3", 2500)

		e.db.Server.EmulateFailure(server.FailureConditionInternalServerError)
		res := e.deliver(payload, sign(payload, webhookSecret))
		e.db.Server.EmulateFailure(server.FailureConditionNone)
		if res.status != http.StatusInternalServerError {
			t.Fatalf("status %d during the failure, want 500; body %s", res.status, res.body)
		}
		if strings.Contains(res.body, "billing") || strings.Contains(res.body, "dynamodb") {
			t.Errorf("the 500 body leaks internals: %s", res.body)
		}
		e.wantBalance(t, "acme", start)

		for range 2 {
			if res := e.deliver(payload, sign(payload, webhookSecret)); res.status != http.StatusOK {
				t.Fatalf("retry: status %d, want 200; body %s", res.status, res.body)
			}
		}
		if b := e.balance(t, "acme"); b.ledger != start.ledger+money.Dollars(25) || b.count("Stripe Payment Intent pi_hook_3 via Add Credits") != 1 {
			t.Errorf("after the retries: ledger %v, history %q; want $25 credited once", b.ledger, b.history)
		}
	})

	t.Run("without a webhook secret the endpoint does not exist", func(t *testing.T) {
		for _, c := range []struct {
			name string
			e    func(t *testing.T) *env
		}{
			{"the sandbox", func(t *testing.T) *env { return newEnv(t, lateInMonth) }},
			{"Stripe with an empty secret", func(t *testing.T) *env {
				return newEnvWith(t, lateInMonth, func(d *web.Deps) {
					d.StripeEvents = stripeprovider.NewEvents(d.Payments, d.Store, d.Now, d.Log)
				})
			}},
		} {
			e := c.e(t)
			e.signIn("acme", "you@acme.test", "admin")
			start := e.balance(t, "acme")
			for _, secret := range []string{webhookSecret, ""} {
				payload := paymentSucceeded(t, "evt_hook_4", "pi_hook_4", 2500)
				if res := e.deliver(payload, sign(payload, secret)); res.status != http.StatusNotFound {
					t.Errorf("%s, signed with %q: status %d, want 404; body %s", c.name, secret, res.status, res.body)
				}
			}
			e.wantBalance(t, "acme", start)
		}
	})
}
