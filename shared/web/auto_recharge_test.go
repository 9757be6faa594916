package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	stdhtml "html"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/web"
)

// rechargeEnv is newEnv with the auto-recharge engine, whose clock moves
// on its own so tests can wait out a back-off.
type rechargeEnv struct {
	*env
	engine *recharge.Engine
	mu     sync.Mutex
	now    time.Time
}

func newRechargeEnv(t *testing.T) *rechargeEnv {
	t.Helper()
	r := &rechargeEnv{now: lateInMonth}
	r.env = newEnvWith(t, lateInMonth, func(d *web.Deps) {
		r.engine = recharge.New(d.Store, d.Payments, events.NewBus(d.Log), r.clock, d.Log)
		d.Recharge = r.engine
	})
	return r
}

func (r *rechargeEnv) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

// advance moves the engine's clock.
func (r *rechargeEnv) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// run runs the engine for org as a trigger would.
func (r *rechargeEnv) run(t *testing.T, org string) recharge.Result {
	t.Helper()
	res, err := r.engine.Run(t.Context(), org)
	if err != nil {
		t.Fatalf("run %s: %v", org, err)
	}
	return res
}

func (r *rechargeEnv) settings(t *testing.T, org string) billing.AutoRechargeSettings {
	t.Helper()
	acct, err := r.store.Account(t.Context(), org, r.env.now)
	if err != nil {
		t.Fatalf("account %s: %v", org, err)
	}
	return acct.AutoRecharge
}

var autoRechargeTx = regexp.MustCompile(`^Stripe Payment Intent pi_sandbox_[0-9a-f]+ via Auto Recharge call\.$`)

// recharges returns how many auto-recharges org's balance history holds,
// and its ledger (checked against the history's sum).
func (r *rechargeEnv) recharges(t *testing.T, org string) (int, money.Money) {
	t.Helper()
	b := r.balance(t, org)
	n := 0
	for _, d := range b.history {
		if autoRechargeTx.MatchString(d) {
			n++
		}
	}
	return n, b.ledger
}

// rechargeForm is the Auto Recharge form as a browser submits it; enabled
// is the toggle.
func rechargeForm(enabled bool, threshold, amount, monthlyCap string) url.Values {
	f := url.Values{"threshold": {threshold}, "amount": {amount}, "monthly_cap": {monthlyCap}}
	if enabled {
		f.Set("enabled", "on")
	}
	return f
}

// attemptRow is one row of the Recent attempts table.
type attemptRow struct {
	time, amount, badge, status, payment, details string
}

var attemptRowPattern = regexp.MustCompile(`<tr><td data-label="[^"]*"><time datetime="([^"]+)">[^<]*</time></td><td data-label="[^"]*" class="num">([^<]*)</td><td data-label="[^"]*"><span class="([^"]*)">([^<]*)</span></td><td data-label="[^"]*" class="mono">([^<]*)</td><td data-label="[^"]*">([^<]*)</td></tr>`)

func attemptRows(body string) []attemptRow {
	var rows []attemptRow
	for _, m := range attemptRowPattern.FindAllStringSubmatch(body, -1) {
		rows = append(rows, attemptRow{m[1], stdhtml.UnescapeString(m[2]), m[3], m[4], m[5], stdhtml.UnescapeString(m[6])})
	}
	return rows
}

// fieldControl is the start of an input's markup after an error at it,
// with the typed value kept.
func fieldControl(id, value string) string {
	return `name="` + id + `" aria-invalid="true" aria-describedby="` + id + `-hint ` + id + `-error" value="` + stdhtml.EscapeString(value) + `"`
}

func TestAutoRechargePage(t *testing.T) {
	r := newRechargeEnv(t)
	admin := r.signIn("acme", "you@acme.test", "admin")

	t.Run("the page explains auto-recharge and labels every control", func(t *testing.T) {
		res := admin.get("/billing/auto-recharge")
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		if !strings.Contains(res.text(), html.AutoRechargeText) ||
			html.AutoRechargeText != "Keep your service running by setting up auto-recharge. When your balance reaches a certain threshold, we will automatically charge your card." {
			t.Errorf("the page lacks the spec's text:\n%s", res.text())
		}
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`<label class="toggle"><input id="enabled" name="enabled" type="checkbox" value="on">.*?<span class="toggle-label">Setting to Auto Recharge</span></label>`),
			regexp.MustCompile(`<label for="threshold">When Remaining Credits fall below</label>.*?<input id="threshold" name="threshold"`),
			regexp.MustCompile(`<label for="amount">Add this amount</label>.*?<input id="amount" name="amount"`),
			regexp.MustCompile(`<label for="monthly_cap">Monthly cap \(optional\)</label>.*?<input id="monthly_cap" name="monthly_cap"`),
			regexp.MustCompile(`<form class="form" method="post" action="/billing/auto-recharge"`),
			regexp.MustCompile(`<button class="btn btn-primary" type="submit">Save changes</button>`),
			regexp.MustCompile(`<a href="/billing/payment-methods/new\?next=/billing/auto-recharge">Add a card</a>`),
			regexp.MustCompile(`No auto-recharge attempts yet\.`),
		} {
			if !want.MatchString(res.body) {
				t.Errorf("the page lacks %s", want)
			}
		}
	})

	t.Run("with a card, the page names the default card that will be charged", func(t *testing.T) {
		admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
		res := admin.get("/billing/auto-recharge")
		if !strings.Contains(res.text(), "Charged to your default card, Visa •••• 4242.") {
			t.Errorf("the page does not name the default card:\n%s", res.text())
		}
		if strings.Contains(res.body, "Add a card") {
			t.Error("the page still asks for a card")
		}
	})
}

