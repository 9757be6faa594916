package web_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
)

// logCapture is every line the handlers log, at every level, as text (the
// local server's format) and as JSON (Lambda's).
type logCapture struct {
	text, json logtest.Buffer
	log        *slog.Logger
}

func newLogCapture() *logCapture {
	c := &logCapture{}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	c.log = slog.New(slog.NewMultiHandler(slog.NewTextHandler(&c.text, opts), slog.NewJSONHandler(&c.json, opts)))
	return c
}

// sandbox makes d log to the capture, with the sandbox payment provider and
// every service that logs rebuilt on the captured logger.
func (c *logCapture) sandbox(d *web.Deps) {
	d.Log = c.log
	bus := events.NewBus(c.log)
	d.Payments = payments.NewService(d.Store, sandbox.New(d.Store, d.Now, "/billing/credits/checkout/"), d.Now, c.log)
	d.Usage = usage.NewService(d.Store, bus, d.Now, c.log)
	d.Notify = notify.New(d.Store, notify.NewOutbox(d.Store, d.Now), nil, d.Now, c.log, true)
	d.Recharge = recharge.New(d.Store, d.Payments, bus, d.Now, c.log)
	d.Invoicing = invoicing.New(d.Store, d.Payments, d.Now, c.log)
}

// cookieValue returns the value of the browser's cookie name for path.
func (b *browser) cookieValue(t *testing.T, name, path string) string {
	t.Helper()
	u, err := url.Parse(b.e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("the browser has no cookie %s for %s", name, path)
	return ""
}

// callAPI sends a usage API request with the Authorization header authz.
func (e *env) callAPI(t *testing.T, method, path, authz, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// wantStatus fails when res has another status: a flow that did not run
// proves nothing about its logs.
func wantStatus(t *testing.T, what string, res response, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, res.status, status, res.text())
	}
}

var stripeSignaturePattern = regexp.MustCompile(`v1=([0-9a-f]{64})`)

