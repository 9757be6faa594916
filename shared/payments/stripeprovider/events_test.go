package stripeprovider_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// fakeStripe is a stateful stand-in for the few Stripe endpoints a
// setup_intent.succeeded needs (read the customer and its cards, check a
// card's owner, set the default) and our pages' detach of a card,
// answering with Stripe's JSON shapes.
// stripe-mock is stateless, so it cannot show a default that changed.
type fakeStripe struct {
	t *testing.T

	mu       sync.Mutex
	defaults map[string]string           // customer → default payment method ("" for none)
	owners   map[string]string           // payment method → customer
	intents  map[string]map[string]any   // PaymentIntent id → its JSON
	refunds  map[string][]map[string]any // PaymentIntent id → its refunds' JSON
	sessions map[string]map[string]any   // PaymentIntent id → its Checkout Session's JSON
	invoices map[string]map[string]any   // Stripe invoice id → its JSON
	calls    int
	failing  bool // answer every request with Stripe's api_error
	refusing bool // answer every change (POST) with Stripe's api_error
}

func newFakeStripeAPI(t *testing.T) (*fakeStripe, *httptest.Server) {
	f := &fakeStripe{t: t,
		defaults: map[string]string{"cus_acme": ""},
		owners:   map[string]string{"pm_new": "cus_acme"},
		intents:  map[string]map[string]any{},
		refunds:  map[string][]map[string]any{},
		sessions: map[string]map[string]any{},
		invoices: map[string]map[string]any{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/customers/{id}", f.customer)
	mux.HandleFunc("POST /v1/customers/{id}", f.updateCustomer)
	mux.HandleFunc("GET /v1/customers/{id}/payment_methods", f.paymentMethods)
	mux.HandleFunc("GET /v1/payment_methods/{id}", f.paymentMethod)
	mux.HandleFunc("POST /v1/payment_methods/{id}/detach", f.detach)
	mux.HandleFunc("GET /v1/payment_intents/{id}", f.paymentIntent)
	mux.HandleFunc("GET /v1/refunds", f.refundList)
	mux.HandleFunc("GET /v1/checkout/sessions", f.sessionList)
	mux.HandleFunc("GET /v1/invoices/{id}", f.invoice)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Stripe request %s %s", r.Method, r.URL.Path)
		f.missing(w)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls++
		failing := f.failing || f.refusing && r.Method == http.MethodPost
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_fake")
		if failing {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeStripe) missing(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such object"}}`)
}

func (f *fakeStripe) reply(w http.ResponseWriter, v any) {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake stripe: %v", err)
	}
}

func pmJSON(id, customer string) map[string]any {
	var cus any
	if customer != "" {
		cus = customer
	}
	return map[string]any{"id": id, "object": "payment_method", "type": "card", "customer": cus, "created": 1795000000,
		"billing_details": map[string]any{"name": "Jenny Rosen"}, "metadata": map[string]any{},
		"card": map[string]any{"brand": "visa", "last4": "4242", "exp_month": 4, "exp_year": 2030}}
}

func (f *fakeStripe) customer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	def, ok := f.defaults[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		f.missing(w)
		return
	}
	var d any
	if def != "" {
		d = def
	}
	f.reply(w, map[string]any{"id": r.PathValue("id"), "object": "customer", "metadata": map[string]any{},
		"invoice_settings": map[string]any{"default_payment_method": d}})
}

func (f *fakeStripe) updateCustomer(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("fake stripe: %v", err)
	}
	id := r.PathValue("id")
	f.mu.Lock()
	_, ok := f.defaults[id]
	if ok {
		f.defaults[id] = r.PostForm.Get("invoice_settings[default_payment_method]")
	}
	f.mu.Unlock()
	if !ok {
		f.missing(w)
		return
	}
	f.customer(w, r)
}

func (f *fakeStripe) paymentMethods(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	var data []any
	for pm, cus := range f.owners {
		if cus == id {
			data = append(data, pmJSON(pm, cus))
		}
	}
	f.mu.Unlock()
	f.reply(w, map[string]any{"object": "list", "url": r.URL.Path, "has_more": false, "data": data})
}

func (f *fakeStripe) paymentMethod(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	cus, ok := f.owners[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		f.missing(w)
		return
	}
	f.reply(w, pmJSON(r.PathValue("id"), cus))
}

// detach detaches a card from its customer, which loses it as its
// default, as Stripe does.
func (f *fakeStripe) detach(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	cus, ok := f.owners[id]
	delete(f.owners, id)
	if ok && f.defaults[cus] == id {
		f.defaults[cus] = ""
	}
	f.mu.Unlock()
	if !ok {
		f.missing(w)
		return
	}
	f.reply(w, pmJSON(id, ""))
}

// paymentIntent answers a PaymentIntent with its card expanded, as
// Payment asks.
func (f *fakeStripe) paymentIntent(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	pi, ok := f.intents[r.PathValue("id")]
	var out map[string]any
	if ok {
		out = map[string]any{}
		for k, v := range pi {
			out[k] = v
		}
		if pm, isID := out["payment_method"].(string); isID {
			out["payment_method"] = pmJSON(pm, f.owners[pm])
		}
	}
	f.mu.Unlock()
	if !ok {
		f.missing(w)
		return
	}
	f.reply(w, out)
}

func (f *fakeStripe) refundList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	data := append([]map[string]any{}, f.refunds[r.URL.Query().Get("payment_intent")]...)
	f.mu.Unlock()
	f.reply(w, map[string]any{"object": "list", "url": "/v1/refunds", "has_more": false, "data": data})
}

func (f *fakeStripe) sessionList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	data := []map[string]any{}
	if cs, ok := f.sessions[r.URL.Query().Get("payment_intent")]; ok {
		data = append(data, cs)
	}
	f.mu.Unlock()
	f.reply(w, map[string]any{"object": "list", "url": "/v1/checkout/sessions", "has_more": false, "data": data})
}

