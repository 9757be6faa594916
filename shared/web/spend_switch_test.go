package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/html"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// spendFields are the fields under the Spend Management switch.
var spendFields = []string{"daily_budget", "email_threshold", "webhook_url"}

// wantErrorsAtOnce expects res to be its form back with 422 and, for each
// field of want, a message at the field containing want[field], the field
// marked invalid and described by it, and a link to it in the error
// summary, which counts them all.
func wantErrorsAtOnce(t *testing.T, res response, want map[string]string) {
	t.Helper()
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.status)
	}
	summary, _ := element(res.body, "error-summary")
	if !strings.HasPrefix(summary, "There are "+strconv.Itoa(len(want))+" problems") {
		t.Errorf("the error summary says %q, want %d problems", summary, len(want))
	}
	for field, msg := range want {
		if got, _ := element(res.body, field+"-error"); !strings.Contains(got, msg) {
			t.Errorf("#%s-error = %q, want it to say %q", field, got, msg)
		}
		if !strings.Contains(res.body, `<a href="#`+field+`">`) {
			t.Errorf("the error summary does not link to #%s", field)
		}
		if !regexp.MustCompile(`id="` + field + `" name="` + field + `" aria-invalid="true" aria-describedby="[^"]*` + field + `-error"`).MatchString(res.body) {
			t.Errorf("#%s is not marked invalid and described by its message", field)
		}
	}
}

// disabledField reports whether the page renders the input id disabled.
func disabledField(body, id string) bool {
	return regexp.MustCompile(`<input id="` + id + `" [^>]*\bdisabled\b`).MatchString(body)
}

func TestSpendSwitch(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	rcv := newHookReceiver(t, func() time.Time { return lateInMonth })
	secret := admin.saveWebhook(t, billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(40), EmailThreshold: money.Dollars(30)}, rcv.url())
	saved := spendState{spend: billing.SpendSettings{DailyBudget: money.Dollars(40), EmailThreshold: money.Dollars(30)},
		hook: store.WebhookEndpoint{URL: rcv.url(), Secret: secret}}

	t.Run("with the switch on, the fields are enabled", func(t *testing.T) {
		page := admin.get(spendPath)
		for _, id := range spendFields {
			if disabledField(page.body, id) {
				t.Errorf("#%s is disabled with the switch on", id)
			}
		}
	})

	t.Run("turned off as a browser sends it (disabled fields are not sent), the saved values stay and the fields are disabled", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath, url.Values{}), spendPath, false)
		wantFlash(t, page, "success", "Spend Management is saved.")
		e.wantSpendState(t, "acme", saved)
		for _, id := range spendFields {
			if !disabledField(page.body, id) {
				t.Errorf("#%s is not disabled with the switch off", id)
			}
		}
		for _, want := range []string{`value="40.00"`, `value="30.00"`, `value="` + rcv.url() + `"`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the disabled fields do not show the saved %s", want)
			}
		}
		if got, _ := element(page.body, "webhook-off"); !strings.Contains(got, "nothing is posted to this URL") {
			t.Errorf("the Webhook card does not say that nothing is posted while off: %q", got)
		}
	})

	t.Run("turned on without JavaScript (the fields still disabled, so not sent), the saved values come back into force", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath, url.Values{"enabled": {"on"}}), spendPath, false)
		saved.spend.Enabled = true
		e.wantSpendState(t, "acme", saved)
		for _, id := range spendFields {
			if disabledField(page.body, id) {
				t.Errorf("#%s is still disabled with the switch on", id)
			}
		}
	})

	t.Run("every bad field gets its message at once, each field marked invalid, and nothing is saved", func(t *testing.T) {
		wantErrorsAtOnce(t, admin.post(t, spendPath, spendForm(true, "abc", "-1", "http://example.com/hook")), map[string]string{
			"daily_budget":    "“abc” is not an amount in dollars",
			"email_threshold": "-$1.00 is below the $0.01 minimum",
			"webhook_url":     "Plain http:// is allowed only for a loopback address",
		})
		e.wantSpendState(t, "acme", saved)
	})

	t.Run("with the switch off, a field with an error stays enabled so that it can be put right", func(t *testing.T) {
		res := admin.post(t, spendPath, spendForm(false, "abc", "30", rcv.url()))
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", res.status)
		}
		if disabledField(res.body, "daily_budget") {
			t.Error("the budget with its error is disabled")
		}
		if !disabledField(res.body, "email_threshold") {
			t.Error("the threshold without an error is not disabled with the switch off")
		}
		e.wantSpendState(t, "acme", saved)
	})

	t.Run("the switch's hint says what still goes out while it is off", func(t *testing.T) {
		page := admin.get(spendPath)
		hint, _ := element(page.body, "enabled-hint")
		for _, want := range []string{html.SpendSwitchHint, html.SpendOffHint} {
			if !strings.Contains(hint, want) {
				t.Errorf("#enabled-hint %q lacks %q", hint, want)
			}
		}
		if !regexp.MustCompile(`<input id="enabled" name="enabled" aria-describedby="enabled-hint"`).MatchString(page.body) {
			t.Error("the switch is not described by its hint")
		}
	})
}

