package web_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/truora/minidyn/server"
)

// usageKey is the usage API's bearer key in the local-mode tests.
const usageKey = "test-key"

// usageAPI is the usage API as production builds it (store → bus → usage
// service → web.Handler with web.Routes), on an embedded DynamoDB, served
// over loopback, at the fixed time now.
type usageAPI struct {
	t       *testing.T
	now     time.Time
	db      *storetest.DB
	store   *store.Store
	srv     *httptest.Server
	handler http.Handler
}

type usageAPIOptions struct {
	// aws builds the handler in AWS mode: IAM callers instead of the key.
	aws bool
	// fastRetries makes the DynamoDB client retry after milliseconds, not
	// the SDK's seconds, for tests of store failures.
	fastRetries bool
	// noKey leaves the local bearer key unset.
	noKey bool
}

func newUsageAPI(t *testing.T, now time.Time, opts usageAPIOptions) *usageAPI {
	t.Helper()
	clock := func() time.Time { return now }
	db := storetest.New(t)
	st := db.Store(clock)
	if opts.fastRetries {
		client := dynamodb.New(db.Client.Options(), func(o *dynamodb.Options) {
			o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(), 5*time.Millisecond)
		})
		st = store.New(client, db.Table, clock)
	}
	key := make([]byte, auth.MinKeyBytes)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	sessions, err := auth.NewSessions(key, opts.aws, clock)
	if err != nil {
		t.Fatalf("new sessions: %v", err)
	}
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	apiKey := usageKey
	if opts.noKey {
		apiKey = ""
	}
	deps := web.Deps{
		Store:       st,
		Sessions:    sessions,
		Now:         clock,
		Log:         log,
		Local:       !opts.aws,
		Usage:       usage.NewService(st, events.NewBus(log), clock, log),
		UsageAPIKey: apiKey,
	}
	handler := web.Handler(deps, web.Routes(deps))
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	for _, org := range []string{"acme", "initech"} {
		err := st.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: org, Name: org}, TrialCredits: money.Dollars(100), OverageLimit: money.Dollars(10)})
		if err != nil {
			t.Fatalf("create org %s: %v", org, err)
		}
	}
	return &usageAPI{t: t, now: now, db: db, store: st, srv: srv, handler: handler}
}

// as returns the API for a subtest: the same server and table, failing t.
func (a *usageAPI) as(t *testing.T) *usageAPI {
	c := *a
	c.t = t
	return &c
}