func (f *fakeStripe) invoice(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	inv, ok := f.invoices[r.PathValue("id")]
	f.mu.Unlock()
	if !ok {
		f.missing(w)
		return
	}
	f.reply(w, inv)
}

// addSession makes Stripe know the Checkout Session its PaymentIntent pi
// paid.
func (f *fakeStripe) addSession(pi string, cs map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[pi] = cs
}

// addIntent makes Stripe know a PaymentIntent.
func (f *fakeStripe) addIntent(pi map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intents[pi["id"].(string)] = pi
}

// addRefund makes Stripe know one more refund of a PaymentIntent.
func (f *fakeStripe) addRefund(id, pi string, cents int64, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunds[pi] = append(f.refunds[pi], refundJSON(id, pi, cents, status))
}

func refundJSON(id, pi string, cents int64, status string) map[string]any {
	return map[string]any{"id": id, "object": "refund", "amount": cents, "currency": "usd", "payment_intent": pi,
		"charge": "ch_" + strings.TrimPrefix(pi, "pi_"), "status": status, "created": time.Now().Unix(), "metadata": map[string]any{}}
}

func (f *fakeStripe) defaultOf(customer string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.defaults[customer]
}

func (f *fakeStripe) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// eventsEnv is Events on a payments.Service on the Stripe provider, the
// real store on an embedded DynamoDB, and the fake Stripe. Organisation
// acme has customer cus_acme (one card, pm_new, no default); globex has
// none recorded.
type eventsEnv struct {
	t      *testing.T
	db     *storetest.DB
	store  *store.Store
	stripe *fakeStripe
	logs   *logtest.Buffer
	svc    *payments.Service
	events *stripeprovider.Events
}

var trialCredits = money.Dollars(10)

func newEventsEnv(t *testing.T) *eventsEnv {
	t.Helper()
	start := time.Now().UTC().Truncate(time.Second)
	now := func() time.Time { return start }
	db := storetest.New(t)
	st := db.Store(now)
	ctx := t.Context()
	for _, org := range []string{"acme", "globex"} {
		if err := st.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: org, Name: org}, TrialCredits: trialCredits}); err != nil {
			t.Fatal(err)
		}
	}
	// Both customers are recorded; globex's payments also carry its id in
	// their metadata.
	for _, org := range []string{"acme", "globex"} {
		if _, err := st.SetCustomerID(ctx, org, "cus_"+org); err != nil {
			t.Fatal(err)
		}
		if got, err := st.OrgByCustomer(ctx, "cus_"+org); err != nil || got != org {
			t.Fatalf("OrgByCustomer(cus_%s) = %q, %v", org, got, err)
		}
	}
	f, srv := newFakeStripeAPI(t)
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc := payments.NewService(st, newProvider(t, srv.URL, srv.Client()), now, log)
	return &eventsEnv{t: t, db: db, store: st, stripe: f, logs: logs, svc: svc, events: stripeprovider.NewEvents(svc, st, now, log)}
}

// webhookSecret signs the test events; each goes through VerifyWebhook as
// a delivery would.
const webhookSecret = "whsec_events_test"

// event builds a signed Stripe event of API version 2023-10-16 around
// object and returns it as VerifyWebhook gives it.
func event(t *testing.T, id, typ string, object map[string]any) stripe.Event {
	t.Helper()
	return eventWith(t, id, typ, object, nil)
}

// eventWith is event with data.previous_attributes, the values before the
// change it reports (omitted when nil).
func eventWith(t *testing.T, id, typ string, object, previous map[string]any) stripe.Event {
	t.Helper()
	data := map[string]any{"object": object}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	payload, err := json.MarshalIndent(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": 1795000000, "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil}, "type": typ,
		"data": data,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret})
	ev, err := stripeprovider.VerifyWebhook(signed.Payload, signed.Header, webhookSecret)
	if err != nil {
		t.Fatalf("verify %s: %v", id, err)
	}
	return ev
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// paymentIntent is a PaymentIntent as a webhook carries it: the customer
// and payment method are ids, amounts in cents.
func paymentIntent(id string, cents int64, status, customer string, metadata map[string]string, methodTypes ...string) map[string]any {
	if len(methodTypes) == 0 {
		methodTypes = []string{"card"}
	}
	pi := map[string]any{"id": id, "object": "payment_intent", "amount": cents, "currency": "usd", "customer": orNull(customer),
		"metadata": metadata, "status": status, "payment_method": "pm_new", "payment_method_types": methodTypes,
		"amount_received": 0, "livemode": false, "created": 1795000000, "last_payment_error": nil}
	if status == "succeeded" {
		pi["amount_received"] = cents
	}
	if status == "requires_payment_method" {
		pi["payment_method"] = nil
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
			"message": "Your card was declined."}
	}
	return pi
}

func checkoutSession(id, paymentStatus string, cents int64, customer string, metadata map[string]string, pi string) map[string]any {
	status := "complete"
	return map[string]any{"id": id, "object": "checkout.session", "mode": "payment", "status": status, "payment_status": paymentStatus,
		"amount_total": cents, "amount_subtotal": cents, "currency": "usd", "customer": orNull(customer), "metadata": metadata,
		"payment_intent": orNull(pi), "payment_method_types": []string{"crypto"}, "livemode": false, "created": 1795000000}
}

func setupIntent(id, customer, pm string) map[string]any {
	return map[string]any{"id": id, "object": "setup_intent", "customer": orNull(customer), "payment_method": orNull(pm),
		"status": "succeeded", "usage": "off_session", "payment_method_types": []string{"card"}, "livemode": false, "created": 1795000000}
}