func TestSpendThresholdWarning(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	const note = "Note: your email threshold is at or above your daily budget"

	for _, c := range []struct {
		name              string
		on                bool
		budget, threshold string
		warn              bool
	}{
		{"a threshold equal to the budget saves, with a warning at the field and in the message", true, "20", "20", true},
		{"a threshold above the budget saves, with a warning", true, "20", "35.50", true},
		{"a threshold below the budget has no warning", true, "20", "19.99", false},
		{"with no budget there is no warning", true, "", "35", false},
		{"with the switch off there is no warning", false, "20", "35", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := admin.redirected(t, admin.post(t, spendPath, spendForm(c.on, c.budget, c.threshold, "")), spendPath, false)
			_, text := flash(page.body)
			if got := strings.Contains(text, note); got != c.warn || !strings.HasPrefix(text, "Spend Management is saved.") {
				t.Errorf("flash %q; want the note: %v", text, c.warn)
			}
			warning, ok := element(page.body, "email_threshold-warning")
			if ok != c.warn {
				t.Fatalf("#email_threshold-warning shown: %v, want %v (%q)", ok, c.warn, warning)
			}
			if c.warn {
				if want := "at or above your daily budget of " + money.MustParse(c.budget).Display(); !strings.Contains(warning, want) {
					t.Errorf("warning %q, want it to say %q", warning, want)
				}
				if hint, _ := element(page.body, "email_threshold-hint"); !strings.Contains(hint, warning) {
					t.Errorf("the warning is not in the hint the field is described by: %q", hint)
				}
				if strings.Contains(page.body, `id="email_threshold" name="email_threshold" aria-invalid`) {
					t.Error("a warning marks the field invalid")
				}
			}
			if got := e.spendState(t, "acme").spend; got.EmailThreshold != money.MustParse(c.threshold) {
				t.Errorf("saved threshold %v, want %s", got.EmailThreshold, c.threshold)
			}
		})
	}
}

func TestSpendBlocked(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	today := plan.Usage[billing.Day(lateInMonth)]
	if today <= money.Cent {
		t.Fatalf("the demo used %v today: too little to test", today)
	}

	for _, c := range []struct {
		name    string
		on      bool
		budget  money.Money
		blocked bool
	}{
		{"today's usage at the budget shows the blocked state", true, today.RoundCents() - money.Cent, true},
		{"a budget above today's usage shows nothing", true, today.RoundCents() + money.Cent, false},
		{"with the switch off there is no block", false, money.Cent, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := admin.redirected(t, admin.post(t, spendPath, spendForm(c.on, c.budget.String(), "", "")), spendPath, false)
			got, ok := element(page.body, "spend-blocked")
			if ok != c.blocked {
				t.Fatalf("#spend-blocked shown: %v, want %v (%q)", ok, c.blocked, got)
			}
			if !c.blocked {
				return
			}
			for _, want := range []string{"Blocked until 00:00 UTC — raise the budget", today.Display(), "daily budget of " + c.budget.Display()} {
				if !strings.Contains(got, want) {
					t.Errorf("#spend-blocked %q does not say %q", got, want)
				}
			}
			if !strings.Contains(page.body, `<a href="#daily_budget">raise the budget</a>`) {
				t.Error("“raise the budget” does not lead to the budget field")
			}
		})
	}
}

func TestSpendChartLines(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	labels := regexp.MustCompile(`<text class="chart-line-label (chart-limit|chart-threshold)-label"[^>]*>([^<]*)</text>`)

	t.Run("the budget and threshold lines are labelled with their names and amounts", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath, spendForm(true, "25", "15", "")), spendPath, false)
		var got []string
		for _, m := range labels.FindAllStringSubmatch(page.body, -1) {
			got = append(got, m[1]+": "+m[2])
		}
		if want := []string{"chart-limit: Daily budget $25.00", "chart-threshold: Email threshold $15.00"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("line labels %q, want %q", got, want)
		}
		for _, class := range []string{"chart-limit", "chart-threshold"} {
			if !strings.Contains(page.body, `<line class="`+class+`"`) {
				t.Errorf("no %s line", class)
			}
		}
	})

	t.Run("with the switch off no line is drawn", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath, spendForm(false, "25", "15", "")), spendPath, false)
		if m := labels.FindAllString(page.body, -1); len(m) > 0 || strings.Contains(page.body, `<line class="chart-limit"`) {
			t.Errorf("lines drawn with the switch off: %q", m)
		}
	})
}
