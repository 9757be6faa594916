package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/web"
)

// newStripeMockEnv is newEnv with the Stripe provider on stripe-mock, its
// account approved for crypto when crypto is true; rec records every
// request sent to Stripe.
func newStripeMockEnv(t *testing.T, crypto bool) (e *env, rec *formRecorder) {
	t.Helper()
	api := stripetest.Mock(t)
	rec = &formRecorder{next: api.Client().Transport}
	e = newEnvWith(t, lateInMonth, func(d *web.Deps) {
		p := stripeprovider.New(stripetest.Client(api.URL, &http.Client{Transport: rec})).WithCrypto(crypto)
		d.Payments = payments.NewService(d.Store, p, d.Now, d.Log)
	})
	return e, rec
}

// TestViewerGETsChangeNothing proves that a viewer's GET of the pages that
// make things at Stripe or credit payments makes nothing and credits
// nothing: no customer, no SetupIntent, no crediting of a returned
// payment.
func TestViewerGETsChangeNothing(t *testing.T) {
	e, rec := newStripeMockEnv(t, false)
	admin := e.signIn("acme", "you@acme.test", "admin")
	viewer := e.signIn("acme", "viewer@acme.test", "viewer")
	before := e.books(t, "acme")
	rec.requests()

	t.Run("a viewer's GET of Add New Credit Card creates no customer and no SetupIntent", func(t *testing.T) {
		res := viewer.get("/billing/payment-methods/new")
		if res.status != http.StatusOK || !strings.Contains(res.text(), "Only admins can add payment methods.") {
			t.Errorf("status %d, page %q", res.status, res.text())
		}
		if reqs := rec.requests(); len(reqs) != 0 {
			t.Errorf("the viewer's GET sent %d requests to Stripe: %+v", len(reqs), reqs)
		}
		if p, err := e.store.Profile(t.Context(), "acme"); err != nil || p.CustomerID != "" {
			t.Errorf("customer %q (%v) after a viewer's GET, want none", p.CustomerID, err)
		}
	})

	t.Run("a viewer's return from 3-D Secure credits nothing and asks Stripe nothing", func(t *testing.T) {
		res := viewer.get("/billing/credits/complete?payment_intent=pi_123")
		page := viewer.redirected(t, res, "/billing/credits", false)
		wantFlash(t, page, "info", "Only an admin can complete a payment here.")
		if reqs := rec.requests(); len(reqs) != 0 {
			t.Errorf("the viewer's GET sent %d requests to Stripe: %+v", len(reqs), reqs)
		}
		e.wantBooks(t, "acme", before)
	})

	t.Run("an admin's return with a payment of no customer of the organisation credits nothing", func(t *testing.T) {
		// stripe-mock's PaymentIntent belongs to no customer of acme.
		res := admin.get("/billing/credits/complete?payment_intent=pi_123")
		if res.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.status)
		}
		e.wantBooks(t, "acme", before)
		if reqs := rec.requests(); len(reqs) != 1 || reqs[0].path != "/v1/payment_intents/pi_123" {
			t.Errorf("requests %+v, want one read of the payment", reqs)
		}
	})

	t.Run("an admin's GET of Add New Credit Card makes the customer and a SetupIntent", func(t *testing.T) {
		res := admin.get("/billing/payment-methods/new")
		if res.status != http.StatusOK || !strings.Contains(res.body, `data-client-secret="`) {
			t.Errorf("status %d; the page has no SetupIntent secret", res.status)
		}
		var paths []string
		for _, r := range rec.requests() {
			paths = append(paths, r.method+" "+r.path)
		}
		if strings.Join(paths, ",") != "POST /v1/customers,POST /v1/setup_intents" {
			t.Errorf("requests %v, want the customer then the SetupIntent", paths)
		}
	})
}