func TestLogsHoldNoSecrets(t *testing.T) {
	logs := newLogCapture()
	// secrets names each value that must never reach the logs.
	secrets := map[string]string{}

	const (
		cardNumber   = "4242424242424242"
		spacedNumber = "4000 0000 0000 0002"
		cvc          = "731"
		otherCVC     = "482"
	)
	cvcs := []string{cvc, otherCVC}

	t.Run("cards, Spend Management webhooks and the usage API", func(t *testing.T) {
		usageKey := "uk_" + randomToken()
		secrets["usage API bearer key"] = usageKey
		e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
			logs.sandbox(d)
			d.UsageAPIKey = usageKey
		})
		e.seed()
		admin := e.signIn("acme", "you@acme.test", "admin")
		secrets["session cookie"] = admin.cookieValue(t, auth.CookieName, "/billing")

		wantStatus(t, "adding a card", admin.post(t, "/billing/payment-methods/new", cardForm("Ada Lovelace", cardNumber, "12", laterExpYear, cvc)), http.StatusSeeOther)
		admin.post(t, "/billing/payment-methods/new", cardForm("Ada Lovelace", spacedNumber, "12", laterExpYear, otherCVC))
		admin.post(t, "/billing/payment-methods/new", cardForm("Ada Lovelace", "4242 4242 4242 4241", "12", laterExpYear, cvc))
		admin.post(t, "/billing/payment-methods/new", cardForm("Ada Lovelace", cardNumber, "13", laterExpYear, "7"))
		var card string
		for _, c := range admin.cards(t) {
			if strings.Contains(c.label, "4242") {
				card = c.id
			}
		}
		token, _ := admin.creditsForm(t)
		admin.payCredits(t, url.Values{"token": {token}, "amount": {"20"}, "method": {card}})

		rcv := newHookReceiver(t, func() time.Time { return lateInMonth })
		secrets["webhook signing secret"] = admin.saveWebhook(t, billing.SpendSettings{}, rcv.url())
		rotate := admin.redirected(t, admin.post(t, spendPath+"/rotate-secret", nil), spendPath, false)
		rotated, ok := shownSecret(t, rotate.body)
		if !ok {
			t.Fatal("rotating shows no secret")
		}
		secrets["rotated webhook signing secret"] = rotated
		rcv.setSecret(rotated)
		admin.post(t, spendPath+"/test", nil)
		for i, r := range rcv.requests() {
			secrets["customer webhook signature "+strconv.Itoa(i)] = r.header.Get("webhook-signature")
		}

		body := `{"events":[{"id":"log-1","org_id":"acme","amount":"0.0025","description":"log test","time":"` + lateInMonth.Format(time.RFC3339) + `"}]}`
		wantStatus(t, "recording usage", e.callAPI(t, http.MethodPost, "/v1/usage", "Bearer "+usageKey, body), http.StatusOK)
		wantStatus(t, "asking for an allowance", e.callAPI(t, http.MethodGet, "/v1/allowance?org_id=acme", "Bearer "+usageKey, ""), http.StatusOK)
		wrongKey := "uk_" + randomToken()
		secrets["wrong bearer key"] = wrongKey
		wantStatus(t, "a wrong bearer key", e.callAPI(t, http.MethodPost, "/v1/usage", "Bearer "+wrongKey, body), http.StatusUnauthorized)
	})

	t.Run("Stripe webhooks", func(t *testing.T) {
		key := make([]byte, 24)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
		whsec := "whsec_" + base64.StdEncoding.EncodeToString(key)
		secrets["Stripe webhook secret"] = whsec
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}))
		t.Cleanup(api.Close)
		e := newEnvWith(t, lateInMonth, func(d *web.Deps) {
			d.Log = logs.log
			d.Payments = payments.NewService(d.Store, stripeprovider.New(stripetest.Client(api.URL, api.Client())), d.Now, logs.log)
			d.StripeWebhookSecret = whsec
			d.StripeEvents = stripeprovider.NewEvents(d.Payments, d.Store, d.Now, logs.log)
		})
		e.signIn("acme", "you@acme.test", "admin")
		payload := paymentSucceeded(t, "evt_log_1", "pi_log_1", 2500)
		good, forged := sign(payload, whsec), sign(payload, "whsec_"+randomToken())
		wantStatus(t, "a signed webhook", e.deliver(payload, good), http.StatusOK)
		wantStatus(t, "a forged webhook", e.deliver(payload, forged), http.StatusBadRequest)
		secrets["Stripe-Signature header"] = good
		for i, m := range stripeSignaturePattern.FindAllStringSubmatch(good+","+forged, -1) {
			secrets["Stripe-Signature v1 "+strconv.Itoa(i)] = m[1]
		}
	})

	t.Run("OIDC sign-in and sign-out", func(t *testing.T) {
		e := newOIDCEnv(t, oidcOptions{log: logs.log})
		secrets["OIDC client secret"] = oidcClientSecret
		e.idp.signInAs(member("logco", "you@logco.test", "admin"))
		b := e.browser()
		authURL := e.startSignIn(t, b, "/billing/tax")
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			secrets["OIDC "+k] = authURL.Query().Get(k)
		}
		secrets["OIDC sign-in cookie"] = b.cookieValue(t, auth.SignInCookieName, "/auth/callback")
		e.wantSignedIn(t, b, b.visit(t, e.authorize(t, b, authURL).String()), "/billing/tax", "logco", "you@logco.test", billing.RoleAdmin)
		secrets["OIDC session cookie"] = b.cookieValue(t, auth.CookieName, "/billing")
		wantStatus(t, "signing out", b.do(http.MethodPost, "/auth/logout", sameOrigin()), http.StatusSeeOther)

		e.idp.setTamper(func(c map[string]any) { c["nonce"] = "n" })
		refused := e.browser()
		wantStatus(t, "a sign-in with another nonce", e.signInOIDC(t, refused, ""), http.StatusForbidden)
		e.idp.setTamper(nil)
		e.idp.setSignKey(newRSAKey(t))
		wantStatus(t, "a sign-in signed with another key", e.signInOIDC(t, e.browser(), ""), http.StatusForbidden)
		for i, s := range e.idp.issued() {
			secrets["OIDC code, token or verifier "+strconv.Itoa(i)] = s
		}
	})

	text, js := logs.text.String(), logs.json.String()
	t.Run("the capture holds the log lines of every flow", func(t *testing.T) {
		for _, path := range []string{"/billing/payment-methods/new", "/billing/credits", spendPath + "/rotate-secret", spendPath + "/test",
			"/v1/usage", "/webhooks/stripe", "/auth/login", "/auth/callback", "/auth/logout"} {
			if !strings.Contains(text, "path="+path+" ") || !strings.Contains(js, `"path":"`+path+`"`) {
				t.Errorf("no request line for %s", path)
			}
		}
		if !strings.Contains(text, "sign-in refused") || !strings.Contains(text, "stripe webhook refused") {
			t.Error("the refusals are not logged")
		}
	})

	t.Run("no secret, card number or CVC reaches the logs", func(t *testing.T) {
		secrets["card number"] = cardNumber
		secrets["spaced card number"] = spacedNumber
		secrets["card number without spaces"] = strings.ReplaceAll(spacedNumber, " ", "")
		for name, s := range secrets {
			if len(s) < 8 {
				t.Errorf("%s %q is too short to search the logs for", name, s)
				continue
			}
			forms := []string{s}
			if enc, err := json.Marshal(s); err == nil {
				forms = append(forms, strings.Trim(string(enc), `"`))
			}
			if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
				forms = append(forms, rest)
			}
			for _, f := range forms {
				if strings.Contains(text, f) || strings.Contains(js, f) {
					t.Errorf("the logs hold the %s", name)
				}
			}
		}
		// A CVC is too short to search for as text: look for it as a
		// word of any value of a JSON log line.
		sc := bufio.NewScanner(strings.NewReader(js))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("a log line is not JSON: %v\n%s", err, sc.Text())
			}
			for _, word := range words(line) {
				if slices.Contains(cvcs, word) {
					t.Errorf("a log line holds a CVC: %s", sc.Text())
				}
			}
		}
	})
}

// words returns the words (runs of letters and digits) of every string
// value in v.
func words(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = strings.FieldsFunc(v, func(r rune) bool {
			return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})
	case map[string]any:
		for _, x := range v {
			out = append(out, words(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, words(x)...)
		}
	}
	return out
}