// call sends a request with the Authorization header auth ("" for none).
func (a *usageAPI) call(method, path, auth, body string) response {
	a.t.Helper()
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// callDirect is call without the network: the handler sees the
// Authorization header byte for byte (net/http would trim its spaces).
func (a *usageAPI) callDirect(method, path, auth, body string) response {
	a.t.Helper()
	req := httptest.NewRequestWithContext(a.t.Context(), method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

func (a *usageAPI) post(body string) response {
	a.t.Helper()
	return a.call(http.MethodPost, "/v1/usage", "Bearer "+usageKey, body)
}

func (a *usageAPI) allowance(org string) response {
	a.t.Helper()
	return a.call(http.MethodGet, "/v1/allowance?org_id="+org, "Bearer "+usageKey, "")
}

// usagePeriod returns the organisation's Usage This Period.
func (a *usageAPI) usagePeriod(org string) money.Money {
	a.t.Helper()
	acct, err := a.store.Account(a.t.Context(), org, a.now)
	if err != nil {
		a.t.Fatalf("account %s: %v", org, err)
	}
	return acct.UsagePeriod
}

// usageBody is a POST /v1/usage body of events given as id, org, amount.
func usageBody(at time.Time, events ...[3]string) string {
	type ev struct {
		ID          string `json:"id"`
		OrgID       string `json:"org_id"`
		Amount      string `json:"amount"`
		Description string `json:"description"`
		Time        string `json:"time"`
	}
	var body struct {
		Events []ev `json:"events"`
	}
	body.Events = []ev{}
	for _, e := range events {
		body.Events = append(body.Events, ev{ID: e[0], OrgID: e[1], Amount: e[2], Description: "API call", Time: at.Format(time.RFC3339)})
	}
	b, _ := json.Marshal(body) // plain strings always marshal
	return string(b)
}

// usageAnswer is the JSON of a POST /v1/usage answer.
type usageAnswer struct {
	Results []struct {
		ID, Status, Reason, Message string
	}
	Accepted, Duplicates, Rejected, Errors int
	Allowances                             map[string]json.RawMessage
}

func decodeJSON[T any](t *testing.T, res response) T {
	t.Helper()
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var v T
	dec := json.NewDecoder(strings.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("answer %s: %v", res.body, err)
	}
	return v
}

// wantRefused expects a usage request answered 400 invalid_request with a
// message containing message, and Usage This Period still before.
func wantRefused(t *testing.T, api *usageAPI, res response, message string, before money.Money) {
	t.Helper()
	if res.status != http.StatusBadRequest {
		t.Errorf("status %d, want 400: %s", res.status, res.body)
	}
	e := decodeJSON[apiErrorAnswer](t, res)
	if e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, message) {
		t.Errorf("error %+v, want invalid_request saying %q", e.Error, message)
	}
	if got := api.usagePeriod("acme"); got != before {
		t.Errorf("Usage This Period %v, want it unchanged at %v", got, before)
	}
}

// apiErrorAnswer is the JSON of an error answer.
type apiErrorAnswer struct {
	Error struct{ Code, Message string }
}

var iamNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestUsageAPIAuth(t *testing.T) {
	base := newUsageAPI(t, lateInMonth, usageAPIOptions{})
	body := usageBody(lateInMonth, [3]string{"evt-1", "acme", "0.0025"})
	for _, auth := range []string{"", "Bearer wrong-key", "Bearer ", "Bearer", usageKey, "Basic dGVzdC1rZXk=", "Bearer  test-key", "Bearer test-key\x00", "Bearer TEST-KEY", "Bearer test-key-and-more"} {
		t.Run(fmt.Sprintf("the Authorization %q gets 401 and learns nothing", auth), func(t *testing.T) {
			api := base.as(t)
			before := api.usagePeriod("acme")
			for _, res := range []response{
				api.callDirect(http.MethodPost, "/v1/usage", auth, body),
				api.callDirect(http.MethodGet, "/v1/allowance?org_id=acme", auth, ""),
			} {
				if res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
					t.Errorf("status %d, WWW-Authenticate %q; want 401 with a challenge", res.status, res.header.Get("WWW-Authenticate"))
				}
				e := decodeJSON[apiErrorAnswer](t, res)
				if e.Error.Code != "unauthorized" || e.Error.Message != "missing or invalid credentials" {
					t.Errorf("error %+v, want unauthorized", e.Error)
				}
				for _, leak := range []string{"acme", "evt-1", "allowed", "available", "results", "key"} {
					if strings.Contains(res.body, leak) {
						t.Errorf("the 401 mentions %q: %s", leak, res.body)
					}
				}
			}
			if got := api.usagePeriod("acme"); got != before {
				t.Errorf("Usage This Period %v after unauthorized requests, want it unchanged at %v", got, before)
			}
		})
	}

	t.Run("a missing or wrong key gets 401 over the network too", func(t *testing.T) {
		api := base.as(t)
		before := api.usagePeriod("acme")
		for _, auth := range []string{"", "Bearer wrong-key", "Bearer "} {
			if res := api.call(http.MethodPost, "/v1/usage", auth, body); res.status != http.StatusUnauthorized || strings.Contains(res.body, "evt-1") {
				t.Errorf("Authorization %q: status %d, body %s; want 401 saying nothing", auth, res.status, res.body)
			}
		}
		if got := api.usagePeriod("acme"); got != before {
			t.Errorf("Usage This Period %v after unauthorized requests, want it unchanged at %v", got, before)
		}
	})

	t.Run("with no key configured no one gets in, not even with an empty key", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{noKey: true})
		for _, auth := range []string{"", "Bearer ", "Bearer " + usageKey} {
			if res := api.callDirect(http.MethodPost, "/v1/usage", auth, body); res.status != http.StatusUnauthorized {
				t.Errorf("Authorization %q: status %d, want 401", auth, res.status)
			}
		}
	})

	t.Run("the right key records the events and answers a result per event with the counts", func(t *testing.T) {
		api := base.as(t)
		res := api.post(usageBody(lateInMonth,
			[3]string{"evt-1", "acme", "0.0025"},
			[3]string{"evt-1", "acme", "0.0025"},
			[3]string{"evt-2", "globex", "1"},
			[3]string{"evt-3", "acme", "0.0000001"},
		))
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", res.status, res.body)
		}
		a := decodeJSON[usageAnswer](t, res)
		want := []string{"evt-1 accepted ", "evt-1 duplicate ", "evt-2 rejected unknown_org", "evt-3 rejected invalid_amount"}
		var got []string
		for _, r := range a.Results {
			got = append(got, r.ID+" "+r.Status+" "+r.Reason)
		}
		if !slices.Equal(got, want) || a.Accepted != 1 || a.Duplicates != 1 || a.Rejected != 2 || a.Errors != 0 {
			t.Errorf("answer %+v, want results %q, 1 accepted, 1 duplicate, 2 rejected", a, want)
		}
		if strings.Contains(res.body, `"errors"`) {
			t.Errorf("an answer without errors carries an errors count: %s", res.body)
		}
		if got := api.usagePeriod("acme"); got != money.MustParse("0.0025") {
			t.Errorf("Usage This Period %v, want 0.0025", got)
		}
	})
}