// TestCreditsCompleteOnlyTopUps proves that the 3-D Secure return credits
// only a top-up of the organisation: the payment of an invoice, though
// succeeded and the organisation's, is not found and credits nothing.
func TestCreditsCompleteOnlyTopUps(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "12", laterExpYear)
	p, err := e.store.Profile(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(e.store, func() time.Time { return e.now }, "/billing/credits/checkout/")
	cards, err := sb.Cards(t.Context(), p.CustomerID)
	if err != nil || len(cards) != 1 {
		t.Fatalf("cards %+v, %v", cards, err)
	}
	pay, err := sb.Charge(t.Context(), payments.ChargeRequest{OrgID: "acme", CustomerID: p.CustomerID, CardID: cards[0].ID,
		Amount: money.Dollars(40), Purpose: sandbox.InvoicePurpose("inv_1")})
	if err != nil || pay.Status != payments.StatusSucceeded {
		t.Fatalf("invoice payment %+v, %v", pay, err)
	}
	before := e.books(t, "acme")
	res := admin.get("/billing/credits/complete?" + url.Values{"payment_intent": {pay.ID}}.Encode())
	if res.status != http.StatusNotFound {
		t.Errorf("status %d, want 404", res.status)
	}
	e.wantBooks(t, "acme", before)

	top, err := sb.Charge(t.Context(), payments.ChargeRequest{OrgID: "acme", CustomerID: p.CustomerID, CardID: cards[0].ID,
		Amount: money.Dollars(25), Purpose: payments.PurposeAddCredits})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		res := admin.get("/billing/credits/complete?" + url.Values{"payment_intent": {top.ID}}.Encode())
		wantFlash(t, admin.redirected(t, res, "/billing/credits", false), "success", "$25.00 was added to your balance")
	}
	if b := e.books(t, "acme"); b.ledger != before.ledger+money.Dollars(25) || b.orders != before.orders+1 {
		t.Errorf("ledger %v, %d orders; want $25 more in one more order", b.ledger, b.orders)
	}
}

// TestRechargeNeedsConfirmation walks an auto-recharge on the sandbox's
// 3184 card: the bank wants the customer, so nothing is credited and the
// Auto Recharge page asks to confirm; confirming and passing the
// (simulated) bank check credits the amount once.
func TestRechargeNeedsConfirmation(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4000 0027 6000 3184", "12", laterExpYear)
	before := e.books(t, "acme")
	res := admin.post(t, "/billing/auto-recharge", url.Values{"enabled": {"on"}, "threshold": {"20"}, "amount": {"25"}})
	page := admin.redirected(t, res, "/billing/auto-recharge", false)
	wantFlash(t, page, "success", "your bank asks you to confirm the payment")
	e.wantBooks(t, "acme", before)
	m := regexp.MustCompile(`<input type="hidden" name="payment" value="(pi_sandbox_[0-9a-f]+)">`).FindStringSubmatch(page.body)
	if m == nil || !strings.Contains(page.text(), "Your bank asks you to confirm the last auto-recharge payment") {
		t.Fatalf("the Auto Recharge page offers no confirmation:\n%s", page.text())
	}
	payment := m[1]

	viewer := e.signIn("acme", "viewer@acme.test", "viewer")
	if res := viewer.post(t, "/billing/credits", url.Values{"action": {"confirm"}, "payment": {payment}}); res.status != http.StatusForbidden {
		t.Errorf("a viewer's confirmation: status %d, want 403", res.status)
	}

	res = admin.post(t, "/billing/credits", url.Values{"action": {"confirm"}, "payment": {payment}})
	if res.status != http.StatusOK || !strings.Contains(res.text(), "Complete authentication") {
		t.Fatalf("confirm: status %d, page %q", res.status, res.text())
	}
	e.wantBooks(t, "acme", before)
	for range 2 {
		res = admin.post(t, "/billing/credits", url.Values{"action": {"authenticate"}, "payment": {payment}})
		wantFlash(t, admin.redirected(t, res, "/billing/credits", false), "success", "$25.00 was added to your balance")
	}
	if b := e.books(t, "acme"); b.ledger != before.ledger+money.Dollars(25) || b.orders != before.orders+1 {
		t.Errorf("ledger %v with %d orders, want $25 more in one order", b.ledger, b.orders)
	}
	if page := admin.get("/billing/auto-recharge"); strings.Contains(page.text(), "Your bank asks you to confirm") {
		t.Error("the confirmed payment is still offered for confirmation")
	}
}