// customer is a Customer as customer.updated carries it, its default
// payment method an id, an expanded object or nil.
func customer(id string, defaultMethod any) map[string]any {
	return map[string]any{"id": id, "object": "customer", "metadata": map[string]any{}, "livemode": false, "created": 1795000000,
		"invoice_settings": map[string]any{"default_payment_method": defaultMethod}}
}

func taxID(id, customer, value string) map[string]any {
	return map[string]any{"id": id, "object": "tax_id", "customer": orNull(customer), "type": "eu_vat", "value": value, "country": "DE",
		"verification": map[string]any{"status": "pending"}, "livemode": false, "created": 1795000000}
}

func invoice(id, customer string, paidCents int64) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": orNull(customer), "amount_paid": paidCents, "amount_due": paidCents,
		"currency": "usd", "status": "paid", "paid": true, "livemode": false, "created": 1795000000}
}

var (
	addCredits   = map[string]string{"org_id": "acme", "purpose": payments.PurposeAddCredits}
	autoRecharge = map[string]string{"purpose": payments.PurposeAutoRecharge} // no org: found from the customer
	acmeOnly     = map[string]string{"org_id": "acme"}
)

// state is what events can change: every item of the table but the
// records of applied events, and the customers' defaults at Stripe.
type state struct {
	items    []string
	defaults string
}

func (e *eventsEnv) state() state {
	e.t.Helper()
	var items []string
	p := dynamodb.NewScanPaginator(e.db.Client, &dynamodb.ScanInput{TableName: aws.String(e.db.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.t.Context())
		if err != nil {
			e.t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				e.t.Fatal(err)
			}
			if pk, _ := m["PK"].(string); strings.HasPrefix(pk, "STRIPE_EVENT#") {
				continue
			}
			b, err := json.Marshal(m)
			if err != nil {
				e.t.Fatal(err)
			}
			items = append(items, string(b))
		}
	}
	slices.Sort(items)
	return state{items: items, defaults: e.stripe.defaultOf("cus_acme")}
}

func (s state) equal(o state) bool {
	return s.defaults == o.defaults && slices.Equal(s.items, o.items)
}

func (s state) diff(o state) string {
	var b strings.Builder
	if s.defaults != o.defaults {
		fmt.Fprintf(&b, "defaults %s → %s\n", s.defaults, o.defaults)
	}
	for _, it := range o.items {
		if !slices.Contains(s.items, it) {
			fmt.Fprintf(&b, "+ %s\n", it)
		}
	}
	for _, it := range s.items {
		if !slices.Contains(o.items, it) {
			fmt.Fprintf(&b, "- %s\n", it)
		}
	}
	return b.String()
}

func (e *eventsEnv) apply(ev stripe.Event) {
	e.t.Helper()
	if err := e.events.Apply(e.t.Context(), ev); err != nil {
		e.t.Fatalf("apply %s %s: %v", ev.Type, ev.ID, err)
	}
}

