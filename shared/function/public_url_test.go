package function_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/stripeprovider"
	"github.com/acme/billing/shared/payments/stripetest"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
)

const (
	publicURL = "https://billing.example.com"
	// apiHost is the Host every request has behind CloudFront: API
	// Gateway's own domain, where the customer has no session.
	apiHost = "abc123.execute-api.eu-west-1.amazonaws.com"
)

// stripeRequest is one request the Stripe client sent to stripe-mock.
type stripeRequest struct {
	path string
	form url.Values
}

// stripeRecorder records the requests to stripe-mock.
type stripeRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []stripeRequest
}

func (r *stripeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var form url.Values
	if req.Body != nil {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		form, _ = url.ParseQuery(string(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, stripeRequest{path: req.URL.Path, form: form})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *stripeRecorder) find(path string) (stripeRequest, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.reqs {
		if q.path == path {
			return q, true
		}
	}
	return stripeRequest{}, false
}

// sesCapture is a loopback SESv2 endpoint (POST /v2/email/outbound-emails)
// keeping the text of each email the real SDK client sends.
func sesCapture(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var (
		mu    sync.Mutex
		texts []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Content struct {
				Simple struct {
					Body struct{ Text struct{ Data string } }
				}
			}
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		texts = append(texts, body.Content.Simple.Body.Text.Data)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"MessageId":"m-1"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), texts...)
	}
}

// absoluteURL finds absolute URLs in a body or header value.
var absoluteURL = regexp.MustCompile(`https?://[^\s"'<>]+`)

