package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	stdhtml "html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/web"
)

const spendPath = "/billing/spend-management"

// spendForm is the Spend Management form as a browser submits it; enabled
// is the toggle.
func spendForm(enabled bool, budget, threshold, webhookURL string) url.Values {
	f := url.Values{"daily_budget": {budget}, "email_threshold": {threshold}, "webhook_url": {webhookURL}}
	if enabled {
		f.Set("enabled", "on")
	}
	return f
}

// hookRequest is one request a hookReceiver got.
type hookRequest struct {
	header http.Header
	body   []byte
}

// detail decodes the request's JSON body.
func (r hookRequest) detail(t *testing.T) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("webhook body %s: %v", r.body, err)
	}
	return d
}

// hookReceiver is a customer's webhook endpoint, written the way the
// Standard Webhooks spec tells receivers to: it answers 401 unless the
// request is signed with the secret it was given (and is recent on the
// test's clock), else its status. It records every request.
type hookReceiver struct {
	srv *httptest.Server
	now func() time.Time

	mu     sync.Mutex
	secret string
	status int
	got    []hookRequest
}

func newHookReceiver(t *testing.T, now func() time.Time) *hookReceiver {
	t.Helper()
	r := &hookReceiver{now: now, status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	r.got = append(r.got, hookRequest{header: req.Header.Clone(), body: body})
	secret, status := r.secret, r.status
	r.mu.Unlock()
	if req.Method != http.MethodPost || verifyWebhook(secret, req.Header, body, r.now()) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(status)
}

// url is where the receiver listens, with a path as customers use.
func (r *hookReceiver) url() string { return r.srv.URL + "/hooks/billing" }

func (r *hookReceiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *hookReceiver) setStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = code
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.got...)
}

