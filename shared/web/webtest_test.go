package web_test

import (
	"crypto/rand"
	stdhtml "html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
)

// lateInMonth is the default clock of the tests; earlyInMonth is a day after
// a cycle close, where most of the demo's usage has just been invoiced. Both
// are derived from the real clock and never lie in its past: the cookie jar
// judges session expiry by the real clock (timetest.LateInMonth).
var (
	lateInMonth  = timetest.LateInMonth(time.Now())
	earlyInMonth = timetest.EarlyInMonth(time.Now())
)

// expYear and laterExpYear are card expiry years some years after the
// tests' clock, so the cards never expire.
var (
	expYear      = strconv.Itoa(lateInMonth.Year() + 4)
	laterExpYear = strconv.Itoa(lateInMonth.Year() + 5)
)

// Dates as the pages and APIs print them, of lateInMonth and the days
// around it.
func dateOf(t time.Time) string   { return t.Format("Jan 2, 2006") }
func minuteOf(t time.Time) string { return t.Format("Jan 2, 2006 15:04 UTC") }
func dayAfter(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+n, 0, 0, 0, 0, time.UTC)
}

// testUsageKey is the usage API's bearer key in newEnv.
const testUsageKey = "usage-test-key"

// env is the web layer as production builds it, on an embedded DynamoDB,
// served over loopback.
type env struct {
	t     *testing.T
	now   time.Time
	db    *storetest.DB
	store *store.Store
	srv   *httptest.Server
	// handler is what srv serves, for requests that must skip net/http's
	// own response handling.
	handler http.Handler
	log     *logtest.Buffer
}

// newEnv builds the handler the way the local server does (Routes and
// LocalRoutes behind web.Handler), plus any extra routes, at the fixed time
// now.
func newEnv(t *testing.T, now time.Time, extra ...web.Route) *env {
	t.Helper()
	return newEnvWith(t, now, nil, extra...)
}

// newEnvWith is newEnv with configure, if not nil, changing the
// dependencies before the handler is built (a Stripe provider, the
// webhook secret).
func newEnvWith(t *testing.T, now time.Time, configure func(*web.Deps), extra ...web.Route) *env {
	t.Helper()
	clock := func() time.Time { return now }
	db := storetest.New(t)
	key := make([]byte, auth.MinKeyBytes)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	sessions, err := auth.NewSessions(key, false, clock)
	if err != nil {
		t.Fatalf("new sessions: %v", err)
	}
	logs := &logtest.Buffer{}
	st := db.Store(clock)
	sessions.UseRecords(st)
	log := slog.New(slog.NewTextHandler(logs, nil))
	bus := events.NewBus(log)
	deps := web.Deps{
		Store:    st,
		Sessions: sessions,
		Now:      clock,
		Log:      log,
		Local:    true,
		NewOrg:   store.NewOrg{TrialCredits: money.Dollars(10), OverageLimit: money.Dollars(25)},
		Payments: payments.NewService(st, sandbox.New(st, clock, "/billing/credits/checkout/"), clock, log),
		Usage:    usage.NewService(st, bus, clock, log),
		Notify:   notify.New(st, notify.NewOutbox(st, clock), nil, clock, log, true),

		UsageAPIKey: testUsageKey,
	}
	deps.Recharge = recharge.New(st, deps.Payments, bus, clock, log)
	if configure != nil {
		configure(&deps)
	}
	if deps.Invoicing == nil {
		deps.Invoicing = invoicing.New(deps.Store, deps.Payments, deps.Now, log)
	}
	routes := append(web.Routes(deps), web.LocalRoutes(deps)...)
	handler := web.Handler(deps, append(routes, extra...))
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &env{t: t, now: now, db: db, store: deps.Store, srv: srv, handler: handler, log: logs}
}

// seed writes the demo organisation "acme" as of the env's time.
func (e *env) seed() demo.Plan {
	e.t.Helper()
	if _, err := demo.Seed(e.t.Context(), e.store, e.now); err != nil {
		e.t.Fatalf("seed demo: %v", err)
	}
	return demo.PlanAt(e.now)
}

// browser is a client with its own cookie jar that never follows redirects,
// so tests can assert them.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	e.t.Helper()
	// The jar judges the expiry of sessions issued at e.now by the real clock.
	timetest.RequireNotBehindReal(e.t, e.now, time.Now())
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatalf("cookie jar: %v", err)
	}
	return &browser{e: e, client: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signIn signs the browser in through /dev/login and checks it lands on
// the Overview.
func (e *env) signIn(org, email, role string) *browser {
	e.t.Helper()
	b := e.browser()
	q := url.Values{"org": {org}, "email": {email}, "role": {role}}
	res := b.get("/dev/login?" + q.Encode())
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/billing" {
		e.t.Fatalf("sign in as %s of %s: status %d, Location %q; body:\n%s", role, org, res.status, res.header.Get("Location"), res.body)
	}
	return b
}

// cookies returns the browser's cookies for the server.
func (b *browser) cookies() []*http.Cookie {
	u, err := url.Parse(b.e.srv.URL)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.client.Jar.Cookies(u)
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

// text is the body with tags removed, entities decoded and spaces squeezed.
func (r response) text() string { return plainText(r.body) }

func (b *browser) get(path string) response {
	b.e.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

func (b *browser) do(method, path string, header http.Header) response {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, nil)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

// sameOrigin is what a browser sends with a form posted from our own pages.
func sameOrigin() http.Header {
	return http.Header{"Sec-Fetch-Site": {"same-origin"}}
}

// element returns the plain text of the first element whose id is id, and
// false when there is none. It follows nesting of the element's own tag.
func element(body, id string) (string, bool) {
	open := regexp.MustCompile(`<([a-z0-9]+)\b[^>]*\sid="` + regexp.QuoteMeta(id) + `"[^>]*>`)
	loc := open.FindStringSubmatchIndex(body)
	if loc == nil {
		return "", false
	}
	tag := body[loc[2]:loc[3]]
	rest := body[loc[1]:]
	tags := regexp.MustCompile(`<(/?)` + tag + `\b[^>]*>`)
	depth := 1
	for _, m := range tags.FindAllStringSubmatchIndex(rest, -1) {
		if m[3] > m[2] {
			depth--
		} else {
			depth++
		}
		if depth == 0 {
			return plainText(rest[:m[0]]), true
		}
	}
	return "", false
}

var (
	tagPattern   = regexp.MustCompile(`<[^>]*>`)
	spacePattern = regexp.MustCompile(`\s+`)
)

// plainText strips the tags of an HTML fragment, decodes its entities and
// squeezes its spaces.
func plainText(fragment string) string {
	s := stdhtml.UnescapeString(tagPattern.ReplaceAllString(fragment, " "))
	return strings.TrimSpace(spacePattern.ReplaceAllString(s, " "))
}

// dollarAmount matches an amount shown to people, like "$1,234.57".
var dollarAmount = regexp.MustCompile(`\$[0-9]`)