// TestCryptoOnlyWhenApproved proves the Cryptocurrency option is offered
// only when the Stripe account is approved for crypto (configuration),
// and that then the checkout is made at the basil API version.
func TestCryptoOnlyWhenApproved(t *testing.T) {
	for _, approved := range []bool{false, true} {
		e, rec := newStripeMockEnv(t, approved)
		admin := e.signIn("acme", "you@acme.test", "admin")
		token, page := admin.creditsForm(t)
		if got := strings.Contains(page.body, `<option value="crypto">`); got != approved {
			t.Errorf("approved %v: the crypto option is offered: %v", approved, got)
		}
		rec.requests()
		form := url.Values{"amount": {"40"}, "method": {"crypto"}, "token": {token}}
		if !approved {
			res := admin.post(t, "/billing/credits", form)
			if reqs := rec.requests(); res.status != http.StatusUnprocessableEntity || len(reqs) != 0 {
				t.Errorf("not approved: status %d with %d Stripe requests, want 422 and none", res.status, len(reqs))
			}
			continue
		}
		step := admin.post(t, "/billing/credits", form)
		if reqs := rec.requests(); step.status != http.StatusOK || !strings.Contains(step.text(), "Pay $40.00 with crypto?") || len(reqs) != 0 {
			t.Errorf("approved: the form answered %d with %d Stripe requests, want the confirmation and none", step.status, len(reqs))
		}
		form.Set("confirm", "yes")
		res := admin.post(t, "/billing/credits", form)
		reqs := rec.requests()
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "https://checkout.stripe.com/") {
			t.Errorf("approved: status %d to %q, want 303 to Stripe's checkout", res.status, res.header.Get("Location"))
		}
		last := reqs[len(reqs)-1]
		if last.path != "/v1/checkout/sessions" || last.status != http.StatusOK || last.form.Get("payment_method_types[0]") != "crypto" {
			t.Errorf("approved: last request %+v, want a crypto Checkout Session stripe-mock accepts", last)
		}
	}
}

// TestDevRefundsAndDisputes is the operator's sandbox refund and dispute
// on /dev/payments: refunding a $50 top-up lowers the balance by $50 once,
// a dispute debits and a won dispute restores, and only an admin of the
// payment's own organisation may do it.
func TestDevRefundsAndDisputes(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "12", laterExpYear)
	topUp := func(amount string) string {
		t.Helper()
		token, page := admin.creditsForm(t)
		m := regexp.MustCompile(`<option value="(pm_sandbox_[0-9a-f]+)"`).FindStringSubmatch(page.body)
		if m == nil {
			t.Fatal("no card to pay with")
		}
		res := admin.payCredits(t, url.Values{"amount": {amount}, "method": {m[1]}, "token": {token}})
		flashed := admin.redirected(t, res, "/billing/credits", false)
		id := regexp.MustCompile(`payment (pi_sandbox_[0-9a-f]+)`).FindStringSubmatch(flashed.body)
		if id == nil {
			t.Fatalf("no payment in %q", flashed.text())
		}
		return id[1]
	}
	pay := topUp("50")
	start := e.books(t, "acme")

	if page := admin.get("/dev/payments"); page.status != http.StatusOK || !strings.Contains(page.body, pay) {
		t.Fatalf("/dev/payments: status %d, lists %s: %v", page.status, pay, strings.Contains(page.body, pay))
	}
	viewer := e.signIn("acme", "viewer@acme.test", "viewer")
	if res := viewer.post(t, "/dev/payments/"+pay+"/refund", url.Values{"amount": {"50"}}); res.status != http.StatusForbidden {
		t.Errorf("a viewer's refund: status %d, want 403", res.status)
	}
	other := e.signIn("globex", "you@globex.test", "admin")
	if res := other.post(t, "/dev/payments/"+pay+"/refund", url.Values{"amount": {"50"}}); res.status != http.StatusNotFound {
		t.Errorf("another organisation's refund: status %d, want 404", res.status)
	}
	e.wantBooks(t, "acme", start)

	for _, amount := range []string{"20", "30"} {
		res := admin.post(t, "/dev/payments/"+pay+"/refund", url.Values{"amount": {amount}})
		wantFlash(t, admin.redirected(t, res, "/billing/invoices", false), "success", "was refunded")
	}
	res := admin.post(t, "/dev/payments/"+pay+"/refund", url.Values{"amount": {"1"}})
	wantFlash(t, admin.redirected(t, res, "/billing/invoices", false), "error", "is refunded in full: nothing is left to refund.")
	if b := e.books(t, "acme"); b.ledger != start.ledger-money.Dollars(50) || b.count(payments.RefundDescription(pay)) != 2 {
		t.Errorf("after refunding $50: ledger %v (want %v), history %q", b.ledger, start.ledger-money.Dollars(50), b.history)
	}
	if page := admin.get("/billing/invoices"); !strings.Contains(page.text(), "Refunded $50.00") {
		t.Errorf("the order does not show the refund:\n%s", page.text())
	}

	disputed := topUp("40")
	before := e.books(t, "acme")
	for range 2 {
		res := admin.post(t, "/dev/payments/"+disputed+"/dispute", nil)
		wantFlash(t, admin.redirected(t, res, "/billing/invoices", false), "success", "needs_response")
	}
	if b := e.books(t, "acme"); b.ledger != before.ledger-money.Dollars(40) {
		t.Errorf("after the dispute: ledger %v, want %v", b.ledger, before.ledger-money.Dollars(40))
	}
	for range 2 {
		res := admin.post(t, "/dev/payments/"+disputed+"/dispute", url.Values{"outcome": {"won"}})
		wantFlash(t, admin.redirected(t, res, "/billing/invoices", false), "success", "won")
	}
	if b := e.books(t, "acme"); b.ledger != before.ledger {
		t.Errorf("after winning: ledger %v, want %v", b.ledger, before.ledger)
	}
}