// verifyWebhook checks a delivery the way a receiver following the
// Standard Webhooks spec does, written here from the spec rather than
// with the code under test: the v1 signature is the base64 HMAC-SHA256,
// keyed with the base64-decoded secret after "whsec_", of
// "<webhook-id>.<webhook-timestamp>.<body>"; the timestamp must be within
// five minutes of now.
func verifyWebhook(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("a Standard Webhooks header is missing")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q: %w", ts, err)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %s is %v away from now", ts, d)
	}
	enc, ok := strings.CutPrefix(secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(enc)
	if !ok || err != nil || len(key) == 0 {
		return fmt.Errorf("secret %q is not whsec_ and base64", secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, sig, _ := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(sig)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no v1 signature in %q matches", sigs)
}

// deliveryRow is one row of the Recent deliveries table.
type deliveryRow struct {
	time, event, channel, badge, status, code, attempts string
}

var deliveryRowPattern = regexp.MustCompile(`<tr><td data-label="[^"]*"><time datetime="([^"]+)">[^<]*</time></td><td data-label="[^"]*">([^<]*)</td><td data-label="[^"]*">([^<]*)</td><td data-label="[^"]*"><span class="([^"]*)">([^<]*)</span></td><td data-label="[^"]*" class="num">([^<]*)</td><td data-label="[^"]*" class="num">([^<]*)</td><td data-label="[^"]*">[^<]*</td></tr>`)

func deliveryRows(body string) []deliveryRow {
	var rows []deliveryRow
	for _, m := range deliveryRowPattern.FindAllStringSubmatch(body, -1) {
		rows = append(rows, deliveryRow{m[1], stdhtml.UnescapeString(m[2]), m[3], m[4], m[5], m[6], m[7]})
	}
	return rows
}

var secretPattern = regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`)

// shownSecret returns the signing secret the page shows, if any.
func shownSecret(t *testing.T, body string) (string, bool) {
	t.Helper()
	s, ok := element(body, "signing-secret")
	if ok && !secretPattern.MatchString(s) {
		t.Errorf("the signing secret shown, %q, is not a Standard Webhooks secret (whsec_ and the base64 of 32 bytes)", s)
	}
	return s, ok
}

// spendState is what Spend Management saves: the settings and the webhook.
type spendState struct {
	spend billing.SpendSettings
	hook  store.WebhookEndpoint
}

func (e *env) spendState(t *testing.T, org string) spendState {
	t.Helper()
	acct, err := e.store.Account(t.Context(), org, e.now)
	if err != nil {
		t.Fatalf("account %s: %v", org, err)
	}
	hook, err := e.store.Webhook(t.Context(), org)
	if err != nil {
		t.Fatalf("webhook %s: %v", org, err)
	}
	return spendState{spend: acct.Spend, hook: hook}
}

func (e *env) wantSpendState(t *testing.T, org string, want spendState) {
	t.Helper()
	if got := e.spendState(t, org); got.spend != want.spend || got.hook.URL != want.hook.URL || got.hook.Secret != want.hook.Secret {
		t.Errorf("%s's Spend Management is %+v, want %+v", org, got, want)
	}
}

// saveWebhook saves url as the webhook URL through the form (other
// settings as given) and returns the signing secret the page then reveals.
func (b *browser) saveWebhook(t *testing.T, sp billing.SpendSettings, webhookURL string) string {
	t.Helper()
	budget, threshold := "", ""
	if sp.DailyBudget > 0 {
		budget = sp.DailyBudget.String()
	}
	if sp.EmailThreshold > 0 {
		threshold = sp.EmailThreshold.String()
	}
	res := b.redirected(t, b.post(t, spendPath, spendForm(sp.Enabled, budget, threshold, webhookURL)), spendPath, false)
	secret, ok := shownSecret(t, res.body)
	if !ok {
		t.Fatalf("saving the first webhook URL shows no signing secret:\n%s", res.text())
	}
	return secret
}

func TestSpendPage(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	res := e.signIn("acme", "you@acme.test", "admin").get(spendPath)
	if res.status != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", res.status, res.text())
	}

	t.Run("the toggle is labelled Spend Management and on, as the demo has it", func(t *testing.T) {
		toggle := regexp.MustCompile(`<label class="toggle"><input id="enabled" name="enabled" aria-describedby="enabled-hint" type="checkbox" value="on" checked>.*?<span class="toggle-label">Spend Management</span></label>`)
		if !toggle.MatchString(res.body) {
			t.Errorf("the page lacks the labelled, checked toggle %s", toggle)
		}
	})

	t.Run("Credits Consumed Today and Yesterday show the demo's usage of those UTC days", func(t *testing.T) {
		for id, want := range map[string]struct {
			label string
			used  money.Money
		}{
			"consumed-today":     {"Credits Consumed Today", plan.Usage[billing.Day(lateInMonth)]},
			"consumed-yesterday": {"Credits Consumed Yesterday", plan.Usage[billing.Day(lateInMonth.AddDate(0, 0, -1))]},
		} {
			if label, _ := element(res.body, id+"-label"); label != want.label {
				t.Errorf("#%s-label is %q, want %q", id, label, want.label)
			}
			if got, _ := element(res.body, id); got != want.used.Display() {
				t.Errorf("%s: %q, want %q", want.label, got, want.used.Display())
			}
		}
		if plan.Usage[billing.Day(lateInMonth)] == plan.Usage[billing.Day(lateInMonth.AddDate(0, 0, -1))] {
			t.Fatal("the demo's today and yesterday are equal: the test cannot tell them apart")
		}
	})

	t.Run("the budget, email threshold and webhook URL fields are labelled and hold the saved values", func(t *testing.T) {
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`<label for="daily_budget">Set daily credit usage budget</label>.*?<input id="daily_budget" name="daily_budget" [^>]*value="` + plan.Spend.DailyBudget.String() + `"`),
			regexp.MustCompile(`<label for="email_threshold">Set a daily credit usage email notification threshold</label>.*?<input id="email_threshold" name="email_threshold" [^>]*value="` + plan.Spend.EmailThreshold.String() + `"`),
			regexp.MustCompile(`<label for="webhook_url">Set a webhook URL</label><input id="webhook_url" name="webhook_url" [^>]*type="url" value=""`),
			regexp.MustCompile(`<form class="form" method="post" action="/billing/spend-management"`),
			regexp.MustCompile(`<button class="btn btn-primary" type="submit">Save Changes</button>`),
		} {
			if !want.MatchString(res.body) {
				t.Errorf("the page lacks %s", want)
			}
		}
	})

	t.Run("the 30-day chart is an SVG with a title, and a description naming the total of those days", func(t *testing.T) {
		var total, peak money.Money
		for i := range 30 {
			u := plan.Usage[billing.Day(lateInMonth.AddDate(0, 0, -i))]
			total += u
			peak = max(peak, u)
		}
		if !regexp.MustCompile(`<svg class="chart usage-chart"[^>]* role="img" aria-labelledby="usage-chart-title usage-chart-desc">`).MatchString(res.body) {
			t.Error("the chart is not an SVG image labelled by its title and description")
		}
		if title, _ := element(res.body, "usage-chart-title"); title != "Credit usage, last 30 days" {
			t.Errorf("chart title %q", title)
		}
		desc, _ := element(res.body, "usage-chart-desc")
		for _, want := range []string{"30 days to " + dateOf(lateInMonth), total.Display() + " in total", "at most " + peak.Display() + " in a day",
			"daily budget of " + plan.Spend.DailyBudget.Display()} {
			if !strings.Contains(desc, want) {
				t.Errorf("chart description %q does not say %q", desc, want)
			}
		}
		if n := strings.Count(res.body, `<rect class="chart-bar"`); n != 30 {
			t.Errorf("%d bars, want one per day (30)", n)
		}
		if n := strings.Count(res.body, `<g class="chart-day"><title>`); n != 30 {
			t.Errorf("%d days with a tooltip, want 30", n)
		}
		first, last := lateInMonth.AddDate(0, 0, -29), lateInMonth
		for _, want := range []string{
			`<g class="chart-day"><title>` + first.Format("Mon, Jan 2") + ": " + plan.Usage[billing.Day(first)].Display() + "</title>",
			`<g class="chart-day"><title>` + last.Format("Mon, Jan 2") + ": " + plan.Usage[billing.Day(last)].Display() + "</title>",
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("no day titled %q", want)
			}
		}
		if strings.Contains(res.body, "viewBox") {
			t.Error("the chart scales with a viewBox: its axis text shrinks on a phone")
		}
	})

	t.Run("spend.js only follows the switch: the form is whole without it", func(t *testing.T) {
		scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(res.body, -1)
		spendJS := false
		for _, s := range scripts {
			spendJS = spendJS || s == `<script src="/static/spend.js" defer>`
			if !regexp.MustCompile(`^<script src="/static/[a-z-]+\.js" defer>$`).MatchString(s) {
				t.Errorf("script %q is not a deferred file of /static/", s)
			}
		}
		if !spendJS {
			t.Errorf("scripts %q, want the deferred /static/spend.js among them", scripts)
		}
		for _, id := range []string{"daily_budget", "email_threshold", "webhook_url"} {
			if !regexp.MustCompile(`<input id="` + id + `" [^>]*data-spend-field=""`).MatchString(res.body) {
				t.Errorf("#%s is not marked for spend.js", id)
			}
		}
	})

	t.Run("with no deliveries yet, Recent deliveries says so", func(t *testing.T) {
		if !strings.Contains(res.text(), "Recent deliveries No notifications sent yet.") {
			t.Errorf("the page does not say no notifications were sent:\n%s", res.text())
		}
	})
}

func TestSpendSave(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	rcv := newHookReceiver(t, func() time.Time { return lateInMonth })

	t.Run("valid settings are saved, and the page says so and shows them", func(t *testing.T) {
		res := admin.post(t, spendPath, spendForm(true, "12.50", "$7", ""))
		page := admin.redirected(t, res, spendPath, false)
		wantFlash(t, page, "success", "Spend Management is saved.")
		e.wantSpendState(t, "acme", spendState{spend: billing.SpendSettings{Enabled: true, DailyBudget: money.MustParse("12.5"), EmailThreshold: money.Dollars(7)}})
		for _, want := range []string{`name="daily_budget" aria-describedby="daily_budget-hint" value="12.50"`, `name="email_threshold" aria-describedby="email_threshold-hint" value="7.00"`, `value="on" checked>`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the page does not show the saved %s", want)
			}
		}
	})

	t.Run("turning the toggle off is saved", func(t *testing.T) {
		admin.redirected(t, admin.post(t, spendPath, spendForm(false, "12.50", "7", "")), spendPath, false)
		e.wantSpendState(t, "acme", spendState{spend: billing.SpendSettings{DailyBudget: money.MustParse("12.5"), EmailThreshold: money.Dollars(7)}})
	})

	t.Run("an empty budget means no daily limit", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath, spendForm(true, "", "7", "")), spendPath, false)
		got := e.spendState(t, "acme").spend
		if got != (billing.SpendSettings{Enabled: true, EmailThreshold: money.Dollars(7)}) {
			t.Errorf("saved %+v, want on with no budget", got)
		}
		acct, err := e.store.Account(t.Context(), "acme", lateInMonth)
		if err != nil {
			t.Fatal(err)
		}
		if f := acct.Figures(); f.DailyLimitOn {
			t.Errorf("an empty budget leaves a daily limit on: %+v", f)
		}
		if !strings.Contains(page.body, `name="daily_budget" aria-describedby="daily_budget-hint" value=""`) {
			t.Error("the budget field is not empty")
		}
	})

	saved := spendState{spend: billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(20), EmailThreshold: money.Dollars(10)}}
	admin.redirected(t, admin.post(t, spendPath, spendForm(true, "20", "10", "")), spendPath, false)

	t.Run("a bad amount gets a message at its field, keeps what was typed and saves nothing", func(t *testing.T) {
		for _, field := range []string{"daily_budget", "email_threshold"} {
			empty := map[string]string{"daily_budget": "no daily budget", "email_threshold": "no email"}[field]
			for typed, msg := range map[string]string{
				"abc":        "“abc” is not an amount in dollars: enter it like 25 or 25.50.",
				"-1":         "-$1.00 is below the $0.01 minimum: leave the field empty for " + empty + ".",
				"0.001":      "0.001 has more than two decimals: enter whole cents, like 0.00.",
				"0":          "$0.00 is below the $0.01 minimum: leave the field empty for " + empty + ".",
				"1000000.01": "$1,000,000.01 is above the $1,000,000 maximum.",
			} {
				form := spendForm(false, "30", "5", "")
				form.Set(field, typed)
				res := admin.post(t, spendPath, form)
				if res.status != http.StatusUnprocessableEntity {
					t.Errorf("%s %q: status %d, want 422", field, typed, res.status)
					continue
				}
				if got, _ := element(res.body, field+"-error"); got != msg {
					t.Errorf("%s %q: message at the field %q, want %q", field, typed, got, msg)
				}
				for _, other := range []string{"daily_budget", "email_threshold"} {
					if other != field {
						if _, ok := element(res.body, other+"-error"); ok {
							t.Errorf("%s %q: a message at %s too", field, typed, other)
						}
						if want := `name="` + other + `" aria-describedby="` + other + `-hint" value="` + form.Get(other) + `"`; !strings.Contains(res.body, want) {
							t.Errorf("%s %q: %s lost what was typed (%q)", field, typed, other, form.Get(other))
						}
					}
				}
				if !strings.Contains(res.body, fieldControl(field, typed)) {
					t.Errorf("%s %q: the field is not marked invalid with what was typed", field, typed)
				}
				if !strings.Contains(res.body, `<input id="enabled" name="enabled" aria-describedby="enabled-hint" type="checkbox" value="on">`) {
					t.Errorf("%s %q: the toggle does not keep what was typed (off)", field, typed)
				}
				if k, _ := flash(res.body); k == "success" {
					t.Errorf("%s %q: a success flash", field, typed)
				}
				e.wantSpendState(t, "acme", saved)
			}
		}
	})

	t.Run("a webhook URL that is not https to a public host is refused at its field, and nothing is saved", func(t *testing.T) {
		for _, c := range []struct{ url, msg string }{
			{"http://example.com/hook", "Plain http:// is allowed only for a loopback address"},
			{"https://10.0.0.1/hook", "must not point to a private, loopback or reserved address (10.0.0.1)"},
			{"https://192.168.1.20/hook", "must not point to a private, loopback or reserved address (192.168.1.20)"},
			{"https://169.254.169.254/latest/meta-data", "must not point to a private, loopback or reserved address (169.254.169.254)"},
			{"https://100.64.0.1/hook", "must not point to a private, loopback or reserved address (100.64.0.1)"},
			{"https://[fd00::1]/hook", "must not point to a private, loopback or reserved address (fd00::1)"},
			{"https://user:secret@127.0.0.1/hook", "must not contain a user name or password"},
			{"ftp://example.com/hook", "must start with https://"},
			{"https:///hook", "needs a host"},
		} {
			res := admin.post(t, spendPath, spendForm(true, "30", "5", c.url))
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", c.url, res.status)
				continue
			}
			if got, _ := element(res.body, "webhook_url-error"); !strings.Contains(got, c.msg) {
				t.Errorf("%s: message at the field %q, want one saying %q", c.url, got, c.msg)
			}
			if want := `name="webhook_url" aria-invalid="true" aria-describedby="webhook_url-hint webhook_url-error" type="url" value="` + stdhtml.EscapeString(c.url) + `"`; !strings.Contains(res.body, want) {
				t.Errorf("%s: the field is not marked invalid with what was typed", c.url)
			}
			if !strings.Contains(res.body, fieldControlValid("daily_budget", "30")) {
				t.Errorf("%s: the budget lost what was typed", c.url)
			}
			if _, ok := shownSecret(t, res.body); ok {
				t.Errorf("%s: a signing secret is shown", c.url)
			}
			e.wantSpendState(t, "acme", saved)
		}
	})

	var secret string
	t.Run("the first webhook URL gets a signing secret that an admin reveals on the page, never in a cookie or URL", func(t *testing.T) {
		post := admin.post(t, spendPath, spendForm(true, "20", "10", rcv.url()))
		res := admin.redirected(t, post, spendPath, false)
		wantFlash(t, res, "success", "Spend Management is saved. Your webhook has a signing secret: reveal it under Webhook to copy it.")
		var ok bool
		if secret, ok = shownSecret(t, res.body); !ok {
			t.Fatalf("no #signing-secret:\n%s", res.text())
		}
		saved.hook = store.WebhookEndpoint{URL: rcv.url(), Secret: secret}
		e.wantSpendState(t, "acme", saved)
		if !regexp.MustCompile(`<details class="secret"><summary>Reveal signing secret</summary><p><code id="signing-secret">`).MatchString(res.body) {
			t.Error("the secret is not behind Reveal signing secret")
		}
		if cc := res.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("the page with the secret may be cached: Cache-Control %q", cc)
		}
		key := strings.TrimPrefix(secret, "whsec_")[:16]
		for _, c := range admin.cookies() {
			if strings.Contains(c.Value, key) {
				t.Errorf("cookie %s holds the secret", c.Name)
			}
		}
		if strings.Contains(post.header.Get("Location"), key) {
			t.Error("the redirect's URL holds the secret")
		}
		viewer := e.signIn("acme", "viewer@acme.test", "viewer").get(spendPath)
		if _, ok := shownSecret(t, viewer.body); ok || strings.Contains(viewer.body, key) {
			t.Error("a viewer's page reveals the secret")
		}

		page := admin.get(spendPath)
		if again, _ := shownSecret(t, page.body); again != secret {
			t.Errorf("a reload reveals %q, want the same secret", again)
		}
		for _, want := range []string{`type="url" value="` + rcv.url() + `"`, "<code>" + rcv.url() + "</code>",
			`action="/billing/spend-management/test"`, `action="/billing/spend-management/rotate-secret"`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
	})

	t.Run("changing the URL keeps the secret", func(t *testing.T) {
		other := rcv.srv.URL + "/other"
		page := admin.redirected(t, admin.post(t, spendPath, spendForm(true, "20", "10", other)), spendPath, false)
		wantFlash(t, page, "success", "Spend Management is saved.")
		if got, _ := shownSecret(t, page.body); got != secret {
			t.Errorf("the page reveals %q, want the same secret", got)
		}
		e.wantSpendState(t, "acme", spendState{spend: saved.spend, hook: store.WebhookEndpoint{URL: other, Secret: secret}})
		admin.redirected(t, admin.post(t, spendPath, spendForm(true, "20", "10", rcv.url())), spendPath, false)
	})

	t.Run("rotating asks first, redirects so that a reload cannot rotate again, and both secrets sign for 24 hours", func(t *testing.T) {
		page := admin.get(spendPath)
		if !regexp.MustCompile(`<details class="confirm"><summary class="btn btn-secondary btn-sm">Rotate signing secret</summary><div class="confirm-body"><p>[^<]*24 hours[^<]*</p><form class="inline" method="post" action="/billing/spend-management/rotate-secret">`).MatchString(page.body) {
			t.Error("Rotate signing secret does not open a confirmation that says what happens")
		}
		res := admin.redirected(t, admin.post(t, spendPath+"/rotate-secret", nil), spendPath, false)
		until := lateInMonth.Add(24 * time.Hour).Format("Jan 2, 2006 15:04 UTC")
		wantFlash(t, res, "success", "The signing secret is rotated. Deliveries are signed with the new secret, and until "+until+" with the old one too")
		rotated, ok := shownSecret(t, res.body)
		if !ok || rotated == secret {
			t.Fatalf("the page reveals %q (shown: %v), want a new secret, not %q", rotated, ok, secret)
		}
		if got, _ := element(res.body, "previous-secret"); !strings.Contains(got, until) {
			t.Errorf("#previous-secret %q, want it to say the old secret signs until %s", got, until)
		}
		saved.hook.Secret = rotated
		e.wantSpendState(t, "acme", saved)
		if again, _ := shownSecret(t, admin.get(spendPath).body); again != rotated {
			t.Error("a reload changed the secret")
		}

		rcv.setSecret(rotated)
		page = admin.redirected(t, admin.post(t, spendPath+"/test", nil), spendPath, false)
		wantFlash(t, page, "success", "The test event was delivered.")
		reqs := rcv.requests()
		if len(reqs) != 1 {
			t.Fatalf("the receiver got %d requests, want 1", len(reqs))
		}
		if err := verifyWebhook(rotated, reqs[0].header, reqs[0].body, lateInMonth); err != nil {
			t.Errorf("not signed with the rotated secret: %v", err)
		}
		if err := verifyWebhook(secret, reqs[0].header, reqs[0].body, lateInMonth); err != nil {
			t.Errorf("not signed with the old secret within 24 hours of the rotation: %v", err)
		}
	})

	t.Run("removing the URL removes the webhook, its secret and its buttons", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath, spendForm(true, "20", "10", "")), spendPath, false)
		wantFlash(t, page, "success", "Spend Management is saved.")
		saved.hook = store.WebhookEndpoint{}
		e.wantSpendState(t, "acme", saved)
		for _, gone := range []string{"Rotate signing secret", "Send test event", rcv.url()} {
			if strings.Contains(page.body, gone) {
				t.Errorf("the page still shows %q", gone)
			}
		}
		wantFlash(t, admin.redirected(t, admin.post(t, spendPath+"/rotate-secret", nil), spendPath, false), "error", "Set a webhook URL first.")
		e.wantSpendState(t, "acme", saved)
	})

	t.Run("a URL set again after removal gets a new secret", func(t *testing.T) {
		again := admin.saveWebhook(t, saved.spend, rcv.url())
		if again == secret || again == saved.hook.Secret {
			t.Error("the secret of the removed webhook came back")
		}
		e.wantSpendState(t, "acme", spendState{spend: saved.spend, hook: store.WebhookEndpoint{URL: rcv.url(), Secret: again}})
	})
}

// fieldControlValid is the start of a money input's markup holding value,
// with no error at it.
func fieldControlValid(id, value string) string {
	return `name="` + id + `" aria-describedby="` + id + `-hint" value="` + stdhtml.EscapeString(value) + `"`
}

func TestSpendTestEvent(t *testing.T) {
	// The notifier's clock moves, so deliveries have an order.
	clk := timetest.NewClock(lateInMonth)
	e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
		d.Now = clk.Now
		d.Notify = notify.New(d.Store, notify.NewOutbox(d.Store, clk.Now), nil, clk.Now, d.Log, true)
	})
	e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	rcv := newHookReceiver(t, clk.Now)

	t.Run("with no webhook URL, Send test event says to set one first", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath+"/test", nil), spendPath, false)
		wantFlash(t, page, "error", "Set a webhook URL first, then send a test event.")
		if rows := deliveryRows(page.body); len(rows) != 0 {
			t.Errorf("deliveries %+v, want none", rows)
		}
	})

	rcv.setSecret(admin.saveWebhook(t, billing.SpendSettings{}, rcv.url()))

	t.Run("a receiver verifying the signature with the shown secret gets the test event, and Recent deliveries lists it", func(t *testing.T) {
		page := admin.redirected(t, admin.post(t, spendPath+"/test", nil), spendPath, false)
		wantFlash(t, page, "success", "The test event was delivered.")
		reqs := rcv.requests()
		if len(reqs) != 1 {
			t.Fatalf("the receiver got %d requests, want 1", len(reqs))
		}
		d := reqs[0].detail(t)
		if d["type"] != "webhook.test" || d["org_id"] != "acme" || d["day"] != billing.Day(lateInMonth) || d["occurred_at"] != lateInMonth.Format(time.RFC3339) {
			t.Errorf("test event %s", reqs[0].body)
		}
		if id := reqs[0].header.Get("webhook-id"); !strings.HasPrefix(id, "acme:"+billing.Day(lateInMonth)+":test:") {
			t.Errorf("webhook-id %q", id)
		}
		want := deliveryRow{lateInMonth.Format(time.RFC3339), "webhook.test", "webhook", "badge badge-green", "delivered", "200", "1"}
		if rows := deliveryRows(page.body); len(rows) != 1 || rows[0] != want {
			t.Errorf("deliveries %+v, want [%+v]", rows, want)
		}
	})

	t.Run("a receiver answering 500 gives an error naming it, and a failed row with the code, newest first", func(t *testing.T) {
		clk.Advance(time.Minute)
		rcv.setStatus(http.StatusInternalServerError)
		page := admin.redirected(t, admin.post(t, spendPath+"/test", nil), spendPath, false)
		if k, msg := flash(page.body); k != "error" || msg != "The test event was not delivered: The endpoint answered 500 Internal Server Error. See Recent deliveries." {
			t.Errorf("flash %s %q", k, msg)
		}
		want := []deliveryRow{
			{clk.Now().Format(time.RFC3339), "webhook.test", "webhook", "badge badge-red", "failed", "500", "1"},
			{lateInMonth.Format(time.RFC3339), "webhook.test", "webhook", "badge badge-green", "delivered", "200", "1"},
		}
		if rows := deliveryRows(page.body); fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("deliveries %+v, want %+v", rows, want)
		}
		if !strings.Contains(page.body, `<td data-label="Reason">The endpoint answered 500 Internal Server Error.</td>`) {
			t.Error("the failed delivery's row does not say why it failed")
		}
		if n := len(rcv.requests()); n != 2 {
			t.Errorf("the receiver got %d requests, want 2 (a test is not retried)", n)
		}
	})

	t.Run("a receiver that cannot verify the signature refuses it, and the page says so", func(t *testing.T) {
		clk.Advance(time.Minute)
		rcv.setStatus(http.StatusOK)
		rcv.setSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte("not the secret the page showed!!")))
		page := admin.redirected(t, admin.post(t, spendPath+"/test", nil), spendPath, false)
		wantFlash(t, page, "error", "The endpoint answered 401 Unauthorized.")
		if rows := deliveryRows(page.body); len(rows) != 3 || rows[0].code != "401" {
			t.Errorf("deliveries %+v, want a failed 401 first", rows)
		}
	})
}

func TestSpendViewerAndOtherOrganisations(t *testing.T) {
	e := newEnv(t, lateInMonth)
	plan := e.seed()
	admin := e.signIn("acme", "you@acme.test", "admin")
	rcv := newHookReceiver(t, func() time.Time { return lateInMonth })
	rcv.setSecret(admin.saveWebhook(t, plan.Spend, rcv.url()))
	wantFlash(t, admin.redirected(t, admin.post(t, spendPath+"/test", nil), spendPath, false), "success", "delivered")
	acme := e.spendState(t, "acme")
	sent := len(rcv.requests())

	viewer := e.signIn("acme", "viewer@acme.test", "viewer")

	t.Run("a viewer sees the page and its figures, a disabled Save button and why, and no webhook buttons", func(t *testing.T) {
		res := viewer.get(spendPath)
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		if !readOnlyForm(res.body, "Save Changes") {
			t.Error("the fields and the Save Changes button are not disabled")
		}
		if !strings.Contains(res.text(), "Only admins can change Spend Management.") {
			t.Error("the page does not say only admins can change it")
		}
		for _, gone := range []string{"Rotate signing secret", "Send test event", "/rotate-secret", `action="/billing/spend-management/test"`} {
			if strings.Contains(res.body, gone) {
				t.Errorf("a viewer sees %q", gone)
			}
		}
		if got, _ := element(res.body, "consumed-today"); got != plan.Usage[billing.Day(lateInMonth)].Display() {
			t.Errorf("a viewer sees today's usage %q", got)
		}
		if _, ok := shownSecret(t, res.body); ok || strings.Contains(res.body, strings.TrimPrefix(acme.hook.Secret, "whsec_")) {
			t.Error("a viewer sees the signing secret")
		}
	})

	t.Run("a viewer gets 403 on every change, and nothing changes", func(t *testing.T) {
		for path, form := range map[string]url.Values{
			spendPath:                    spendForm(false, "1", "1", ""),
			spendPath + "/rotate-secret": nil,
			spendPath + "/test":          nil,
		} {
			res := viewer.post(t, path, form)
			if res.status != http.StatusForbidden {
				t.Errorf("POST %s: status %d, want 403", path, res.status)
			}
			if !strings.Contains(res.text(), "Viewers can see billing but not change it.") {
				t.Errorf("POST %s: the answer does not say why", path)
			}
		}
		e.wantSpendState(t, "acme", acme)
		if n := len(rcv.requests()); n != sent {
			t.Errorf("a viewer's test event reached the receiver (%d requests, want %d)", n, sent)
		}
	})

	t.Run("another organisation never sees acme's webhook URL, deliveries or usage", func(t *testing.T) {
		other := e.signIn("globex", "you@globex.test", "admin")
		res := other.get(spendPath)
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		for _, leak := range []string{rcv.url(), rcv.srv.URL, "webhook.test", strings.TrimPrefix(acme.hook.Secret, "whsec_"), "Rotate signing secret"} {
			if strings.Contains(res.body, leak) {
				t.Errorf("globex sees acme's %q", leak)
			}
		}
		if rows := deliveryRows(res.body); len(rows) != 0 {
			t.Errorf("globex sees deliveries %+v", rows)
		}
		for _, id := range []string{"consumed-today", "consumed-yesterday"} {
			if got, _ := element(res.body, id); got != "$0.00" {
				t.Errorf("globex's #%s is %q, want $0.00", id, got)
			}
		}
		if desc, _ := element(res.body, "usage-chart-desc"); !strings.Contains(desc, "$0.00 in total") {
			t.Errorf("globex's chart shows usage: %q", desc)
		}
	})

	t.Run("another organisation's changes never reach acme's settings or webhook, even naming acme in the form", func(t *testing.T) {
		other := e.signIn("globex", "you@globex.test", "admin")
		wantFlash(t, other.redirected(t, other.post(t, spendPath+"/test", url.Values{"org_id": {"acme"}}), spendPath, false),
			"error", "Set a webhook URL first")
		wantFlash(t, other.redirected(t, other.post(t, spendPath+"/rotate-secret", url.Values{"org_id": {"acme"}}), spendPath, false),
			"error", "Set a webhook URL first.")
		form := spendForm(true, "1", "", "")
		form.Set("org_id", "acme")
		other.redirected(t, other.post(t, spendPath, form), spendPath, false)
		e.wantSpendState(t, "acme", acme)
		if got := e.spendState(t, "globex").spend; got != (billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(1)}) {
			t.Errorf("globex's own settings %+v were not saved", got)
		}
		if n := len(rcv.requests()); n != sent {
			t.Errorf("globex's test event reached acme's receiver (%d requests, want %d)", n, sent)
		}
	})
}