func TestAutoRechargeSave(t *testing.T) {
	r := newRechargeEnv(t)
	admin := r.signIn("acme", "you@acme.test", "admin")

	t.Run("turning it on without a default card is refused at the toggle and saves nothing", func(t *testing.T) {
		res := admin.post(t, "/billing/auto-recharge", rechargeForm(true, "5", "25", ""))
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", res.status)
		}
		if msg, _ := element(res.body, "enabled-error"); !strings.Contains(msg, "Add a card and make it your default before you turn on auto-recharge.") {
			t.Errorf("#enabled-error = %q", msg)
		}
		if !strings.Contains(res.body, `<input id="enabled" name="enabled" aria-invalid="true" aria-describedby="enabled-error" type="checkbox" value="on" checked>`) {
			t.Error("the toggle is not marked invalid, or lost its state")
		}
		if got := r.settings(t, "acme"); got != (billing.AutoRechargeSettings{}) {
			t.Errorf("settings saved: %+v", got)
		}
	})

	t.Run("a missing card and every bad amount get their messages at once, each at its field", func(t *testing.T) {
		wantErrorsAtOnce(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "4", "abc", "2000001")), map[string]string{
			"enabled":     "Add a card and make it your default before you turn on auto-recharge.",
			"threshold":   "$4.00 is below the $5 minimum.",
			"amount":      "“abc” is not an amount in dollars: enter it like 25 or 25.50.",
			"monthly_cap": "$2,000,001.00 is above the $1,000,000 maximum.",
		})
		if got := r.settings(t, "acme"); got != (billing.AutoRechargeSettings{}) {
			t.Errorf("settings saved: %+v", got)
		}
	})

	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
	_, ledger := r.recharges(t, "acme")

	t.Run("a bad value is shown at its field with what was typed, and nothing is saved", func(t *testing.T) {
		for _, c := range []struct {
			threshold, amount, monthlyCap string
			field, message                string
		}{
			{"4.99", "25", "", "threshold", "$4.99 is below the $5 minimum."},
			{"5000.01", "25", "", "threshold", "$5,000.01 is above the $5,000 maximum."},
			{"5.001", "25", "", "threshold", "5.001 has more than two decimals: enter whole cents, like 5.00."},
			{"abc", "25", "", "threshold", "“abc” is not an amount in dollars: enter it like 25 or 25.50."},
			{"", "25", "", "threshold", "Enter a threshold between $5 and $5,000: when Remaining Credits fall below it, your card is charged."},
			{"10", "5001", "", "amount", "$5,001.00 is above the $5,000 maximum."},
			{"10", "4", "", "amount", "$4.00 is below the $5 minimum."},
			{"10", "", "", "amount", "Enter the amount to add each time, between $5 and $5,000."},
			{"10", "abc", "", "amount", "“abc” is not an amount in dollars: enter it like 25 or 25.50."},
			{"10", "25", "20", "monthly_cap", "$20.00 is below the recharge amount of $25.00: leave the cap empty, or enter at least $25.00."},
			{"10", "25", "-50", "monthly_cap", "-$50.00 is below the $0.01 minimum: leave the field empty for no cap."},
			{"10", "25", "abc", "monthly_cap", "“abc” is not an amount in dollars: enter it like 25 or 25.50."},
		} {
			form := rechargeForm(true, c.threshold, c.amount, c.monthlyCap)
			res := admin.post(t, "/billing/auto-recharge", form)
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("%v: status %d, want 422", form, res.status)
				continue
			}
			if msg, _ := element(res.body, c.field+"-error"); msg != c.message {
				t.Errorf("%v: #%s-error = %q, want %q", form, c.field, msg, c.message)
			}
			if !strings.Contains(res.body, fieldControl(c.field, form.Get(c.field))) {
				t.Errorf("%v: %s is not marked invalid with the typed value kept", form, c.field)
			}
			for _, other := range []string{"threshold", "amount", "monthly_cap"} {
				if other != c.field && !strings.Contains(res.body, `name="`+other+`" aria-describedby="`+other+`-hint" value="`+stdhtml.EscapeString(form.Get(other))+`"`) {
					t.Errorf("%v: %s lost its typed value", form, other)
				}
			}
			if !strings.Contains(res.body, `value="on" checked>`) {
				t.Errorf("%v: the toggle lost its state", form)
			}
		}
		if got := r.settings(t, "acme"); got != (billing.AutoRechargeSettings{}) {
			t.Errorf("settings saved: %+v", got)
		}
		if n, l := r.recharges(t, "acme"); n != 0 || l != ledger {
			t.Errorf("%d recharges, ledger %v → %v", n, ledger, l)
		}
	})

	t.Run("a valid save above the threshold saves and charges nothing", func(t *testing.T) {
		// Remaining Credits are the $10 trial: above a $5 threshold.
		page := admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "5", "25", "100")), "/billing/auto-recharge", false)
		wantFlash(t, page, "success", "Auto-recharge is on.")
		if _, text := flash(page.body); text != "Auto-recharge is on." {
			t.Errorf("flash = %q, want no charge mentioned", text)
		}
		want := billing.AutoRechargeSettings{Enabled: true, Threshold: money.Dollars(5), Amount: money.Dollars(25), MonthlyCap: money.Dollars(100)}
		if got := r.settings(t, "acme"); got != want {
			t.Errorf("settings = %+v, want %+v", got, want)
		}
		for _, s := range []string{`value="on" checked>`, `name="threshold" aria-describedby="threshold-hint" value="5.00"`,
			`name="amount" aria-describedby="amount-hint" value="25.00"`, `name="monthly_cap" aria-describedby="monthly_cap-hint" value="100.00"`} {
			if !strings.Contains(page.body, s) {
				t.Errorf("the saved form lacks %s", s)
			}
		}
		if n, l := r.recharges(t, "acme"); n != 0 || l != ledger {
			t.Errorf("%d recharges, ledger %v → %v", n, ledger, l)
		}
	})

	t.Run("a save with Remaining Credits already below the threshold charges once and says so", func(t *testing.T) {
		form := rechargeForm(true, "20", "25", "")
		page := admin.redirected(t, admin.post(t, "/billing/auto-recharge", form), "/billing/auto-recharge", false)
		wantFlash(t, page, "success", "Auto-recharge is on. Your balance was below the threshold, so $25.00 was added.")
		// Saved again, now above the threshold: no second charge.
		page = admin.redirected(t, admin.post(t, "/billing/auto-recharge", form), "/billing/auto-recharge", false)
		if _, text := flash(page.body); text != "Auto-recharge is on." {
			t.Errorf("second save: flash = %q", text)
		}
		if n, l := r.recharges(t, "acme"); n != 1 || l != ledger+money.Dollars(25) {
			t.Errorf("%d recharges, ledger %v → %v; want one of $25", n, ledger, l)
		}
		rows := attemptRows(page.body)
		if len(rows) != 1 || rows[0].status != "succeeded" || rows[0].badge != "badge badge-green" || rows[0].amount != "$25.00" ||
			!strings.HasPrefix(rows[0].payment, "pi_sandbox_") {
			t.Errorf("attempts = %+v, want one succeeded", rows)
		}
	})

	t.Run("turning it off saves it off, even with the fields empty", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(false, "", "", "")), "/billing/auto-recharge", false)
		wantFlash(t, page, "success", "Auto-recharge is off.")
		if got := r.settings(t, "acme"); got.Enabled {
			t.Errorf("settings = %+v, want off", got)
		}
		if strings.Contains(page.body, `value="on" checked>`) {
			t.Error("the toggle still shows on")
		}
		if v, _ := element(admin.get("/billing").body, "auto-recharge-value"); v != "Disabled" {
			t.Errorf("Overview's Auto Recharge = %q, want Disabled", v)
		}
	})
}