func TestUsageAPIRequests(t *testing.T) {
	base := newUsageAPI(t, lateInMonth, usageAPIOptions{})
	var hundredAndOne [][3]string
	for i := range 101 {
		hundredAndOne = append(hundredAndOne, [3]string{fmt.Sprintf("evt-%d", i), "acme", "0.000001"})
	}
	one := usageBody(lateInMonth, [3]string{"evt-1", "acme", "0.0025"})

	bad := []struct {
		name, body, message string
	}{
		{"a body that is not JSON", "events=evt-1", "body is not valid JSON"},
		{"a truncated body", one[:len(one)-3], "body must be"},
		{"no events", `{"events":[]}`, "events must hold 1 to 100 events"},
		{"an empty object", `{}`, "events must hold 1 to 100 events"},
		{"101 events", usageBody(lateInMonth, hundredAndOne...), "events must hold 1 to 100 events"},
		{"an unknown field", strings.Replace(one, `"amount"`, `"amout"`, 1), `unknown field "amout"`},
		{"an amount as a JSON number", strings.Replace(one, `"0.0025"`, `0.0025`, 1), "amount has the wrong type (amounts are strings"},
		{"a body over the limit", `{"events":[{"id":"` + strings.Repeat("x", 600<<10) + `"}]}`, "body is larger than 532 KB"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" gets 400 with a clear message and records nothing", func(t *testing.T) {
			api := base.as(t)
			before := api.usagePeriod("acme")
			res := api.post(tc.body)
			wantRefused(t, api, res, tc.message, before)
		})
	}

	t.Run("100 events are one request's worth", func(t *testing.T) {
		api := base.as(t)
		res := api.post(usageBody(lateInMonth, hundredAndOne[:100]...))
		if a := decodeJSON[usageAnswer](t, res); res.status != http.StatusOK || a.Accepted != 100 || len(a.Results) != 100 {
			t.Errorf("status %d, %d accepted of %d results; want 200 with 100 accepted", res.status, a.Accepted, len(a.Results))
		}
		if got := api.usagePeriod("acme"); got != money.MustParse("0.0001") {
			t.Errorf("Usage This Period %v, want 0.0001", got)
		}
	})

	t.Run("an amount or time that does not parse rejects that event only", func(t *testing.T) {
		api := base.as(t)
		body := `{"events":[
			{"id":"p-1","org_id":"initech","amount":"0.0025","time":"` + lateInMonth.Format(time.RFC3339) + `"},
			{"id":"p-2","org_id":"initech","amount":"0.0000001","time":"` + lateInMonth.Format(time.RFC3339) + `"},
			{"id":"p-3","org_id":"initech","amount":"1e-3","time":"` + lateInMonth.Format(time.RFC3339) + `"},
			{"id":"p-4","org_id":"initech","amount":"0.0025","time":"27/11/2026 15:04"},
			{"id":"p-5","org_id":"initech","amount":"0.0025"}]}`
		res := api.post(body)
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", res.status, res.body)
		}
		a := decodeJSON[usageAnswer](t, res)
		want := []string{"accepted ", "rejected invalid_amount", "rejected invalid_amount", "rejected invalid_time", "rejected invalid_time"}
		for i, r := range a.Results {
			if r.Status+" "+r.Reason != want[i] || (r.Status == usage.StatusRejected && r.Message == "") {
				t.Errorf("event %s: %+v, want %s with a message", r.ID, r, want[i])
			}
		}
		if got := api.usagePeriod("initech"); got != money.MustParse("0.0025") {
			t.Errorf("Usage This Period %v, want 0.0025", got)
		}
	})
}

