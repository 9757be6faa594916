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

// TestViewerGETsChangeNothing proves that a viewer's GET of the pages that
// make things at Stripe or credit payments makes nothing and credits
// nothing: no customer, no SetupIntent, no crediting of a returned
// payment.
func TestViewerGETsChangeNothing(t *testing.T) {
	api := stripetest.Mock(t)
	rec := &formRecorder{next: api.Client().Transport}
	e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
		d.Payments = payments.NewService(d.Store, stripeprovider.New(stripetest.Client(api.URL, &http.Client{Transport: rec})), d.Now, d.Log)
	})
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
}