func TestAutoRechargeTurnsItselfOff(t *testing.T) {
	r := newRechargeEnv(t)
	admin := r.signIn("acme", "you@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4000 0000 0000 0341", "4", expYear) // declined; the default
	_, ledger := r.recharges(t, "acme")

	// Saved with Remaining Credits ($10) below the threshold: the first
	// charge runs at once and fails.
	page := admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "20", "25", "")), "/billing/auto-recharge", false)
	wantFlash(t, page, "success", "Auto-recharge is on. Your balance is below the threshold, but the charge failed: Your card was declined.")
	if _, text := flash(page.body); strings.Contains(text, "..") {
		t.Errorf("flash = %q", text)
	}
	r.advance(time.Hour)
	if res := r.run(t, "acme"); res.Outcome != recharge.OutcomeFailed {
		t.Fatalf("second run: %+v", res)
	}
	r.advance(6 * time.Hour)
	if res := r.run(t, "acme"); res.Outcome != recharge.OutcomeFailed {
		t.Fatalf("third run: %+v", res)
	}
	const reason = "Auto-recharge turned itself off after 3 failed charges in a row (last: Your card was declined.). Check your default card, then turn it on again."

	t.Run("the Auto Recharge page says why it is off", func(t *testing.T) {
		res := admin.get("/billing/auto-recharge")
		if kind, text := flash(res.body); kind != "error" || text != reason {
			t.Errorf("alert = %s %q, want %q", kind, text, reason)
		}
		if strings.Contains(res.body, `value="on" checked>`) {
			t.Error("the toggle still shows on")
		}
		rows := attemptRows(res.body)
		if len(rows) != 3 {
			t.Fatalf("attempts = %+v, want 3", rows)
		}
		for _, row := range rows {
			if row.status != "failed" || row.badge != "badge badge-red" || row.details != "Your card was declined." {
				t.Errorf("attempt %+v, want failed with the decline", row)
			}
		}
	})

	t.Run("the Overview says why it is off", func(t *testing.T) {
		v, ok := element(admin.get("/billing").body, "auto-recharge-value")
		if !ok || v != "Disabled "+reason {
			t.Errorf("Overview's Auto Recharge = %q, want Disabled and the reason", v)
		}
	})

	t.Run("no trigger charges the card any more", func(t *testing.T) {
		r.advance(24 * time.Hour)
		if res := r.run(t, "acme"); res.Outcome != recharge.OutcomeSkipped {
			t.Errorf("run after turning off: %+v", res)
		}
		if rows := attemptRows(admin.get("/billing/auto-recharge").body); len(rows) != 3 {
			t.Errorf("%d attempts, want 3", len(rows))
		}
		if n, l := r.recharges(t, "acme"); n != 0 || l != ledger {
			t.Errorf("%d recharges, ledger %v → %v", n, ledger, l)
		}
	})

	t.Run("turning it on again clears the reason", func(t *testing.T) {
		admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
		visa := byLabel(t, admin.cards(t), "Visa •••• 4242").id
		admin.redirected(t, admin.post(t, "/billing/payment-methods/default", url.Values{"card": {visa}}), "/billing/payment-methods", false)
		page := admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "20", "25", "")), "/billing/auto-recharge", false)
		wantFlash(t, page, "success", "Your balance was below the threshold, so $25.00 was added.")
		if strings.Contains(page.text(), "turned itself off") {
			t.Error("the page still shows the reason")
		}
		if v, _ := element(admin.get("/billing").body, "auto-recharge-value"); v != "Enabled" {
			t.Errorf("Overview's Auto Recharge = %q, want Enabled", v)
		}
		rows := attemptRows(page.body)
		if len(rows) != 4 || rows[0].status != "succeeded" || rows[0].badge != "badge badge-green" || rows[1].status != "failed" {
			t.Errorf("attempts = %+v, want the success first", rows)
		}
		for i := 1; i < len(rows); i++ {
			if rows[i-1].time < rows[i].time {
				t.Errorf("attempts not newest first: %+v", rows)
			}
		}
	})
}