// TestPublicOrigin serves requests as API Gateway delivers them behind
// CloudFront, with the execute-api domain as Host, and checks that every
// redirect, every absolute URL sent to Stripe or the identity provider and
// every link in an email starts with PUBLIC_URL, never that Host.
func TestPublicOrigin(t *testing.T) {
	ctx := t.Context()
	db := storetest.New(t)
	st := db.Store(nil)
	if _, err := demo.Seed(ctx, st, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetCustomerID(ctx, demo.OrgID, "cus_123"); err != nil {
		t.Fatal(err)
	}
	idp, _ := discoveryServer(t)
	ses, emails := sesCapture(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SESV2": ses.URL, "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
	deps, err := function.Deps(ctx, "credits", withVars(env(db), map[string]string{
		"PUBLIC_URL": publicURL, "OIDC_ISSUER": idp.URL, "OIDC_CLIENT_ID": "client-123", "EMAIL_FROM": "billing@example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	// The deployed function talks to Stripe; here the same provider talks to
	// stripe-mock, recording what it sends.
	api := stripetest.Mock(t)
	rec := &stripeRecorder{next: api.Client().Transport}
	deps.Payments = payments.NewService(deps.Store, stripeprovider.New(stripetest.Client(api.URL, &http.Client{Transport: rec})).WithCrypto(true), deps.Now, deps.Log)
	lambda := gateway.Handler(web.Handler(deps, web.Routes(deps)))

	admin := "billing_session=" + sessionCookie(t, db, auth.Session{OrgID: demo.OrgID, Email: "you@acme.test", Role: billing.RoleAdmin})
	// send delivers a request as API Gateway does behind CloudFront: the
	// Host is the execute-api domain, the browser's Origin the public one.
	send := func(t *testing.T, method, target, body string, header map[string]string, cookie string) awsevents.APIGatewayV2HTTPResponse {
		t.Helper()
		path, query, _ := strings.Cut(target, "?")
		e := awsevents.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: query, Body: body,
			Headers: map[string]string{"host": apiHost, "x-forwarded-proto": "https", "user-agent": "Mozilla/5.0"},
			RequestContext: awsevents.APIGatewayV2HTTPRequestContext{DomainName: apiHost, DomainPrefix: "abc123", RequestID: "req-1", Stage: "$default",
				HTTP: awsevents.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"}},
		}
		if method == http.MethodPost {
			e.Headers["content-type"] = "application/x-www-form-urlencoded"
			e.Headers["origin"] = publicURL
			e.Headers["sec-fetch-site"] = "same-origin"
		}
		for k, v := range header {
			if v == "" {
				delete(e.Headers, k)
			} else {
				e.Headers[k] = v
			}
		}
		if cookie != "" {
			e.Cookies = []string{cookie}
		}
		resp, err := lambda(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		// Nothing the customer gets names the execute-api domain.
		for k, v := range resp.Headers {
			if strings.Contains(v, apiHost) {
				t.Errorf("%s %s: header %s: %s names the execute-api domain", method, target, k, v)
			}
		}
		if strings.Contains(resp.Body, apiHost) {
			t.Errorf("%s %s: the body names the execute-api domain", method, target)
		}
		return resp
	}
	// location checks a redirect goes to a path (which the browser resolves
	// against the public origin it is on) or an absolute URL under want.
	location := func(t *testing.T, resp awsevents.APIGatewayV2HTTPResponse, want string) *url.URL {
		t.Helper()
		loc := resp.Headers["Location"]
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d, want a redirect; body %.300s", resp.StatusCode, resp.Body)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if u.IsAbs() && !strings.HasPrefix(loc, want) || !u.IsAbs() && !strings.HasPrefix(loc, "/") {
			t.Errorf("Location %s, want a path or a URL under %s", loc, want)
		}
		return u
	}

	t.Run("a page without a session sends to the sign-in by path", func(t *testing.T) {
		u := location(t, send(t, http.MethodGet, "/billing/credits", "", nil, ""), publicURL)
		if u.IsAbs() || u.Path != "/auth/login" {
			t.Errorf("Location %s, want /auth/login", u)
		}
	})

	t.Run("the OIDC redirect and the sign-out return to PUBLIC_URL", func(t *testing.T) {
		u := location(t, send(t, http.MethodGet, "/auth/login?next=%2Fbilling", "", nil, ""), idp.URL)
		if got := u.Query().Get("redirect_uri"); got != publicURL+"/auth/callback" {
			t.Errorf("redirect_uri %q, want %s/auth/callback", got, publicURL)
		}
		// A session of its own: signing out ends it.
		leaving := "billing_session=" + sessionCookie(t, db, auth.Session{OrgID: demo.OrgID, Email: "you@acme.test", Role: billing.RoleAdmin})
		u = location(t, send(t, http.MethodPost, "/auth/logout", "", nil, leaving), idp.URL)
		for _, p := range []string{"post_logout_redirect_uri", "logout_uri"} {
			if got := u.Query().Get(p); got != publicURL+"/auth/login" {
				t.Errorf("%s %q, want %s/auth/login", p, got, publicURL)
			}
		}
	})

	t.Run("a card top-up sends Stripe a return_url under PUBLIC_URL", func(t *testing.T) {
		page := send(t, http.MethodGet, "/billing/credits", "", nil, admin)
		card := regexp.MustCompile(`<option value="(pm_[^"]+)"`).FindStringSubmatch(page.Body)
		token := regexp.MustCompile(`name="token" value="([0-9a-f]{32})"`).FindStringSubmatch(page.Body)
		if page.StatusCode != http.StatusOK || card == nil || token == nil {
			t.Fatalf("status %d, no card or token in the form:\n%.2000s", page.StatusCode, page.Body)
		}
		form := url.Values{"amount": {"25"}, "method": {card[1]}, "token": {token[1]}, "confirm": {"yes"}}
		// stripe-mock's answer decides what the page says next; the URL sent
		// is what counts here.
		resp := send(t, http.MethodPost, "/billing/credits", form.Encode(), nil, admin)
		pi, ok := rec.find("/v1/payment_intents")
		if !ok {
			t.Fatalf("no payment intent was created (status %d)", resp.StatusCode)
		}
		if got := pi.form.Get("return_url"); got != publicURL+"/billing/credits/complete" {
			t.Errorf("return_url %q, want %s/billing/credits/complete", got, publicURL)
		}
		if resp.StatusCode == http.StatusSeeOther {
			location(t, resp, publicURL)
		}
	})

	t.Run("a crypto checkout sends Stripe success and cancel URLs under PUBLIC_URL", func(t *testing.T) {
		page := send(t, http.MethodGet, "/billing/credits", "", nil, admin)
		token := regexp.MustCompile(`name="token" value="([0-9a-f]{32})"`).FindStringSubmatch(page.Body)
		if token == nil {
			t.Fatal("no token in the form")
		}
		form := url.Values{"amount": {"25"}, "method": {"crypto"}, "token": {token[1]}, "confirm": {"yes"}}
		resp := send(t, http.MethodPost, "/billing/credits", form.Encode(), nil, admin)
		cs, ok := rec.find("/v1/checkout/sessions")
		if !ok {
			t.Fatalf("no checkout session was created (status %d: %.500s)", resp.StatusCode, resp.Body)
		}
		for _, p := range []string{"success_url", "cancel_url"} {
			if got := cs.form.Get(p); !strings.HasPrefix(got, publicURL+"/billing/credits?checkout=") {
				t.Errorf("%s %q, want a URL under %s/billing/credits", p, got, publicURL)
			}
		}
	})

	t.Run("HEAD answers as GET without a body", func(t *testing.T) {
		get := send(t, http.MethodGet, "/billing", "", nil, admin)
		head := send(t, http.MethodHead, "/billing", "", nil, admin)
		if get.StatusCode != http.StatusOK || head.StatusCode != http.StatusOK || head.Body != "" || get.Body == "" {
			t.Fatalf("GET %d (%d bytes), HEAD %d (%d bytes)", get.StatusCode, len(get.Body), head.StatusCode, len(head.Body))
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Content-Security-Policy", "Strict-Transport-Security"} {
			if get.Headers[h] != head.Headers[h] {
				t.Errorf("%s: GET %q, HEAD %q", h, get.Headers[h], head.Headers[h])
			}
		}
		if r := send(t, http.MethodHead, "/billing", "", nil, ""); r.StatusCode != http.StatusSeeOther || r.Body != "" {
			t.Errorf("HEAD without a session: %d, body %q", r.StatusCode, r.Body)
		}
	})

	t.Run("a form posted from PUBLIC_URL by a browser without Sec-Fetch-Site is accepted; another origin is refused", func(t *testing.T) {
		form := url.Values{"email": {"ap@acme.test"}}.Encode()
		old := send(t, http.MethodPost, "/billing/notifications", form, map[string]string{"sec-fetch-site": ""}, admin)
		if old.StatusCode == http.StatusForbidden {
			t.Errorf("a post from %s with Host %s was refused as cross-origin", publicURL, apiHost)
		}
		evil := send(t, http.MethodPost, "/billing/notifications", form, map[string]string{"sec-fetch-site": "", "origin": "https://evil.example"}, admin)
		if evil.StatusCode != http.StatusForbidden {
			t.Errorf("a post from another origin got %d, want 403", evil.StatusCode)
		}
	})

	t.Run("every link in a notification email starts with PUBLIC_URL", func(t *testing.T) {
		now := time.Now().UTC()
		d := events.Detail{ID: "acme:" + billing.Day(now) + ":budget", Type: events.TypeSpendBudget, OrgID: demo.OrgID, Day: billing.Day(now),
			Threshold: money.Dollars(1), UsedToday: money.MustParse("1.01"), OccurredAt: now}
		bus := events.NewBus(deps.Log)
		if err := bus.Publish(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := deps.Notify.Handle(ctx, bus.Published()[0]); err != nil {
			t.Fatal(err)
		}
		texts := emails()
		if len(texts) != 1 {
			t.Fatalf("%d emails sent through SES, want 1", len(texts))
		}
		links := absoluteURL.FindAllString(texts[0], -1)
		if len(links) == 0 {
			t.Fatalf("the email has no link:\n%s", texts[0])
		}
		for _, l := range links {
			if !strings.HasPrefix(l, publicURL+"/") {
				t.Errorf("the email links to %s", l)
			}
		}
	})
}
