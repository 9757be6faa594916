package web_test

import (
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	stdhtml "html"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/site"
)

// figure reads a dollar figure shown in the element with id.
func figure(t *testing.T, res response, id string) money.Money {
	t.Helper()
	text, ok := element(res.body, id)
	if !ok {
		t.Fatalf("the page shows no #%s:\n%s", id, res.text())
	}
	m, err := money.ParseInput(text)
	if err != nil {
		t.Fatalf("#%s %q: %v", id, text, err)
	}
	return m
}

// TestCreditsAskBeforeCharging: Add Usage Credits' form shows what will be
// charged, to which card, and Remaining Credits now and after, and charges
// nothing until "Confirm and pay"; Back returns to the form with the
// values kept.
func TestCreditsAskBeforeCharging(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "12", expYear)
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "3", laterExpYear)
	var card string
	for _, c := range admin.cards(t) {
		if c.expires == "12/"+expYear {
			card = c.id
		}
	}
	remaining := figure(t, admin.get("/billing"), "remaining-credits")
	before := e.books(t, "acme")
	token, form := admin.creditsForm(t)
	for _, want := range []string{"Visa •••• 4242 (exp 12/" + expYear[2:] + "), default", "Visa •••• 4242 (exp 03/" + laterExpYear[2:] + ")"} {
		if !strings.Contains(form.body, ">"+want+"</option>") {
			t.Errorf("the two 4242 cards are not told apart by expiry: no option %q", want)
		}
	}

	step := admin.post(t, "/billing/credits", url.Values{"amount": {"5,000"}, "method": {card}, "token": {token}})
	t.Run("the form's POST asks, with the card and Remaining Credits now and after, and charges nothing", func(t *testing.T) {
		if step.status != http.StatusOK {
			t.Fatalf("status %d, want 200:\n%s", step.status, step.text())
		}
		want := "Charge $5,000.00 to Visa •••• 4242 (exp 12/" + expYear[2:] + ")?"
		if q, _ := element(step.body, "confirm-question"); q != want {
			t.Errorf("the question is %q, want %q", q, want)
		}
		if now := figure(t, step, "remaining-now"); now != remaining {
			t.Errorf("Remaining Credits now %v, want the Overview's %v", now, remaining)
		}
		if after := figure(t, step, "remaining-after"); after != remaining+money.Dollars(5000) {
			t.Errorf("Remaining Credits after %v, want %v", after, remaining+money.Dollars(5000))
		}
		for _, hidden := range []string{`name="amount" value="5000.00"`, `name="method" value="` + card + `"`, `name="token" value="` + token + `"`, `name="confirm" value="yes"`} {
			if !strings.Contains(step.body, `<input type="hidden" `+hidden+`>`) {
				t.Errorf("the confirmation does not carry %s", hidden)
			}
		}
		if !strings.Contains(step.body, `>Confirm and pay</button>`) || !strings.Contains(step.body, `data-busy="Charging…"`) {
			t.Error("no Confirm and pay button on a busy-marked form")
		}
		e.wantBooks(t, "acme", before)
		if page := admin.get("/dev/payments"); strings.Contains(page.body, "pi_sandbox_") {
			t.Error("the provider made a payment before the confirmation")
		}
	})

	t.Run("Back returns to the form with the amount and card kept", func(t *testing.T) {
		m := regexp.MustCompile(`<a class="btn btn-secondary" href="([^"]+)">Back</a>`).FindStringSubmatch(step.body)
		if m == nil {
			t.Fatal("the confirmation has no Back link")
		}
		back := admin.get(stdhtml.UnescapeString(m[1]))
		if v := regexp.MustCompile(`name="amount"[^>]*value="([^"]*)"`).FindStringSubmatch(back.body); v == nil || v[1] != "5000.00" {
			t.Errorf("Back shows the amount %v, want 5000.00", v)
		}
		if !strings.Contains(back.body, `<option value="`+card+`" selected>`) {
			t.Error("Back does not keep the card chosen")
		}
		e.wantBooks(t, "acme", before)
	})

	t.Run("Confirm and pay charges once", func(t *testing.T) {
		_, res := admin.confirmCredits(t, url.Values{"amount": {"5,000"}, "method": {card}, "token": {token}})
		wantFlash(t, admin.redirected(t, res, "/billing/credits", false), "success", "$5,000.00 was added to your balance")
		if after := e.books(t, "acme"); after.ledger != before.ledger+money.Dollars(5000) || after.orders != before.orders+1 {
			t.Errorf("ledger %v → %v with %d → %d orders, want $5,000 more in one order", before.ledger, after.ledger, before.orders, after.orders)
		}
	})

	t.Run("crypto asks too: Pay $40.00 with crypto?", func(t *testing.T) {
		token, _ := admin.creditsForm(t)
		step := admin.post(t, "/billing/credits", url.Values{"amount": {"40"}, "method": {"crypto"}, "token": {token}})
		if q, _ := element(step.body, "confirm-question"); step.status != http.StatusOK || q != "Pay $40.00 with crypto?" {
			t.Errorf("status %d, question %q", step.status, q)
		}
		if page := admin.get("/dev/payments"); strings.Count(page.body, "cs_sandbox_") != 0 {
			t.Error("a checkout was opened before the confirmation")
		}
	})
}