// ledger returns the organisation's ledger, checking it equals the sum of
// its history, and the history's descriptions with their amounts (summed
// per description).
func (e *eventsEnv) ledger(org string) (money.Money, map[string]money.Money) {
	e.t.Helper()
	ctx := e.t.Context()
	acct, err := e.store.Account(ctx, org, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	var sum money.Money
	txs := map[string]money.Money{}
	if err := e.store.EachTransaction(ctx, org, func(tx billing.Transaction) error {
		sum += tx.Amount
		// Two refunds of one payment share a description; their amounts
		// add up, so a double credit still shows as a wrong amount.
		txs[tx.Description] += tx.Amount
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	if sum != acct.Ledger {
		e.t.Errorf("%s: ledger %v, history sums to %v", org, acct.Ledger, sum)
	}
	return acct.Ledger, txs
}

// storedEvent is an event kept for later under STRIPE#<org>.
type storedEvent struct {
	SK     string `dynamodbav:"SK"`
	Type   string `dynamodbav:"type"`
	Object []byte `dynamodbav:"object"` // the event's data.object, as JSON
}

// objectID returns the id of the stored object.
func (s storedEvent) objectID() string {
	var o struct{ ID string }
	if json.Unmarshal(s.Object, &o) != nil {
		return ""
	}
	return o.ID
}

// stored returns the events kept for later under STRIPE#<org>.
func (e *eventsEnv) stored(org string) []storedEvent {
	e.t.Helper()
	var out []storedEvent
	for _, prefix := range []string{"customer.tax_id.", "invoice."} {
		var recs []storedEvent
		if err := e.store.Items().Query(e.t.Context(), "STRIPE#"+org, prefix, &recs); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

func (e *eventsEnv) recorded(id string) bool {
	e.t.Helper()
	var rec map[string]any
	err := e.store.Items().Get(e.t.Context(), "STRIPE_EVENT#"+id, "EVENT", &rec)
	if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
		e.t.Fatal(err)
	}
	return err == nil
}

func TestEventsApply(t *testing.T) {
	type check func(t *testing.T, e *eventsEnv, before state)

	credits := func(desc string, amount money.Money, method string) check {
		return func(t *testing.T, e *eventsEnv, _ state) {
			ledger, txs := e.ledger("acme")
			if ledger != trialCredits+amount || txs[desc] != amount || len(txs) != 2 {
				t.Errorf("ledger %v, history %v; want %v more as %q", ledger, txs, amount, desc)
			}
			orders, err := e.store.Orders(t.Context(), "acme")
			if err != nil {
				t.Fatal(err)
			}
			if len(orders) != 1 || orders[0].Amount != amount || orders[0].Method != method {
				t.Errorf("orders = %+v, want one of %v by %s", orders, amount, method)
			}
		}
	}
	nothing := func(t *testing.T, e *eventsEnv, before state) {
		if after := e.state(); !after.equal(before) {
			t.Errorf("the event changed:\n%s", before.diff(after))
		}
	}
	stores := func(typ, objectID string) check {
		return func(t *testing.T, e *eventsEnv, _ state) {
			recs := e.stored("acme")
			if len(recs) != 1 || recs[0].Type != typ || recs[0].objectID() != objectID || !strings.HasPrefix(recs[0].SK, typ+"#") {
				t.Errorf("stored = %+v, want one %s of %s", recs, typ, objectID)
			}
			if ledger, _ := e.ledger("acme"); ledger != trialCredits {
				t.Errorf("ledger %v changed", ledger)
			}
		}
	}

	tests := []struct {
		name   string
		typ    string
		object map[string]any
		check  check
	}{
		{"payment_intent.succeeded credits the payment of the organisation in its metadata", "payment_intent.succeeded",
			paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits),
			credits("Stripe Payment Intent pi_card via Add Credits", money.Dollars(25), "Visa •••• 4242")},
		{"payment_intent.succeeded without an organisation finds it from the customer", "payment_intent.succeeded",
			paymentIntent("pi_auto", 1050, "succeeded", "cus_acme", autoRecharge),
			credits("Stripe Payment Intent pi_auto via Auto Recharge call.", money.MustParse("10.50"), "Visa •••• 4242")},
		{"payment_intent.payment_failed changes nothing", "payment_intent.payment_failed",
			paymentIntent("pi_declined", 9900, "requires_payment_method", "cus_acme", addCredits), nothing},
		{"checkout.session.completed and paid credits the checkout", "checkout.session.completed",
			checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs"),
			credits("Stripe Checkout Session cs_crypto via Add Credits", money.Dollars(50), "Cryptocurrency")},
		{"checkout.session.completed but unpaid waits for its async payment", "checkout.session.completed",
			checkoutSession("cs_async", "unpaid", 3000, "cus_acme", acmeOnly, "pi_async"), nothing},
		{"checkout.session.async_payment_succeeded credits the checkout", "checkout.session.async_payment_succeeded",
			checkoutSession("cs_async", "paid", 3000, "cus_acme", addCredits, "pi_async"),
			credits("Stripe Checkout Session cs_async via Add Credits", money.Dollars(30), "Cryptocurrency")},
		{"setup_intent.succeeded makes the new card the default when there is none, and records who added it", "setup_intent.succeeded",
			withMeta(setupIntent("seti_1", "cus_acme", "pm_new"), stripeprovider.MetaAddedBy, "you@acme.test"),
			func(t *testing.T, e *eventsEnv, before state) {
				if got := e.stripe.defaultOf("cus_acme"); got != "pm_new" {
					t.Errorf("acme's default = %q, want pm_new", got)
				}
				// Stripe then reports the default it set: the card added is
				// recorded, not also its becoming the default. The profile
				// gains the summary of the default card.
				e.apply(eventWith(t, "evt_default_of_added", "customer.updated", customer("cus_acme", "pm_new"),
					map[string]any{"invoice_settings": map[string]any{"default_payment_method": nil}}))
				profile := func(it string) bool { return strings.Contains(it, `"SK":"PROFILE"`) }
				after := e.state().withoutAudit()
				if a, b := slices.DeleteFunc(slices.Clone(after.items), profile), slices.DeleteFunc(before.withoutAudit().items, profile); !slices.Equal(a, b) {
					t.Errorf("the store changed beyond the audit trail and the profile:\n%s", before.diff(after))
				}
				e.wantDefaultCard(t, "acme", visaNew)
				e.wantCardAudit(t, "you@acme.test")
			}},
		{"setup_intent.succeeded leaves an existing default, and records the card", "setup_intent.succeeded",
			setupIntent("seti_2", "cus_acme", "pm_new"),
			func(t *testing.T, e *eventsEnv, before state) {
				if after := e.state().withoutAudit(); !after.equal(before.withoutAudit()) {
					t.Errorf("the event changed:\n%s", before.diff(after))
				}
				e.wantCardAudit(t, "Stripe")
			}},
		{"payment_method.attached is acknowledged and changes nothing", "payment_method.attached", pmJSON("pm_new", "cus_acme"), nothing},
		{"payment_method.detached of no customer is acknowledged and changes nothing", "payment_method.detached", pmJSON("pm_new", ""), nothing},
		{"customer.updated with no change of its default card is acknowledged and changes nothing", "customer.updated", customer("cus_acme", nil), nothing},
		{"payment_method.updated is acknowledged and changes nothing", "payment_method.updated", pmJSON("pm_new", "cus_acme"), nothing},
		{"customer.tax_id.created is stored for the organisation", "customer.tax_id.created",
			taxID("txi_1", "cus_acme", "DE123456789"), stores("customer.tax_id.created", "txi_1")},
		{"customer.tax_id.updated is stored for the organisation", "customer.tax_id.updated",
			taxID("txi_1", "cus_acme", "DE123456789"), stores("customer.tax_id.updated", "txi_1")},
		{"invoice.paid is stored for the organisation", "invoice.paid", invoice("in_1", "cus_acme", 1234), stores("invoice.paid", "in_1")},
	}
	for _, tt := range tests {
		t.Run(tt.name+", once however often it is applied", func(t *testing.T) {
			e := newEventsEnv(t)
			if strings.HasPrefix(tt.name, "setup_intent.succeeded leaves an existing default") {
				e.stripe.defaults["cus_acme"], e.stripe.owners["pm_old"] = "pm_old", "cus_acme"
			}
			ev := event(t, "evt_"+strings.ReplaceAll(tt.typ, ".", "_"), tt.typ, tt.object)
			before := e.state()
			e.apply(ev)
			if !e.recorded(ev.ID) {
				t.Errorf("event %s is not recorded as applied", ev.ID)
			}
			tt.check(t, e, before)
			once, calls := e.state(), e.stripe.callCount()
			e.apply(ev)
			if again := e.state(); !again.equal(once) {
				t.Errorf("applying %s again changed:\n%s", ev.ID, once.diff(again))
			}
			if got := e.stripe.callCount(); got != calls {
				t.Errorf("applying %s again called Stripe %d times", ev.ID, got-calls)
			}
		})
	}

	t.Run("an event id applied once is skipped the second time", func(t *testing.T) {
		e := newEventsEnv(t)
		ev := event(t, "evt_seti", "setup_intent.succeeded", setupIntent("seti_1", "cus_acme", "pm_new"))
		e.apply(ev)
		if got := e.stripe.defaultOf("cus_acme"); got != "pm_new" {
			t.Fatalf("default = %q after the first delivery", got)
		}
		// The default goes meanwhile; a second application of the same
		// event would set it again, so it must not run.
		e.stripe.mu.Lock()
		e.stripe.defaults["cus_acme"] = ""
		e.stripe.mu.Unlock()
		e.db.Reset()
		calls := e.stripe.callCount()
		e.apply(ev)
		if got := e.stripe.defaultOf("cus_acme"); got != "" {
			t.Errorf("default = %q: the event was applied again", got)
		}
		if reqs := e.db.Requests(); len(reqs) != 1 || reqs[0].Op != "GetItem" {
			ops := make([]string, len(reqs))
			for i, r := range reqs {
				ops[i] = r.Op
			}
			t.Errorf("the repeat sent %v to the table, want one GetItem of the event record", ops)
		}
		if e.stripe.callCount() != calls {
			t.Errorf("the repeat called Stripe")
		}
		// A new event with the same content is applied.
		e.apply(event(t, "evt_seti_next", "setup_intent.succeeded", setupIntent("seti_1", "cus_acme", "pm_new")))
		if got := e.stripe.defaultOf("cus_acme"); got != "pm_new" {
			t.Errorf("default = %q after a new event", got)
		}
	})

	t.Run("a payment_failed after its succeeded undoes nothing, and one before it does not stop the credit", func(t *testing.T) {
		for _, order := range [][]string{{"succeeded", "failed"}, {"failed", "succeeded"}} {
			e := newEventsEnv(t)
			evs := map[string]stripe.Event{
				"succeeded": event(t, "evt_pi_ok", "payment_intent.succeeded", paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)),
				"failed":    event(t, "evt_pi_failed", "payment_intent.payment_failed", paymentIntent("pi_card", 2500, "requires_payment_method", "cus_acme", addCredits)),
			}
			for _, k := range order {
				e.apply(evs[k])
			}
			if ledger, txs := e.ledger("acme"); ledger != trialCredits+money.Dollars(25) || txs["Stripe Payment Intent pi_card via Add Credits"] != money.Dollars(25) {
				t.Errorf("%v: ledger %v, history %v; want the $25 credited", order, ledger, txs)
			}
		}
	})

	t.Run("an event for an unknown customer or organisation is acknowledged with no change", func(t *testing.T) {
		e := newEventsEnv(t)
		before := e.state()
		calls := e.stripe.callCount()
		for i, ev := range []struct {
			typ    string
			object map[string]any
		}{
			{"setup_intent.succeeded", setupIntent("seti_x", "cus_unknown", "pm_x")},
			{"payment_intent.succeeded", paymentIntent("pi_x", 2500, "succeeded", "cus_unknown", autoRecharge)},
			{"payment_intent.succeeded", paymentIntent("pi_y", 2500, "succeeded", "", nil)},
			{"payment_intent.succeeded", paymentIntent("pi_w", 2500, "succeeded", "", map[string]string{"org_id": "not-ours", "purpose": payments.PurposeAddCredits})},
			{"checkout.session.completed", checkoutSession("cs_w", "paid", 5000, "", map[string]string{"org_id": "not-ours"}, "pi_v")},
			{"checkout.session.completed", checkoutSession("cs_x", "paid", 5000, "cus_unknown", nil, "pi_z")},
			{"customer.tax_id.created", taxID("txi_x", "cus_unknown", "DE999999999")},
			{"invoice.paid", invoice("in_x", "cus_unknown", 100)},
			{"payment_method.attached", pmJSON("pm_x", "cus_unknown")},
		} {
			id := fmt.Sprintf("evt_unknown_%d", i)
			e.apply(event(t, id, ev.typ, ev.object))
			if !e.recorded(id) {
				t.Errorf("%s %s is not recorded as handled", ev.typ, id)
			}
		}
		if after := e.state(); !after.equal(before) {
			t.Errorf("events of an unknown customer changed:\n%s", before.diff(after))
		}
		if e.stripe.callCount() != calls {
			t.Errorf("events of an unknown customer called Stripe")
		}
	})

	t.Run("an event that cannot be applied is not recorded, and its retry applies it", func(t *testing.T) {
		e := newEventsEnv(t)
		ev := event(t, "evt_seti_retry", "setup_intent.succeeded", setupIntent("seti_1", "cus_acme", "pm_new"))
		e.stripe.mu.Lock()
		e.stripe.failing = true
		e.stripe.mu.Unlock()
		if err := e.events.Apply(t.Context(), ev); err == nil {
			t.Fatal("Apply succeeded while Stripe failed")
		}
		if e.recorded(ev.ID) {
			t.Error("a failed event is recorded as applied, so Stripe's retry would be skipped")
		}
		e.stripe.mu.Lock()
		e.stripe.failing = false
		e.stripe.mu.Unlock()
		e.apply(ev)
		if got := e.stripe.defaultOf("cus_acme"); got != "pm_new" || !e.recorded(ev.ID) {
			t.Errorf("after the retry: default %q, recorded %v", got, e.recorded(ev.ID))
		}
	})

	t.Run("a crypto checkout's own PaymentIntent succeeding does not credit it a second time", func(t *testing.T) {
		// A Checkout Session in payment mode pays through a PaymentIntent,
		// which carries the metadata CryptoCheckout gives it
		// (payment_intent_data), and Stripe reports both.
		for _, order := range [][]string{{"session", "intent"}, {"intent", "session"}} {
			e := newEventsEnv(t)
			evs := map[string]stripe.Event{
				"session": event(t, "evt_cs", "checkout.session.completed", checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs")),
				"intent":  event(t, "evt_pi_of_cs", "payment_intent.succeeded", paymentIntent("pi_of_cs", 5000, "succeeded", "cus_acme", addCredits, "crypto")),
			}
			for _, k := range order {
				e.apply(evs[k])
			}
			if ledger, txs := e.ledger("acme"); ledger != trialCredits+money.Dollars(50) {
				t.Errorf("%v: ledger %v, history %v; want the $50 checkout credited once", order, ledger, txs)
			}
		}
	})

	t.Run("every event type applied twice in shuffled orders leaves the exact balance", func(t *testing.T) {
		type delivery struct {
			id, typ string
			object  map[string]any
		}
		set := []delivery{
			{"evt_1", "payment_intent.succeeded", paymentIntent("pi_card", 2500, "succeeded", "cus_acme", addCredits)},
			{"evt_2", "payment_intent.payment_failed", paymentIntent("pi_card", 2500, "requires_payment_method", "cus_acme", addCredits)},
			{"evt_3", "payment_intent.payment_failed", paymentIntent("pi_declined", 9900, "requires_payment_method", "cus_acme", addCredits)},
			{"evt_4", "payment_intent.succeeded", paymentIntent("pi_auto", 1050, "succeeded", "cus_acme", autoRecharge)},
			{"evt_5", "checkout.session.completed", checkoutSession("cs_crypto", "paid", 5000, "cus_acme", addCredits, "pi_of_cs")},
			{"evt_6", "payment_intent.succeeded", paymentIntent("pi_of_cs", 5000, "succeeded", "cus_acme", addCredits, "crypto")},
			{"evt_7", "checkout.session.completed", checkoutSession("cs_async", "unpaid", 3000, "cus_acme", acmeOnly, "pi_async")},
			{"evt_8", "checkout.session.async_payment_succeeded", checkoutSession("cs_async", "paid", 3000, "cus_acme", addCredits, "pi_async")},
			{"evt_9", "setup_intent.succeeded", setupIntent("seti_1", "cus_acme", "pm_new")},
			{"evt_10", "payment_method.attached", pmJSON("pm_new", "cus_acme")},
			{"evt_11", "payment_method.updated", pmJSON("pm_new", "cus_acme")},
			{"evt_12", "payment_method.detached", pmJSON("pm_old", "")},
			{"evt_13", "customer.tax_id.created", taxID("txi_1", "cus_acme", "DE123456789")},
			{"evt_14", "customer.tax_id.updated", taxID("txi_1", "cus_acme", "DE123456789")},
			{"evt_15", "invoice.paid", invoice("in_1", "cus_acme", 1234)},
			{"evt_16", "invoice.paid", invoice("in_x", "cus_unknown", 100)},
			{"evt_17", "setup_intent.succeeded", setupIntent("seti_x", "cus_unknown", "pm_x")},
			{"evt_18", "payment_intent.succeeded", paymentIntent("pi_globex", 700, "succeeded", "cus_globex", map[string]string{"org_id": "globex", "purpose": payments.PurposeAddCredits})},
		}
		wantAcme := map[string]money.Money{
			billing.DescFreeTrial:                                   trialCredits,
			"Stripe Payment Intent pi_card via Add Credits":         money.Dollars(25),
			"Stripe Payment Intent pi_auto via Auto Recharge call.": money.MustParse("10.50"),
			"Stripe Checkout Session cs_crypto via Add Credits":     money.Dollars(50),
			"Stripe Checkout Session cs_async via Add Credits":      money.Dollars(30),
		}
		seed := time.Now().UnixNano()
		t.Logf("shuffle seed %d", seed)
		rng := rand.New(rand.NewPCG(uint64(seed), 4))
		for round := range 4 {
			e := newEventsEnv(t)
			evs := make([]stripe.Event, 0, 2*len(set))
			for _, d := range set {
				ev := event(t, d.id, d.typ, d.object)
				evs = append(evs, ev, ev)
			}
			rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			order := make([]string, len(evs))
			for i, ev := range evs {
				order[i] = ev.ID
				e.apply(ev)
			}
			ledger, txs := e.ledger("acme")
			var want money.Money
			for _, a := range wantAcme {
				want += a
			}
			if ledger != want || !mapsEqual(txs, wantAcme) {
				t.Errorf("round %d, order %v:\nledger %v, want %v\nhistory %v\nwant    %v", round, order, ledger, want, txs, wantAcme)
			}
			if ledger, _ := e.ledger("globex"); ledger != trialCredits+money.Dollars(7) {
				t.Errorf("round %d: globex's ledger %v, want %v", round, ledger, trialCredits+money.Dollars(7))
			}
			if orders, err := e.store.Orders(t.Context(), "acme"); err != nil || len(orders) != 4 {
				t.Errorf("round %d: acme's orders = %+v, %v; want 4", round, orders, err)
			}
			if got := e.stripe.defaultOf("cus_acme"); got != "pm_new" {
				t.Errorf("round %d: acme's default = %q, want pm_new", round, got)
			}
			if recs := e.stored("acme"); len(recs) != 3 {
				t.Errorf("round %d: %d events stored for acme, want 3", round, len(recs))
			}
			for _, d := range set {
				if !e.recorded(d.id) {
					t.Errorf("round %d: %s not recorded", round, d.id)
				}
			}
		}
	})
}

func mapsEqual(a, b map[string]money.Money) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// withMeta returns object with metadata key set to value.
func withMeta(object map[string]any, key, value string) map[string]any {
	object["metadata"] = map[string]string{key: value}
	return object
}

// withoutAudit is the state without audit trail entries.
func (s state) withoutAudit() state {
	var items []string
	for _, it := range s.items {
		if !strings.Contains(it, `"SK":"AUDIT#`) {
			items = append(items, it)
		}
	}
	s.items = items
	return s
}

// wantCardAudit checks acme's audit trail holds exactly one "card … added"
// entry, by actor.
func (e *eventsEnv) wantCardAudit(t *testing.T, actor string) {
	t.Helper()
	entries, err := e.store.RecentChanges(t.Context(), "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Actor != actor || entries[0].Page != "Payment Methods" ||
		len(entries[0].Changes) != 1 || !strings.HasPrefix(entries[0].Changes[0].What, "card ") || !strings.HasSuffix(entries[0].Changes[0].What, " added") {
		t.Errorf("audit trail %+v, want one card added by %s", entries, actor)
	}
}

// TestEventsCardChanges: a card removed, or made the default, at Stripe
// (its Dashboard or API) is recorded once in the organisation's Recent
// changes, by "Stripe"; one our pages changed, which they record by the
// member, is not recorded again by its webhook.
func TestEventsCardChanges(t *testing.T) {
	detached := func(pm, customer string) (map[string]any, map[string]any) {
		return pmJSON(pm, ""), map[string]any{"customer": customer}
	}
	defaultSet := func(customerID string, to, from any) (map[string]any, map[string]any) {
		return customer(customerID, to), map[string]any{"invoice_settings": map[string]any{"default_payment_method": from}}
	}
	// throughOurPages makes a change as our pages do, through the service.
	throughOurPages := func(change func(*payments.Service, string) error) func(t *testing.T, e *eventsEnv) {
		return func(t *testing.T, e *eventsEnv) {
			if err := change(e.svc, "acme"); err != nil {
				t.Fatal(err)
			}
		}
	}
	deleteCard := throughOurPages(func(s *payments.Service, org string) error { return s.DeleteCard(t.Context(), org, "pm_new") })
	setDefault := throughOurPages(func(s *payments.Service, org string) error { return s.SetDefaultCard(t.Context(), org, "pm_new") })
	// recorded is pm_new recorded as acme's default card (by our pages or
	// an earlier event), with no mark of our pages left.
	recorded := func(t *testing.T, e *eventsEnv) {
		if err := e.store.SetDefaultCard(t.Context(), "acme", visaNew); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name        string
		typ         string
		event       func() (object, previous map[string]any)
		before      func(t *testing.T, e *eventsEnv)
		acme        []string // what acme's Recent changes gain, by Stripe
		globex      []string
		stripeCalls bool // whether applying it may call Stripe
		// defaultCard is acme's default card summary after it (the zero
		// summary: nothing known).
		defaultCard store.DefaultCard
	}{
		{name: "a card detached in Stripe is recorded as removed, by Stripe", typ: "payment_method.detached",
			event: func() (map[string]any, map[string]any) { return detached("pm_new", "cus_acme") },
			acme:  []string{"card Visa •••• 4242 removed"}},
		{name: "a card deleted through our pages is not recorded again", typ: "payment_method.detached",
			event:  func() (map[string]any, map[string]any) { return detached("pm_new", "cus_acme") },
			before: deleteCard},
		{name: "a card made the default through our pages, then detached in Stripe, is recorded as removed", typ: "payment_method.detached",
			event:  func() (map[string]any, map[string]any) { return detached("pm_new", "cus_acme") },
			before: setDefault, acme: []string{"card Visa •••• 4242 removed"}, defaultCard: store.DefaultCard{Known: true}},
		{name: "the default card changed in Stripe is recorded by Stripe, naming the card", typ: "customer.updated",
			event: func() (map[string]any, map[string]any) { return defaultSet("cus_acme", "pm_new", "pm_old") },
			acme:  []string{"card Visa •••• 4242 set as default"}, stripeCalls: true, defaultCard: visaNew},
		{name: "the default card changed in Stripe, expanded in the event, is recorded without reading Stripe", typ: "customer.updated",
			event: func() (map[string]any, map[string]any) {
				return defaultSet("cus_acme", pmJSON("pm_new", "cus_acme"), nil)
			},
			acme: []string{"card Visa •••• 4242 set as default"}, defaultCard: visaNew},
		{name: "the default card set through our pages is not recorded again", typ: "customer.updated",
			event:  func() (map[string]any, map[string]any) { return defaultSet("cus_acme", "pm_new", nil) },
			before: setDefault, defaultCard: visaNew},
		{name: "another card made the default through our pages does not hide this one made the default in Stripe", typ: "customer.updated",
			event: func() (map[string]any, map[string]any) { return defaultSet("cus_acme", "pm_new", "pm_2") },
			before: func(t *testing.T, e *eventsEnv) {
				e.stripe.mu.Lock()
				e.stripe.owners["pm_2"] = "cus_acme"
				e.stripe.mu.Unlock()
				if err := e.svc.SetDefaultCard(t.Context(), "acme", "pm_2"); err != nil {
					t.Fatal(err)
				}
			},
			acme: []string{"card Visa •••• 4242 set as default"}, stripeCalls: true, defaultCard: visaNew},
		{name: "a default cleared records nothing but no default card", typ: "customer.updated",
			event:  func() (map[string]any, map[string]any) { return defaultSet("cus_acme", nil, "pm_new") },
			before: recorded, defaultCard: store.DefaultCard{Known: true}},
		{name: "a card not the default detached in Stripe leaves the default card", typ: "payment_method.detached",
			event:  func() (map[string]any, map[string]any) { return detached("pm_2", "cus_acme") },
			before: recorded, acme: []string{"card Visa •••• 4242 removed"}, defaultCard: visaNew},
		{name: "the default card detached in Stripe leaves no default card", typ: "payment_method.detached",
			event:  func() (map[string]any, map[string]any) { return detached("pm_new", "cus_acme") },
			before: recorded, acme: []string{"card Visa •••• 4242 removed"}, defaultCard: store.DefaultCard{Known: true}},
		{name: "the default card updated in Stripe (a new expiry) updates its summary", typ: "payment_method.updated",
			event: func() (map[string]any, map[string]any) {
				pm := pmJSON("pm_new", "cus_acme")
				pm["card"].(map[string]any)["exp_year"] = 2031
				return pm, map[string]any{"card": map[string]any{"exp_year": 2030}}
			},
			before:      recorded,
			defaultCard: store.DefaultCard{Known: true, ID: "pm_new", Label: "Visa •••• 4242", Last4: "4242", ExpMonth: 4, ExpYear: 2031}},
		{name: "a card not the default updated in Stripe leaves the default card", typ: "payment_method.updated",
			event: func() (map[string]any, map[string]any) {
				pm := pmJSON("pm_2", "cus_acme")
				pm["card"].(map[string]any)["exp_year"] = 2031
				return pm, map[string]any{"card": map[string]any{"exp_year": 2030}}
			},
			before: recorded, defaultCard: visaNew},
		{name: "another change of the customer records nothing", typ: "customer.updated",
			event: func() (map[string]any, map[string]any) {
				return customer("cus_acme", "pm_new"), map[string]any{"email": "old@acme.test"}
			}},
		{name: "a card of another organisation's customer is recorded for it, not for acme", typ: "payment_method.detached",
			event:  func() (map[string]any, map[string]any) { return detached("pm_g", "cus_globex") },
			globex: []string{"card Visa •••• 4242 removed"}},
		{name: "the default of another organisation's customer is recorded for it, not for acme", typ: "customer.updated",
			event: func() (map[string]any, map[string]any) {
				return defaultSet("cus_globex", pmJSON("pm_g", "cus_globex"), nil)
			},
			globex: []string{"card Visa •••• 4242 set as default"}},
		{name: "a card detached from no customer of ours records nothing", typ: "payment_method.detached",
			event: func() (map[string]any, map[string]any) { return detached("pm_x", "cus_unknown") }},
		{name: "the default of no customer of ours records nothing", typ: "customer.updated",
			event: func() (map[string]any, map[string]any) { return defaultSet("cus_unknown", "pm_x", nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name+", however often it is applied", func(t *testing.T) {
			e := newEventsEnv(t)
			if tt.before != nil {
				tt.before(t, e)
			}
			acme, globex := e.changes("acme"), e.changes("globex")
			calls := e.stripe.callCount()
			object, previous := tt.event()
			ev := eventWith(t, "evt_card_change", tt.typ, object, previous)
			e.apply(ev)
			if got := e.stripe.callCount() - calls; got != 0 && !tt.stripeCalls {
				t.Errorf("applying it called Stripe %d times", got)
			}
			if got := e.changes("acme")[len(acme):]; !slices.Equal(got, tt.acme) {
				t.Errorf("acme's Recent changes gained %q, want %q", got, tt.acme)
			}
			if got := e.changes("globex")[len(globex):]; !slices.Equal(got, tt.globex) {
				t.Errorf("globex's Recent changes gained %q, want %q", got, tt.globex)
			}
			if marks := e.marks(); tt.before != nil && len(marks) != 0 && len(tt.acme) == 0 {
				t.Errorf("the mark of our change is left: %v", marks)
			}
			e.wantDefaultCard(t, "acme", tt.defaultCard)
			once := e.state()
			e.apply(ev)
			if again := e.state(); !again.equal(once) {
				t.Errorf("applying it again changed:\n%s", once.diff(again))
			}
		})
	}

	t.Run("a change through our pages that Stripe refuses leaves no mark to hide the change made later in Stripe", func(t *testing.T) {
		e := newEventsEnv(t)
		e.stripe.mu.Lock()
		e.stripe.refusing = true
		e.stripe.mu.Unlock()
		if err := e.svc.SetDefaultCard(t.Context(), "acme", "pm_new"); err == nil {
			t.Fatal("SetDefaultCard succeeded while Stripe refused it")
		}
		if marks := e.marks(); len(marks) != 0 {
			t.Errorf("marks %v after a refused change", marks)
		}
		object, previous := defaultSet("cus_acme", "pm_new", nil)
		e.apply(eventWith(t, "evt_default_in_stripe", "customer.updated", object, previous))
		if got, want := e.changes("acme"), []string{"card Visa •••• 4242 set as default"}; !slices.Equal(got, want) {
			t.Errorf("acme's Recent changes by Stripe %q, want %q", got, want)
		}
	})
}

// visaNew is the summary of pm_new (pmJSON's card) as the default card.
var visaNew = store.DefaultCard{Known: true, ID: "pm_new", Label: "Visa •••• 4242", Last4: "4242", ExpMonth: 4, ExpYear: 2030}

// wantDefaultCard checks the summary of org's default card on its profile.
func (e *eventsEnv) wantDefaultCard(t *testing.T, org string, want store.DefaultCard) {
	t.Helper()
	got, err := e.store.DefaultCard(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("%s's default card summary = %+v, want %+v", org, got, want)
	}
}

// changes returns the org's Recent changes made by Stripe on the Payment
// Methods page, oldest first.
func (e *eventsEnv) changes(org string) []string {
	e.t.Helper()
	entries, err := e.store.RecentChanges(e.t.Context(), org, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range slices.Backward(entries) {
		if en.Actor != "Stripe" || en.Page != "Payment Methods" {
			continue
		}
		for _, c := range en.Changes {
			out = append(out, c.What)
		}
	}
	return out
}

// marks returns the items of the card change marks left in the table.
func (e *eventsEnv) marks() []string {
	e.t.Helper()
	var out []string
	for _, it := range e.state().items {
		if strings.Contains(it, `"PK":"CARDCHG#`) {
			out = append(out, it)
		}
	}
	return out
}