func TestUsageAPIStoreFailure(t *testing.T) {
	base := newUsageAPI(t, lateInMonth, usageAPIOptions{fastRetries: true})
	body := usageBody(lateInMonth, [3]string{"evt-1", "acme", "0.0025"}, [3]string{"evt-2", "acme", "0.0025"})

	t.Run("a store failure while recording gets 503 with Retry-After, and the retry records each event once", func(t *testing.T) {
		api := base.as(t)
		api.db.Server.EmulateFailure(server.FailureConditionInternalServerError)
		res := api.post(body)
		api.db.Server.EmulateFailure(server.FailureConditionNone)
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
			t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", res.status, res.header.Get("Retry-After"))
		}
		a := decodeJSON[usageAnswer](t, res)
		if a.Errors != 2 || a.Accepted != 0 || len(a.Results) != 2 || a.Results[0].Status != usage.StatusError {
			t.Errorf("answer %+v, want both events in error", a)
		}
		if strings.Contains(strings.ToLower(res.body), "internal") || strings.Contains(res.body, "minidyn") {
			t.Errorf("the answer shows internal error text: %s", res.body)
		}
		res = api.post(body)
		if a := decodeJSON[usageAnswer](t, res); res.status != http.StatusOK || a.Accepted != 2 {
			t.Errorf("retry: status %d, answer %+v; want 200 with both accepted", res.status, a)
		}
		if got := api.usagePeriod("acme"); got != money.MustParse("0.005") {
			t.Errorf("Usage This Period %v, want 0.005", got)
		}
	})

	t.Run("a store failure while answering an allowance gets 503", func(t *testing.T) {
		api := base.as(t)
		api.db.Server.EmulateFailure(server.FailureConditionInternalServerError)
		res := api.allowance("acme")
		api.db.Server.EmulateFailure(server.FailureConditionNone)
		if res.status != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", res.status)
		}
		if e := decodeJSON[apiErrorAnswer](t, res); e.Error.Code != "unavailable" || e.Error.Message == "" {
			t.Errorf("error %+v, want unavailable with a message", e.Error)
		}
	})
}

func TestUsageAPIAllowance(t *testing.T) {
	// fields decodes an allowance answer keeping each field's raw JSON.
	fields := func(t *testing.T, res response) map[string]string {
		t.Helper()
		raw := decodeJSON[map[string]json.RawMessage](t, res)
		out := map[string]string{}
		for k, v := range raw {
			out[k] = string(v)
		}
		return out
	}
	want := func(t *testing.T, res response, status int, wantFields map[string]string) {
		t.Helper()
		if res.status != status {
			t.Errorf("status %d, want %d: %s", res.status, status, res.body)
		}
		got := fields(t, res)
		if fmt.Sprint(got) != fmt.Sprint(wantFields) {
			t.Errorf("answer %v, want %v", got, wantFields)
		}
	}

	t.Run("an allowed organisation gets allowed, available as a decimal string and an empty reason", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		api.post(usageBody(lateInMonth, [3]string{"evt-1", "acme", "0.000123"}))
		want(t, api.allowance("acme"), http.StatusOK, map[string]string{"allowed": "true", "available": `"109.999877"`, "reason": `""`})
	})

	t.Run("the daily limit blocks the moment usage reaches the budget, until the next UTC midnight", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		sp := billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(2), EmailThreshold: money.Dollars(1)}
		if err := api.store.SetSpendSettings(t.Context(), "acme", sp); err != nil {
			t.Fatal(err)
		}
		api.post(usageBody(lateInMonth, [3]string{"evt-1", "acme", "1.999999"}))
		want(t, api.allowance("acme"), http.StatusOK, map[string]string{"allowed": "true", "available": `"0.000001"`, "reason": `""`})
		api.post(usageBody(lateInMonth, [3]string{"evt-2", "acme", "0.000001"}))
		want(t, api.allowance("acme"), http.StatusOK, map[string]string{
			"allowed": "false", "available": `"0.00"`, "reason": `"daily_limit_reached"`, "resets_at": `"` + dayAfter(lateInMonth, 1).Format(time.RFC3339) + `"`})
	})

	t.Run("exhausted credit gets insufficient_credits without resets_at", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		api.post(usageBody(lateInMonth, [3]string{"evt-1", "acme", "110"}))
		want(t, api.allowance("acme"), http.StatusOK, map[string]string{"allowed": "false", "available": `"0.00"`, "reason": `"insufficient_credits"`})
	})

	t.Run("an unknown organisation gets 404 with the reason unknown_org", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		res := api.allowance("globex")
		got := fields(t, res)
		if res.status != http.StatusNotFound || got["allowed"] != "false" || got["reason"] != `"unknown_org"` || got["resets_at"] != "" {
			t.Errorf("status %d, answer %v; want 404 not allowed for unknown_org", res.status, got)
		}
	})

	for _, org := range []string{"", "ACME", "acme%20corp", "-acme", strings.Repeat("a", 64)} {
		t.Run(fmt.Sprintf("the org_id %q gets 400", org), func(t *testing.T) {
			api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
			res := api.allowance(org)
			if res.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.status)
			}
			if e := decodeJSON[apiErrorAnswer](t, res); e.Error.Code != billing.RejectInvalidOrg || !strings.Contains(e.Error.Message, "org_id") {
				t.Errorf("error %+v, want invalid_org about org_id", e.Error)
			}
		})
	}
}