// TestCreditsCardChargedOnlyOnConfirm counts the requests to stripe-mock:
// the form's POST sends Stripe no PaymentIntent; "Confirm and pay" sends
// one.
func TestCreditsCardChargedOnlyOnConfirm(t *testing.T) {
	e, rec := newStripeMockEnv(t, false)
	admin := e.signIn("acme", "you@acme.test", "admin")
	admin.get("/billing/payment-methods/new") // makes the customer
	token, form := admin.creditsForm(t)
	card := regexp.MustCompile(`<option value="(pm_[^"]+)"`).FindStringSubmatch(form.body)
	if card == nil {
		t.Fatalf("stripe-mock lists no card:\n%s", form.text())
	}
	rec.requests()
	intents := func() (n int) {
		for _, r := range rec.requests() {
			if r.method == http.MethodPost && r.path == "/v1/payment_intents" {
				n++
			}
		}
		return n
	}
	step := admin.post(t, "/billing/credits", url.Values{"amount": {"25"}, "method": {card[1]}, "token": {token}})
	if n := intents(); step.status != http.StatusOK || n != 0 {
		t.Errorf("the form's POST: status %d with %d PaymentIntents, want the confirmation and none", step.status, n)
	}
	admin.post(t, "/billing/credits", url.Values{"amount": {"25"}, "method": {card[1]}, "token": {token}, "confirm": {"yes"}})
	if n := intents(); n != 1 {
		t.Errorf("Confirm and pay created %d PaymentIntents, want 1", n)
	}
}

// TestFormsShowEveryError: a form sent with several bad fields shows every
// field's message at once, each next to its field and linked, in the
// form's order, from a summary at the top that takes focus.
func TestFormsShowEveryError(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	summaryLinks := regexp.MustCompile(`<a href="#([a-z_]+)">`)
	for _, c := range []struct {
		name, path string
		form       url.Values
		fields     []string
	}{
		{"Add Usage Credits", "/billing/credits", url.Values{"amount": {"lots"}, "method": {""}}, []string{"amount", "method"}},
		{"Add New Credit Card", "/billing/payment-methods/new", cardForm("", "1234", "13", expYear, "1"), []string{"name", "number", "exp_month", "cvc"}},
	} {
		before := e.books(t, "acme")
		res := admin.post(t, c.path, c.form)
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", c.name, res.status)
			continue
		}
		for _, f := range c.fields {
			if msg, _ := element(res.body, f+"-error"); msg == "" {
				t.Errorf("%s: no message at %s", c.name, f)
			}
		}
		summary, _ := element(res.body, "error-summary")
		if want := "There are " + strconv.Itoa(len(c.fields)) + " problems"; !strings.HasPrefix(summary, want) {
			t.Errorf("%s: the summary says %q, want %q first", c.name, summary, want)
		}
		var linked []string
		for _, m := range summaryLinks.FindAllStringSubmatch(res.body, -1) {
			linked = append(linked, m[1])
		}
		if strings.Join(linked, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s: the summary links %v, want %v", c.name, linked, c.fields)
		}
		if !regexp.MustCompile(`<div class="error-summary" id="error-summary" role="alert" tabindex="-1" autofocus`).MatchString(res.body) {
			t.Errorf("%s: the summary is not an alert that takes focus", c.name)
		}
		e.wantBooks(t, "acme", before)
	}
	if res := admin.get("/billing/credits"); strings.Contains(res.body, "error-summary") {
		t.Error("a fresh form shows an error summary")
	}
}

// TestAddCardCancelReturns: Add New Credit Card's Cancel returns to Add
// Usage Credits when the card form was opened from there, also after an
// error, and to Payment Methods otherwise.
func TestAddCardCancelReturns(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	cancel := regexp.MustCompile(`<a class="btn btn-secondary" href="([^"]+)">Cancel</a>`)
	failed := cardForm("Jenny Rosen", "1234", "12", expYear, "123")
	failed.Set("next", "/billing/credits")
	for name, c := range map[string]struct {
		res  response
		want string
	}{
		"from Add Usage Credits":              {admin.get("/billing/payment-methods/new?next=/billing/credits"), "/billing/credits"},
		"from Add Usage Credits, after error": {admin.post(t, "/billing/payment-methods/new", failed), "/billing/credits"},
		"from Payment Methods":                {admin.get("/billing/payment-methods/new"), "/billing/payment-methods"},
	} {
		if m := cancel.FindStringSubmatch(c.res.body); m == nil || m[1] != c.want {
			t.Errorf("%s: Cancel goes to %v, want %s", name, m, c.want)
		}
	}
}

// TestBusyScript: every page loads busy.js from the site (our own origin,
// which the Content-Security-Policy allows), and the money forms opt in
// with data-busy. What it does in a browser is TestBusyButton's.
func TestBusyScript(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	for _, path := range []string{"/billing", "/billing/credits", "/billing/payment-methods/new"} {
		if res := admin.get(path); !strings.Contains(res.body, `<script src="/static/busy.js" defer></script>`) {
			t.Errorf("%s does not load busy.js", path)
		}
	}
	if res := admin.get("/billing/credits"); !strings.Contains(res.body, `data-busy="Checking…"`) {
		t.Error("the credits form does not opt in to the busy button")
	}
	js, err := fs.ReadFile(site.FS, "static/busy.js")
	if err != nil || !strings.Contains(string(js), `setAttribute("aria-busy", "true")`) {
		t.Errorf("the site holds no busy.js that marks the button busy (%v)", err)
	}
}