// TestDevPaymentsListsOnlySandboxPayments: the demo's seeded top-ups have no
// sandbox payment behind them, so /dev/payments offers no refund or dispute
// of them (those would answer "No such payment").
func TestDevPaymentsListsOnlySandboxPayments(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	page := admin.get("/dev/payments")
	if page.status != http.StatusOK || strings.Contains(page.body, "pi_3QDemo") {
		t.Errorf("status %d; the seeded top-ups are offered for refund:\n%s", page.status, page.text())
	}
	admin.addCard(t, "Jenny Rosen", "4242424242424242", "12", expYear)
	token, _ := admin.creditsForm(t)
	var card string
	for _, c := range admin.cards(t) {
		card = c.id
	}
	admin.payCredits(t, url.Values{"token": {token}, "amount": {"20"}, "method": {card}})
	if page := admin.get("/dev/payments"); !strings.Contains(page.body, `action="/dev/payments/pi_sandbox_`) {
		t.Errorf("the sandbox top-up is not offered:\n%s", page.text())
	}
}

// TestResubmittedTokenTellsTheTruth: a form's token charges once; sent
// again with another amount, the answer says what was charged, not the new
// amount.
func TestResubmittedTokenTellsTheTruth(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("globex", "you@globex.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242424242424242", "12", expYear)
	card := admin.cards(t)[0].id
	token, _ := admin.creditsForm(t)
	before := e.books(t, "globex")

	first := admin.redirected(t, admin.payCredits(t, url.Values{"token": {token}, "amount": {"10"}, "method": {card}}), "/billing/credits", false)
	wantFlash(t, first, "success", "$10.00 was added to your balance")
	again := admin.redirected(t, admin.payCredits(t, url.Values{"token": {token}, "amount": {"5000"}, "method": {card}}), "/billing/credits", false)
	if kind, msg := flash(again.body); kind != "info" || !strings.Contains(msg, "already submitted: its payment of $10.00") || strings.Contains(msg, "$5,000.00 was added") {
		t.Errorf("flash %s %q, want it to say the first $10.00 stands and nothing more was charged", kind, msg)
	}
	if after := e.books(t, "globex"); after.ledger != before.ledger+money.Dollars(10) || after.orders != before.orders+1 {
		t.Errorf("ledger %v with %d orders, want %v with %d: one $10 charge", after.ledger, after.orders, before.ledger+money.Dollars(10), before.orders+1)
	}
}