// iamEvent reads the IAM-authorized API Gateway event of a usage post.
func iamEvent(t *testing.T) awsevents.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile("../gateway/testdata/post-usage-iam.json")
	if err != nil {
		t.Fatal(err)
	}
	var e awsevents.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestUsageAPIInAWS(t *testing.T) {
	t.Run("without an IAM caller every request gets 401, even with the local key", func(t *testing.T) {
		api := newUsageAPI(t, iamNow, usageAPIOptions{aws: true})
		body := usageBody(iamNow, [3]string{"evt-1", "acme", "0.0025"})
		for _, auth := range []string{"", "Bearer " + usageKey} {
			if res := api.call(http.MethodPost, "/v1/usage", auth, body); res.status != http.StatusUnauthorized {
				t.Errorf("POST with Authorization %q: status %d, want 401", auth, res.status)
			}
			if res := api.call(http.MethodGet, "/v1/allowance?org_id=acme", auth, ""); res.status != http.StatusUnauthorized {
				t.Errorf("GET with Authorization %q: status %d, want 401", auth, res.status)
			}
		}
		if got := api.usagePeriod("acme"); got != 0 {
			t.Errorf("Usage This Period %v, want 0", got)
		}
	})

	t.Run("a request API Gateway authorized with IAM is recorded, and its replay is a duplicate", func(t *testing.T) {
		api := newUsageAPI(t, iamNow, usageAPIOptions{aws: true})
		serve := func() response {
			t.Helper()
			r, err := gateway.Request(t.Context(), iamEvent(t))
			if err != nil {
				t.Fatalf("gateway request: %v", err)
			}
			if gateway.IAMCaller(r.Context()) == "" {
				t.Fatal("the event's request carries no IAM caller")
			}
			rec := httptest.NewRecorder()
			api.handler.ServeHTTP(rec, r)
			return response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
		}
		res := serve()
		a := decodeJSON[usageAnswer](t, res)
		if res.status != http.StatusOK || a.Accepted != 1 || len(a.Results) != 1 || a.Results[0].ID != "evt-1" {
			t.Errorf("status %d, answer %+v; want 200 with evt-1 accepted", res.status, a)
		}
		if res := serve(); decodeJSON[usageAnswer](t, res).Duplicates != 1 {
			t.Errorf("replay: %s, want evt-1 duplicate", res.body)
		}
		if got := api.usagePeriod("acme"); got != money.MustParse("0.0025") {
			t.Errorf("Usage This Period %v, want 0.0025 once", got)
		}
	})
}