func TestAutoRechargeViewer(t *testing.T) {
	r := newRechargeEnv(t)
	admin := r.signIn("acme", "admin@acme.test", "admin")
	admin.addCard(t, "Jenny Rosen", "4242 4242 4242 4242", "4", expYear)
	admin.redirected(t, admin.post(t, "/billing/auto-recharge", rechargeForm(true, "5", "25", "")), "/billing/auto-recharge", false)
	before := r.settings(t, "acme")
	viewer := r.signIn("acme", "viewer@acme.test", "viewer")

	t.Run("a viewer's save is refused with 403 and changes nothing", func(t *testing.T) {
		for _, form := range []url.Values{rechargeForm(false, "", "", ""), rechargeForm(true, "50", "100", "")} {
			if res := viewer.post(t, "/billing/auto-recharge", form); res.status != http.StatusForbidden {
				t.Errorf("POST %v: status %d, want 403", form, res.status)
			}
		}
		if got := r.settings(t, "acme"); got != before {
			t.Errorf("settings %+v → %+v", before, got)
		}
	})

	t.Run("a viewer sees the settings with a disabled Save button and a notice", func(t *testing.T) {
		res := viewer.get("/billing/auto-recharge")
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		if !readOnlyForm(res.body, "Save changes") {
			t.Error("the fields and the Save button are not disabled")
		}
		if !strings.Contains(res.text(), "Only admins can change auto-recharge.") {
			t.Error("no notice for viewers")
		}
	})
}
