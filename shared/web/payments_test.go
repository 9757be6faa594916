package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	stdhtml "html"

	"github.com/acme/billing/shared/money"
)

// post submits a form from one of our own pages, as a browser does.
func (b *browser) post(t *testing.T, path string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: read body: %v", path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

// redirected checks that res is a 303 to path (prefix, when prefix is
// true) and returns the page it leads to.
func (b *browser) redirected(t *testing.T, res response, path string, prefix bool) response {
	t.Helper()
	loc := res.header.Get("Location")
	if res.status != http.StatusSeeOther || (loc != path && !(prefix && strings.HasPrefix(loc, path))) {
		t.Fatalf("status %d to %q, want 303 to %s; body:\n%s", res.status, loc, path, plainText(res.body))
	}
	return b.get(loc)
}

var flashPattern = regexp.MustCompile(`<div class="flash flash-(\w+)" role="\w+">([^<]*)</div>`)

// flash returns the kind and text of the page's flash message.
func flash(body string) (kind, text string) {
	m := flashPattern.FindStringSubmatch(body)
	if m == nil {
		return "", ""
	}
	return m[1], stdhtml.UnescapeString(m[2])
}

func wantFlash(t *testing.T, res response, kind, text string) {
	t.Helper()
	if k, got := flash(res.body); k != kind || !strings.Contains(got, text) {
		t.Errorf("flash = %s %q, want %s containing %q", k, got, kind, text)
	}
}

// cardRow is one row of the Payment Methods list as a browser shows it.
type cardRow struct {
	label, name, expires, status string
	id                           string // from the delete link, when shown
	deleteLabel                  string // the delete link's accessible name
	setDefault                   string // the "Set as Default" button's accessible name, when shown
}

var (
	cardRowPattern   = regexp.MustCompile(`<tr><td data-label="[^"]*">([^<]*)</td><td data-label="[^"]*">([^<]*)</td><td data-label="[^"]*">([^<]*)</td><td data-label="[^"]*">(.*?)</td><td data-label="[^"]*" class="num">(.*?)</td></tr>`)
	deleteLinkRegexp = regexp.MustCompile(`<a class="btn btn-icon" href="/billing/payment-methods/delete\?card=([^"]+)" aria-label="([^"]*)"`)
	setDefaultRegexp = regexp.MustCompile(`<input type="hidden" name="card" value="([^"]+)"><button [^>]*aria-label="([^"]*)"[^>]*>Set as Default</button>`)
)

func cardRows(body string) []cardRow {
	var rows []cardRow
	for _, m := range cardRowPattern.FindAllStringSubmatch(body, -1) {
		r := cardRow{label: stdhtml.UnescapeString(m[1]), name: stdhtml.UnescapeString(m[2]), expires: m[3], status: plainText(m[4])}
		if d := deleteLinkRegexp.FindStringSubmatch(m[5]); d != nil {
			r.id, r.deleteLabel = stdhtml.UnescapeString(d[1]), stdhtml.UnescapeString(d[2])
		}
		if s := setDefaultRegexp.FindStringSubmatch(m[4]); s != nil {
			r.setDefault = stdhtml.UnescapeString(s[2])
			if r.id != "" && s[1] != r.id {
				r.setDefault = "mismatched card " + s[1]
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// cards loads the Payment Methods page and returns its rows.
func (b *browser) cards(t *testing.T) []cardRow {
	t.Helper()
	res := b.get("/billing/payment-methods")
	if res.status != http.StatusOK {
		t.Fatalf("GET /billing/payment-methods: status %d", res.status)
	}
	return cardRows(res.body)
}

func cardForm(name, number, month, year, cvc string) url.Values {
	return url.Values{"name": {name}, "number": {number}, "exp_month": {month}, "exp_year": {year}, "cvc": {cvc}}
}

// addCard adds a card through the sandbox's form and checks it is saved.
func (b *browser) addCard(t *testing.T, name, number, month, year string) response {
	t.Helper()
	res := b.post(t, "/billing/payment-methods/new", cardForm(name, number, month, year, "123"))
	page := b.redirected(t, res, "/billing/payment-methods", false)
	wantFlash(t, page, "success", "Your card is saved.")
	return page
}

var tokenPattern = regexp.MustCompile(`<input type="hidden" name="token" value="([0-9a-f]{32})">`)

// creditsForm loads Add Usage Credits and returns the form's one-time
// token.
func (b *browser) creditsForm(t *testing.T) (string, response) {
	t.Helper()
	res := b.get("/billing/credits")
	if res.status != http.StatusOK {
		t.Fatalf("GET /billing/credits: status %d", res.status)
	}
	m := tokenPattern.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("the credits form has no token:\n%s", res.body)
	}
	return m[1], res
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// confirmCredits submits Add Usage Credits' form as a person does: its
// POST must answer with the confirmation step (200, charging nothing),
// whose "Confirm and pay" then posts the step's own hidden fields. It
// returns the confirmation step and the answer to "Confirm and pay".
func (b *browser) confirmCredits(t *testing.T, form url.Values) (step, res response) {
	t.Helper()
	step = b.post(t, "/billing/credits", form)
	if step.status != http.StatusOK || !strings.Contains(step.body, `<input type="hidden" name="confirm" value="yes">`) {
		t.Fatalf("the credits form answered %d without the confirmation step:\n%s", step.status, step.text())
	}
	confirm := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(step.body, -1) {
		confirm.Set(m[1], stdhtml.UnescapeString(m[2]))
	}
	return step, b.post(t, "/billing/credits", confirm)
}

// payCredits is confirmCredits' answer to "Confirm and pay".
func (b *browser) payCredits(t *testing.T, form url.Values) response {
	t.Helper()
	_, res := b.confirmCredits(t, form)
	return res
}

// totalCredits reads Total Credits on the Overview.
func (b *browser) totalCredits(t *testing.T) money.Money {
	t.Helper()
	text, ok := element(b.get("/billing").body, "total-credits")
	if !ok {
		t.Fatal("the Overview shows no Total Credits")
	}
	m, err := money.ParseInput(text)
	if err != nil {
		t.Fatalf("Total Credits %q: %v", text, err)
	}
	return m
}

// books is what an organisation's money looks like from the store.
type books struct {
	balance
	orders int
}

func (e *env) books(t *testing.T, org string) books {
	t.Helper()
	orders, err := e.store.Orders(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	return books{balance: e.balance(t, org), orders: len(orders)}
}

func (e *env) wantBooks(t *testing.T, org string, want books) {
	t.Helper()
	e.wantBalance(t, org, want.balance)
	if got := e.books(t, org); got.orders != want.orders {
		t.Errorf("%s: %d orders, want %d", org, got.orders, want.orders)
	}
}

// byLabel returns the row of the card labelled label ("Visa •••• 4242").
// Rows are looked up by label: cards added at one instant (the tests'
// clock stands still) have no defined order.
func byLabel(t *testing.T, rows []cardRow, label string) cardRow {
	t.Helper()
	for _, r := range rows {
		if r.label == label {
			return r
		}
	}
	t.Fatalf("no card %q in %+v", label, rows)
	return cardRow{}
}

// sameCards reports whether a and b list the same cards, in any order.
func sameCards(a, b []cardRow) bool {
	key := func(r cardRow) string {
		return r.label + "|" + r.id + "|" + r.name + "|" + r.expires + "|" + r.status + "|" + r.setDefault
	}
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func TestPaymentMethodsPages(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")

	t.Run("an admin adds a card and sees it listed as the default", func(t *testing.T) {
		if res := admin.get("/billing/payment-methods/new"); res.status != http.StatusOK || !strings.Contains(res.text(), "4242 4242 4242 4242 succeeds") {
			t.Fatalf("GET the card form: status %d", res.status)
		}
		page := admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
		rows := cardRows(page.body)
		want := cardRow{label: "Visa •••• 4242", name: "Jenny Rosen", expires: "04/" + expYear, status: "Default Card", deleteLabel: "Delete Visa •••• 4242 (exp 04/" + expYear[2:] + ")"}
		if len(rows) != 1 {
			t.Fatalf("rows = %+v, want one", rows)
		}
		got := rows[0]
		if !strings.HasPrefix(got.id, "pm_sandbox_") {
			t.Errorf("delete link's card = %q", got.id)
		}
		got.id = ""
		if got != want {
			t.Errorf("row = %+v, want %+v", got, want)
		}
	})

	t.Run("bad input is shown next to its field with the typed name kept, and nothing is saved", func(t *testing.T) {
		before := admin.cards(t)
		for _, c := range []struct {
			name, field, message string
			form                 url.Values
		}{
			{"a number that is not a test card", "number", "only Stripe's test cards", cardForm("Jenny Rosen", "4111 1111 1111 1111", "4", expYear, "123")},
			{"no number", "number", "Enter the card number.", cardForm("Jenny Rosen", "", "4", expYear, "123")},
			{"4000 0000 0000 0002, declined when saved as in Stripe's test mode", "number", "Your card was declined.", cardForm("Jenny Rosen", "4000 0000 0000 0002", "4", expYear, "123")},
			{"month 13", "exp_month", "Enter the expiry month", cardForm("Jenny Rosen", "4242424242424242", "13", expYear, "123")},
			{"a past year", "exp_year", "This card has expired", cardForm("Jenny Rosen", "4242424242424242", "4", "2020", "123")},
			{"a two-digit security code", "cvc", "Enter the 3 or 4 digit security code.", cardForm("Jenny Rosen", "4242424242424242", "4", expYear, "12")},
			{"no name", "name", "Enter the name on the card", cardForm("", "4242424242424242", "4", expYear, "123")},
		} {
			res := admin.post(t, "/billing/payment-methods/new", c.form)
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", c.name, res.status)
				continue
			}
			if msg, ok := element(res.body, c.field+"-error"); !ok || !strings.Contains(msg, c.message) {
				t.Errorf("%s: #%s-error = %q, want %q", c.name, c.field, msg, c.message)
			}
			if !regexp.MustCompile(`<input id="` + c.field + `" name="` + c.field + `" aria-invalid="true" aria-describedby="` + c.field + `-error"`).MatchString(res.body) {
				t.Errorf("%s: the %s field is not marked invalid and tied to its message", c.name, c.field)
			}
			if n := c.form.Get("name"); n != "" && !strings.Contains(res.body, `value="`+n+`"`) {
				t.Errorf("%s: the typed name is not kept", c.name)
			}
			if strings.Contains(res.body, `value="`+c.form.Get("cvc")+`"`) {
				t.Errorf("%s: the security code is echoed back", c.name)
			}
		}
		if after := admin.cards(t); !sameCards(after, before) {
			t.Errorf("cards changed: %+v → %+v", before, after)
		}
	})

	t.Run("another card is listed with a Set as Default button and becomes the default", func(t *testing.T) {
		page := admin.addCard(t, "J. Rosen", "5555 5555 5555 4444", "12", laterExpYear)
		rows := cardRows(page.body)
		if len(rows) != 2 {
			t.Fatalf("rows = %+v, want two", rows)
		}
		mc := byLabel(t, rows, "Mastercard •••• 4444")
		if mc.label != "Mastercard •••• 4444" || mc.name != "J. Rosen" || mc.expires != "12/"+laterExpYear || mc.status != "Set as Default" ||
			mc.setDefault != "Set as Default: Mastercard •••• 4444 (exp 12/"+laterExpYear[2:]+")" || mc.deleteLabel != "Delete Mastercard •••• 4444 (exp 12/"+laterExpYear[2:]+")" {
			t.Errorf("second row = %+v", mc)
		}
		res := admin.post(t, "/billing/payment-methods/default", url.Values{"card": {mc.id}})
		page = admin.redirected(t, res, "/billing/payment-methods", false)
		wantFlash(t, page, "success", "Your default card is changed.")
		rows = cardRows(page.body)
		if v, m := byLabel(t, rows, "Visa •••• 4242"), byLabel(t, rows, "Mastercard •••• 4444"); v.status != "Set as Default" || m.status != "Default Card" {
			t.Errorf("statuses = %q, %q; want the Mastercard the default", v.status, m.status)
		}
	})

	t.Run("deleting the default card while another exists asks for another default first and deletes nothing", func(t *testing.T) {
		before := admin.cards(t)
		def := byLabel(t, before, "Mastercard •••• 4444")
		res := admin.get("/billing/payment-methods/delete?card=" + url.QueryEscape(def.id))
		if res.status != http.StatusOK {
			t.Fatalf("confirmation: status %d", res.status)
		}
		if !strings.Contains(res.text(), "This is your default card. Set another card as default first, then delete this one.") {
			t.Errorf("the confirmation does not say what to do:\n%s", res.text())
		}
		if strings.Contains(res.body, `action="/billing/payment-methods/delete"`) {
			t.Error("the confirmation offers to delete the default card")
		}
		page := admin.redirected(t, admin.post(t, "/billing/payment-methods/delete", url.Values{"card": {def.id}}), "/billing/payment-methods", false)
		wantFlash(t, page, "error", "Set another card as default first")
		if after := cardRows(page.body); !sameCards(after, before) {
			t.Errorf("cards changed: %+v → %+v", before, after)
		}
	})

	t.Run("a card that is not the default is deleted after confirmation", func(t *testing.T) {
		visa := byLabel(t, admin.cards(t), "Visa •••• 4242")
		res := admin.get("/billing/payment-methods/delete?card=" + url.QueryEscape(visa.id))
		if res.status != http.StatusOK || !strings.Contains(res.text(), "Delete Visa •••• 4242 (exp 04/"+expYear[2:]+")?") || !strings.Contains(res.text(), "Name on card: Jenny Rosen. Expires 04/"+expYear+".") {
			t.Fatalf("confirmation: status %d:\n%s", res.status, res.text())
		}
		if !strings.Contains(res.body, `<input type="hidden" name="card" value="`+visa.id+`">`) {
			t.Error("the confirmation has no form deleting this card")
		}
		page := admin.redirected(t, admin.post(t, "/billing/payment-methods/delete", url.Values{"card": {visa.id}}), "/billing/payment-methods", false)
		wantFlash(t, page, "success", "The card is deleted.")
		rows := cardRows(page.body)
		if len(rows) != 1 || rows[0].label != "Mastercard •••• 4444" || rows[0].status != "Default Card" {
			t.Errorf("rows = %+v, want the Mastercard alone, default", rows)
		}
	})

	t.Run("the only card's confirmation says what deleting it means, and it can be deleted", func(t *testing.T) {
		only := admin.cards(t)[0]
		res := admin.get("/billing/payment-methods/delete?card=" + url.QueryEscape(only.id))
		if !strings.Contains(res.text(), "This is your only card.") {
			t.Errorf("the confirmation does not warn:\n%s", res.text())
		}
		page := admin.redirected(t, admin.post(t, "/billing/payment-methods/delete", url.Values{"card": {only.id}}), "/billing/payment-methods", false)
		wantFlash(t, page, "success", "The card is deleted.")
		if rows := cardRows(page.body); len(rows) != 0 || !strings.Contains(page.text(), "No payment methods yet") {
			t.Errorf("rows = %+v, want none", rows)
		}
	})
}

func TestAddCreditsPages(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
	admin.addCard(t, "Jenny Rosen", "4000 0000 0000 0341", "4", expYear)
	admin.addCard(t, "Jenny Rosen", "4000 0000 0000 9995", "4", expYear)
	rows := admin.cards(t)
	visa := byLabel(t, rows, "Visa •••• 4242").id
	declined := byLabel(t, rows, "Visa •••• 0341").id
	poor := byLabel(t, rows, "Visa •••• 9995").id

	t.Run("the form offers the saved cards, the default selected, and Cryptocurrency", func(t *testing.T) {
		_, res := admin.creditsForm(t)
		for _, want := range []string{
			`<option value="` + visa + `" selected>Visa •••• 4242 (exp 04/` + expYear[2:] + `), default</option>`,
			`<option value="` + declined + `">Visa •••• 0341 (exp 04/` + expYear[2:] + `)</option>`,
			`<option value="crypto">Cryptocurrency</option>`,
			`href="/billing/payment-methods/new?next=/billing/credits"`,
			`Add to my balance`,
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("the form lacks %s", want)
			}
		}
	})

	t.Run("$25 with a saved card is credited once and shows in Balance History and on the Overview", func(t *testing.T) {
		before, total := e.books(t, "acme"), admin.totalCredits(t)
		token, _ := admin.creditsForm(t)
		form := url.Values{"amount": {"25"}, "method": {visa}, "token": {token}}
		page := admin.redirected(t, admin.payCredits(t, form), "/billing/credits", false)
		wantFlash(t, page, "success", "$25.00 was added to your balance (payment pi_sandbox_")
		after := e.books(t, "acme")
		if after.ledger != before.ledger+money.Dollars(25) || after.orders != before.orders+1 {
			t.Fatalf("ledger %v → %v, orders %d → %d", before.ledger, after.ledger, before.orders, after.orders)
		}
		rows := historyRows(admin.get("/billing/balance-history").body)
		if len(rows) == 0 || !regexp.MustCompile(`^Stripe Payment Intent pi_sandbox_[0-9a-f]+ via Add Credits$`).MatchString(rows[0].description) ||
			rows[0].amount != "credit $25.00" {
			t.Errorf("Balance History's first row = %+v", rows)
		}
		if got := admin.totalCredits(t); got != total+money.Dollars(25) {
			t.Errorf("Total Credits %v → %v, want %v more", total, got, money.Dollars(25))
		}

		// The same confirmation submitted again charges and credits nothing more.
		form.Set("confirm", "yes")
		res := admin.post(t, "/billing/credits", form)
		if res.status != http.StatusSeeOther {
			t.Errorf("resubmit: status %d", res.status)
		}
		e.wantBooks(t, "acme", after)
	})

	t.Run("a bad amount is shown at the amount field, saying what is wrong with it, and nothing is credited", func(t *testing.T) {
		before := e.books(t, "acme")
		for amount, want := range map[string]string{
			"4.99":    "$4.99 is below the $5.00 minimum.",
			"abc":     "Enter an amount like 25 or 25.50.",
			"5000.01": "$5,000.01 is above the $5,000.00 maximum.",
			"":        "Enter the amount to add, from $5 to $5,000.",
			"25.001":  "25.001 has fractions of a cent: enter dollars and cents, like 25.50.",
			"-25":     "-$25.00 is below the $5.00 minimum.",
		} {
			token, _ := admin.creditsForm(t)
			res := admin.post(t, "/billing/credits", url.Values{"amount": {amount}, "method": {visa}, "token": {token}})
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("amount %q: status %d, want 422", amount, res.status)
				continue
			}
			if msg, _ := element(res.body, "amount-error"); msg != want {
				t.Errorf("amount %q: #amount-error = %q, want %q", amount, msg, want)
			}
			if summary, _ := element(res.body, "error-summary"); summary != "There is a problem "+want {
				t.Errorf("amount %q: the error summary says %q", amount, summary)
			}
			if !strings.Contains(res.body, `<a href="#amount">`+stdhtml.EscapeString(want)+`</a>`) {
				t.Errorf("amount %q: the summary does not link its message to the field", amount)
			}
			if !strings.Contains(res.body, `aria-invalid="true" aria-describedby="amount-hint amount-error" value="`+stdhtml.EscapeString(amount)+`"`) {
				t.Errorf("amount %q: the field is not marked invalid with the typed amount kept", amount)
			}
		}
		e.wantBooks(t, "acme", before)
	})

	t.Run("a declined card is shown at the method field and nothing is credited", func(t *testing.T) {
		before := e.books(t, "acme")
		for card, want := range map[string]string{declined: "Your card was declined.", poor: "Your card has insufficient funds."} {
			token, _ := admin.creditsForm(t)
			res := admin.payCredits(t, url.Values{"amount": {"25"}, "method": {card}, "token": {token}})
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422", res.status)
				continue
			}
			if msg, _ := element(res.body, "method-error"); !strings.Contains(msg, want) || !strings.Contains(msg, "Nothing was charged") {
				t.Errorf("#method-error = %q, want %q", msg, want)
			}
			if !strings.Contains(res.body, `<option value="`+card+`" selected>`) {
				t.Error("the chosen card is not kept selected")
			}
		}
		token, _ := admin.creditsForm(t)
		res := admin.post(t, "/billing/credits", url.Values{"amount": {"25"}, "token": {token}})
		if msg, _ := element(res.body, "method-error"); res.status != http.StatusUnprocessableEntity || !strings.Contains(msg, "Select a payment method.") {
			t.Errorf("no method: status %d, #method-error = %q", res.status, msg)
		}
		e.wantBooks(t, "acme", before)
	})

	t.Run("crypto goes to the sandbox checkout, paying there credits once", func(t *testing.T) {
		before := e.books(t, "acme")
		token, _ := admin.creditsForm(t)
		res := admin.payCredits(t, url.Values{"amount": {"40"}, "method": {"crypto"}, "token": {token}})
		checkout := admin.redirected(t, res, "/billing/credits/checkout/cs_sandbox_", true)
		path := res.header.Get("Location")
		id := strings.TrimPrefix(path, "/billing/credits/checkout/")
		if checkout.status != http.StatusOK || !strings.Contains(checkout.text(), "$40.00 USD") || !strings.Contains(checkout.text(), id) {
			t.Fatalf("checkout page: status %d:\n%s", checkout.status, checkout.text())
		}
		e.wantBooks(t, "acme", before) // an open checkout credits nothing

		page := admin.redirected(t, admin.post(t, path, url.Values{"action": {"pay"}}), "/billing/credits", false)
		wantFlash(t, page, "success", "$40.00 was added to your balance (crypto checkout "+id+").")
		desc := "Stripe Checkout Session " + id + " via Add Credits"
		after := e.books(t, "acme")
		if after.ledger != before.ledger+money.Dollars(40) || after.count(desc) != 1 || after.orders != before.orders+1 {
			t.Fatalf("ledger %v → %v, history %q", before.ledger, after.ledger, after.history)
		}
		if rows := historyRows(admin.get("/billing/balance-history").body); len(rows) == 0 || rows[0].description != desc || rows[0].amount != "credit $40.00" {
			t.Errorf("Balance History's first row = %+v", rows)
		}

		// Paying again, or the same form again, credits nothing more.
		if res := admin.post(t, path, url.Values{"action": {"pay"}}); res.status != http.StatusSeeOther {
			t.Errorf("paying again: status %d", res.status)
		}
		if res := admin.post(t, "/billing/credits", url.Values{"amount": {"40"}, "method": {"crypto"}, "token": {token}, "confirm": {"yes"}}); res.header.Get("Location") != path {
			t.Errorf("the same form again went to %q, want %q", res.header.Get("Location"), path)
		}
		if res := admin.get(path); res.status != http.StatusConflict {
			t.Errorf("a finished checkout: status %d, want 409", res.status)
		}
		e.wantBooks(t, "acme", after)
	})

	t.Run("cancelling the sandbox checkout credits nothing", func(t *testing.T) {
		before := e.books(t, "acme")
		token, _ := admin.creditsForm(t)
		res := admin.payCredits(t, url.Values{"amount": {"60"}, "method": {"crypto"}, "token": {token}})
		admin.redirected(t, res, "/billing/credits/checkout/cs_sandbox_", true)
		path := res.header.Get("Location")
		page := admin.redirected(t, admin.post(t, path, url.Values{"action": {"cancel"}}), "/billing/credits", false)
		wantFlash(t, page, "info", "nothing was charged")
		if res := admin.post(t, path, url.Values{"action": {"pay"}}); res.status != http.StatusSeeOther {
			t.Errorf("paying a cancelled checkout: status %d", res.status)
		}
		e.wantBooks(t, "acme", before)
	})
}

func TestPaymentsTenantIsolation(t *testing.T) {
	e := newEnv(t, lateInMonth)
	acme := e.signIn("acme", "you@acme.test", "admin")
	acme.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
	acme.addCard(t, "J. Rosen", "5555 5555 5555 4444", "12", laterExpYear)
	acmeCards := acme.cards(t)
	token, _ := acme.creditsForm(t)
	res := acme.payCredits(t, url.Values{"amount": {"40"}, "method": {"crypto"}, "token": {token}})
	acme.redirected(t, res, "/billing/credits/checkout/cs_sandbox_", true)
	checkout := res.header.Get("Location")
	acmeBooks := e.books(t, "acme")

	globex := e.signIn("globex", "you@globex.test", "admin")
	globex.addCard(t, "Globex Admin", "4242 4242 4242 4242", "4", expYear)
	globexCards := globex.cards(t)
	globexBooks := e.books(t, "globex")

	visa, mc := byLabel(t, acmeCards, "Visa •••• 4242").id, byLabel(t, acmeCards, "Mastercard •••• 4444").id
	t.Run("acme's cards cannot be made default, viewed for deletion or deleted by another organisation", func(t *testing.T) {
		for _, c := range []struct {
			name string
			do   func() response
		}{
			{"set default", func() response { return globex.post(t, "/billing/payment-methods/default", url.Values{"card": {mc}}) }},
			{"delete confirmation", func() response { return globex.get("/billing/payment-methods/delete?card=" + url.QueryEscape(visa)) }},
			{"delete", func() response { return globex.post(t, "/billing/payment-methods/delete", url.Values{"card": {mc}}) }},
			{"delete the default", func() response { return globex.post(t, "/billing/payment-methods/delete", url.Values{"card": {visa}}) }},
		} {
			if res := c.do(); res.status != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", c.name, res.status)
			}
		}
	})

	t.Run("acme's card cannot pay another organisation's credits", func(t *testing.T) {
		token, _ := globex.creditsForm(t)
		res := globex.post(t, "/billing/credits", url.Values{"amount": {"25"}, "method": {visa}, "token": {token}})
		msg, _ := element(res.body, "method-error")
		if res.status != http.StatusUnprocessableEntity || msg == "" {
			t.Errorf("status %d, #method-error %q; want 422 with a message at the method", res.status, msg)
		}
	})

	t.Run("acme's checkout cannot be seen or paid by another organisation", func(t *testing.T) {
		if res := globex.get(checkout); res.status != http.StatusNotFound {
			t.Errorf("GET: status %d, want 404", res.status)
		}
		if res := globex.post(t, checkout, url.Values{"action": {"pay"}}); res.status != http.StatusNotFound {
			t.Errorf("pay: status %d, want 404", res.status)
		}
	})

	t.Run("nothing of either organisation changed", func(t *testing.T) {
		if got := acme.cards(t); !sameCards(got, acmeCards) {
			t.Errorf("acme's cards: %+v → %+v", acmeCards, got)
		}
		if got := globex.cards(t); !sameCards(got, globexCards) {
			t.Errorf("globex's cards: %+v → %+v", globexCards, got)
		}
		e.wantBooks(t, "acme", acmeBooks)
		e.wantBooks(t, "globex", globexBooks)
		if res := acme.get(checkout); res.status != http.StatusOK {
			t.Errorf("acme's checkout: status %d, want still open", res.status)
		}
	})
}

func TestPaymentsViewer(t *testing.T) {
	e := newEnv(t, lateInMonth)
	admin := e.signIn("acme", "admin@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
	admin.addCard(t, "J. Rosen", "5555 5555 5555 4444", "12", laterExpYear)
	cards := admin.cards(t)
	visa, mc := byLabel(t, cards, "Visa •••• 4242").id, byLabel(t, cards, "Mastercard •••• 4444").id
	token, _ := admin.creditsForm(t)
	res := admin.payCredits(t, url.Values{"amount": {"40"}, "method": {"crypto"}, "token": {token}})
	admin.redirected(t, res, "/billing/credits/checkout/cs_sandbox_", true)
	checkout := res.header.Get("Location")
	before := e.books(t, "acme")
	viewer := e.signIn("acme", "viewer@acme.test", "viewer")

	t.Run("a viewer's every payment change is refused with 403", func(t *testing.T) {
		vtoken, _ := viewer.creditsForm(t)
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{"/billing/payment-methods/new", cardForm("Eve", "4242424242424242", "4", expYear, "123")},
			{"/billing/payment-methods/default", url.Values{"card": {mc}}},
			{"/billing/payment-methods/delete", url.Values{"card": {mc}}},
			{"/billing/credits", url.Values{"amount": {"25"}, "method": {visa}, "token": {vtoken}}},
			{"/billing/credits", url.Values{"amount": {"25"}, "method": {"crypto"}, "token": {vtoken}}},
			{"/billing/credits", url.Values{"amount": {"25"}, "method": {visa}, "token": {vtoken}, "confirm": {"yes"}}},
			{checkout, url.Values{"action": {"pay"}}},
		} {
			if res := viewer.post(t, c.path, c.form); res.status != http.StatusForbidden {
				t.Errorf("POST %s: status %d, want 403", c.path, res.status)
			}
		}
		if got := admin.cards(t); !sameCards(got, cards) {
			t.Errorf("cards: %+v → %+v", cards, got)
		}
		e.wantBooks(t, "acme", before)
	})

	t.Run("a viewer sees the cards but no button to change them", func(t *testing.T) {
		res := viewer.get("/billing/payment-methods")
		rows := cardRows(res.body)
		if len(rows) != 2 || byLabel(t, rows, "Visa •••• 4242").status != "Default Card" || byLabel(t, rows, "Mastercard •••• 4444").status != "" {
			t.Errorf("rows = %+v, want the Visa default and no button on the Mastercard", rows)
		}
		for _, r := range rows {
			if r.id != "" || r.setDefault != "" {
				t.Errorf("row %+v offers a change", r)
			}
		}
		for _, s := range []string{"Add New Credit Card", "Set as Default", "/billing/payment-methods/delete", `method="post"` + ` action="/billing/payment-methods`} {
			if strings.Contains(res.body, s) {
				t.Errorf("the viewer's page contains %q", s)
			}
		}
		if !strings.Contains(res.text(), "Only admins can add, change or delete payment methods.") {
			t.Error("the page does not say why")
		}
		for _, path := range []string{"/billing/payment-methods/new", "/billing/payment-methods/delete?card=" + mc, checkout} {
			page := viewer.get(strings.TrimPrefix(path, e.srv.URL))
			if page.status != http.StatusOK || strings.Contains(page.body, `method="post" action="/billing/`) {
				t.Errorf("%s answers %d to a viewer and offers a change: %v", path, page.status, strings.Contains(page.body, `method="post" action="/billing/`))
			}
		}
		_, credits := viewer.creditsForm(t)
		if !readOnlyForm(credits.body, "Add to my balance") || strings.Contains(credits.body, "Add new payment method +") ||
			!strings.Contains(credits.text(), "Only admins can add usage credits.") {
			t.Error("the credits form is not disabled for a viewer")
		}
	})
}