func TestUsageAPIAllowanceAfterRecording(t *testing.T) {
	// allowanceJSON is GET /v1/allowance's body for org, as compact JSON.
	allowanceJSON := func(api *usageAPI, org, query string) string {
		api.t.Helper()
		res := api.call(http.MethodGet, "/v1/allowance?org_id="+org+query, "Bearer "+usageKey, "")
		if res.status != http.StatusOK {
			api.t.Fatalf("allowance %s%s: %d %s", org, query, res.status, res.body)
		}
		return strings.TrimSpace(res.body)
	}

	t.Run("the usage answer carries each organisation's allowance after the recording, from no read of its own", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		// No email threshold: no crossing to publish on the first batch.
		sp := billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(2)}
		if err := api.store.SetSpendSettings(t.Context(), "acme", sp); err != nil {
			t.Fatal(err)
		}
		api.db.Reset()
		res := api.post(usageBody(lateInMonth, [3]string{"evt-1", "acme", "1.999999"}, [3]string{"evt-1", "initech", "0.5"}))
		got := decodeJSON[usageAnswer](t, res)
		if string(got.Allowances["acme"]) != `{"allowed":true,"available":"0.000001","reason":""}` {
			t.Errorf("acme after 1.999999 of a 2 budget: %s", got.Allowances["acme"])
		}
		if string(got.Allowances["initech"]) != `{"allowed":true,"available":"109.50","reason":""}` {
			t.Errorf("initech after 0.5 of 110: %s", got.Allowances["initech"])
		}
		ops := map[string]int{}
		for _, r := range api.db.Requests() {
			ops[r.Op]++
		}
		if want := map[string]int{"TransactWriteItems": 2, "BatchGetItem": 2}; fmt.Sprint(ops) != fmt.Sprint(want) {
			t.Errorf("DynamoDB requests %v, want %v: one write and the one read that checks thresholds, per organisation", ops, want)
		}

		res = api.post(usageBody(lateInMonth, [3]string{"evt-2", "acme", "0.000001"}))
		got = decodeJSON[usageAnswer](t, res)
		if a := string(got.Allowances["acme"]); a != allowanceJSON(api, "acme", "") || !strings.Contains(a, `"reason":"daily_limit_reached"`) {
			t.Errorf("acme at its budget: usage answer %s, allowance answer %s; want the same, refused for the daily limit", a, allowanceJSON(api, "acme", ""))
		}
		if _, ok := got.Allowances["initech"]; ok {
			t.Errorf("allowances %v: initech had no event in this batch", got.Allowances)
		}
	})

	t.Run("a batch of duplicates still carries the allowance; an unknown or rejected organisation has none", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		api.post(usageBody(lateInMonth, [3]string{"evt-1", "acme", "10"}))
		got := decodeJSON[usageAnswer](t, api.post(usageBody(lateInMonth,
			[3]string{"evt-1", "acme", "10"}, [3]string{"evt-1", "globex", "1"}, [3]string{"evt-1", "initech", "-1"})))
		if len(got.Results) != 3 || got.Results[0].Status != "duplicate" || got.Results[1].Status != "rejected" || got.Results[2].Status != "rejected" {
			t.Fatalf("results %+v, want duplicate, rejected, rejected", got.Results)
		}
		if len(got.Allowances) != 1 || string(got.Allowances["acme"]) != `{"allowed":true,"available":"100.00","reason":""}` {
			t.Errorf("allowances %v, want only acme with 100 available", got.Allowances)
		}
	})

	t.Run("consistency=eventual answers from an eventually consistent read; anything else but strong is refused", func(t *testing.T) {
		api := newUsageAPI(t, lateInMonth, usageAPIOptions{})
		api.post(usageBody(lateInMonth, [3]string{"evt-1", "acme", "0.25"}))
		api.db.Reset()
		eventual := allowanceJSON(api, "acme", "&consistency=eventual")
		reqs := api.db.Requests()
		if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"ConsistentRead":false`) {
			t.Errorf("requests %v, want one read with ConsistentRead false", reqs)
		}
		if strong := allowanceJSON(api, "acme", "&consistency=strong"); eventual != strong || !strings.Contains(strong, `"available":"109.75"`) {
			t.Errorf("eventual %s, strong %s: want the same, 109.75 available", eventual, strong)
		}
		res := api.call(http.MethodGet, "/v1/allowance?org_id=acme&consistency=later", "Bearer "+usageKey, "")
		if e := decodeJSON[apiErrorAnswer](t, res); res.status != http.StatusBadRequest || !strings.Contains(e.Error.Message, "consistency") {
			t.Errorf("consistency=later: %d %s, want 400 naming consistency", res.status, res.body)
		}
	})
}
