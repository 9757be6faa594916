package templatecheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/auth/authtest"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/function"
	"github.com/acme/billing/shared/gateway"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

// awsRecorder stands in for EventBridge, SES (SESv2) and Secrets Manager
// (the secrets it holds, by ARN) and records the actions sent to it.
type awsRecorder struct {
	mu      sync.Mutex
	actions map[string]bool
	secrets map[string]string
}

func (rec *awsRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue":
		rec.actions[getSecret] = true
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		value, ok := rec.secrets[in.SecretId]
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"no such secret"}`)
			return
		}
		out, _ := json.Marshal(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "SecretString": value, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}})
		_, _ = w.Write(out)
	case r.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents":
		rec.actions[putEvents] = true
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"FailedEntryCount":0,"Entries":[{"EventId":"e1"},{"EventId":"e2"},{"EventId":"e3"},{"EventId":"e4"},{"EventId":"e5"},{"EventId":"e6"},{"EventId":"e7"},{"EventId":"e8"},{"EventId":"e9"},{"EventId":"e10"}]}`)
	case r.Method == http.MethodPost && r.URL.Path == "/v2/email/outbound-emails":
		rec.actions[sendEmail] = true
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"MessageId":"m1"}`)
	default:
		rec.actions["unknown "+r.Header.Get("X-Amz-Target")+" "+r.Method+" "+r.URL.Path] = true
		http.Error(w, "not recorded", http.StatusBadRequest)
	}
}

// take returns the recorded actions and forgets them.
func (rec *awsRecorder) take() map[string]bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	a := rec.actions
	rec.actions = map[string]bool{}
	return a
}

// observedActions maps the DynamoDB requests a function sent to the IAM
// actions they need.
func observedActions(t *testing.T, reqs []storetest.Request) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range reqs {
		var body struct {
			IndexName     string
			TransactItems []map[string]json.RawMessage
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("%s body: %v", r.Op, err)
		}
		switch {
		case r.Op == "TransactWriteItems":
			for _, item := range body.TransactItems {
				for kind := range item {
					for _, a := range iamActions("TransactWriteItems." + kind) {
						out[a] = true
					}
				}
			}
		case r.Op == "Query" && body.IndexName != "":
			out[queryIndex] = true
		default:
			for _, a := range iamActions(r.Op) {
				out[a] = true
			}
		}
	}
	return out
}

// postBodies are the bodies TestTemplateIAMObserved posts to the routes,
// by path ({id} in a path becomes a made-up id).
var postBodies = map[string]string{
	"/billing/address":                 "company_name=Acme+Inc.&address1=1+Market+Street&city=San+Francisco&postal_code=94105&region=CA&country=US",
	"/billing/notifications":           "email=billing%40acme.test",
	"/billing/spend-management":        "enabled=on&daily_budget=30&email_threshold=20&webhook_url=",
	"/billing/auto-recharge":           "threshold=5&amount=20",
	"/billing/credits":                 "amount=10&method=crypto",
	"/billing/payment-methods/default": "id=pm_missing",
	"/billing/payment-methods/delete":  "id=pm_missing",
	"/billing/tax/new":                 "type=eu_vat&value=DE123456789",
	"/billing/spend-management/test":   "",
	// Enough usage to cross the demo's email threshold and daily budget,
	// so the usage service publishes.
	"/v1/usage": `{"events":[{"id":"observed-1","org_id":"acme","amount":"30.00","description":"observed","time":"` + time.Now().UTC().Format(time.RFC3339) + `"}]}`,
	"/billing/spend-management/rotate-secret": "",
}

// TestTemplateIAMObserved runs every deployed function the way Lambda does
// (built from template.yaml's variables, behind the API Gateway adapter or
// as its scheduled and rule-triggered job) against the embedded DynamoDB
// and stand-ins for EventBridge and SES, and checks that every AWS action
// it sent is in its calls entry, so granted (TestTemplateIAM). Calls to
// Stripe are left out (no Stripe key), so the paths after a payment are
// covered by the calls table alone.
func TestTemplateIAMObserved(t *testing.T) {
	tmpl := load(t).CFN
	env := templateEnv(t, tmpl)
	ctx := context.Background()
	now := time.Now().UTC()

	db := storetest.New(t)
	if _, err := demo.Seed(ctx, db.Store(nil), now); err != nil {
		t.Fatal(err)
	}
	rec := &awsRecorder{actions: map[string]bool{}, secrets: testSecrets()}
	aws := httptest.NewServer(rec)
	t.Cleanup(aws.Close)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL_EVENTBRIDGE", aws.URL)
	t.Setenv("AWS_ENDPOINT_URL_SESV2", aws.URL)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws.URL)

	key := testSessionKey
	cookie := authtest.Cookie(t, key, db.Store(nil), auth.Session{OrgID: demo.OrgID, OrgName: "Acme Inc.", Email: "admin@acme.test", Role: billing.RoleAdmin})
	log := slog.New(slog.DiscardHandler)

	for _, name := range slices.Sorted(maps.Keys(env)) {
		t.Run(name, func(t *testing.T) {
			vars := resolveEnv(t, tmpl, env[name], map[string]string{
				"TABLE_NAME":                db.Table,
				"AWS_ENDPOINT_URL_DYNAMODB": db.URL,
				// No Stripe: the provider refuses, nothing leaves the
				// machine; the webhook still verifies signatures.
				"STRIPE_WEBHOOK_SECRET": "whsec_template",
			})
			delete(vars, "STRIPE_SECRET_ARN")
			rec.take()
			deps, err := function.Deps(ctx, name, func(k string) string { return vars[k] })
			if err != nil {
				t.Fatal(err)
			}
			db.Reset()
			ran := 0
			for _, j := range jobs.List(deps) {
				if j.Function != name {
					continue
				}
				runJob(t, ctx, j, now, log)
				ran++
			}
			if ran == 0 {
				h, err := function.Handler(deps, name)
				if err != nil {
					t.Fatal(err)
				}
				lambda := gateway.Handler(h)
				for _, rt := range web.Routes(web.Deps{}) {
					if rt.Function != name {
						continue
					}
					e := apiEvent(rt.Method, strings.ReplaceAll(rt.Path, "{id}", "missing"), postBodies[rt.Path], cookie)
					e.RawQueryString = queries[rt.Path]
					if rt.Access == web.AccessService {
						e.RequestContext.Authorizer = &awsevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
							IAM: &awsevents.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/metering"},
						}
						e.Headers["content-type"] = "application/json"
					}
					if rt.Path == "/webhooks/stripe" {
						body := stripePayment(t)
						e.Body, e.Cookies = string(body), nil
						e.Headers["content-type"] = "application/json"
						e.Headers["stripe-signature"] = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: vars["STRIPE_WEBHOOK_SECRET"]}).Header
					}
					resp, err := lambda(ctx, e)
					if err != nil {
						t.Fatalf("%s %s: %v", rt.Method, rt.Path, err)
					}
					t.Logf("%s %s: %d", rt.Method, rt.Path, resp.StatusCode)
					ran++
				}
			}
			if ran == 0 {
				t.Fatalf("%s has neither routes nor a job", name)
			}
			got := observedActions(t, db.Requests())
			maps.Copy(got, rec.take())
			t.Logf("observed %v", slices.Sorted(maps.Keys(got)))
			if !got[getSecret] {
				t.Errorf("%s did not read its session keys from Secrets Manager (SESSION_SECRET_ARN) at cold start", name)
			}
			for _, a := range slices.Sorted(maps.Keys(got)) {
				if !slices.Contains(calls[name], a) {
					t.Errorf("%s sent %s, which its calls entry does not list (so it may not be granted)", name, a)
				}
			}
		})
	}
}

// queries are the query strings of the routes that need one.
var queries = map[string]string{"/v1/allowance": "org_id=acme"}

// stripePayment is a payment_intent.succeeded event (API version
// 2023-10-16) for a card top-up of acme.
func stripePayment(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": "evt_observed", "object": "event", "api_version": "2023-10-16", "created": time.Now().Unix(), "livemode": false,
		"pending_webhooks": 1, "type": "payment_intent.succeeded",
		"data": map[string]any{"object": map[string]any{
			"id": "pi_observed", "object": "payment_intent", "amount": 1000, "amount_received": 1000, "currency": "usd",
			"customer": "cus_acme", "payment_method": "pm_1", "payment_method_types": []string{"card"}, "status": "succeeded",
			"metadata": map[string]string{"org_id": demo.OrgID, "purpose": payments.PurposeAddCredits},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runJob runs a job as EventBridge would: its schedule's event (for the
// invoicing job, at the next cycle close, so the current period is
// invoiced) and one event of each detail type its rule matches.
func runJob(t *testing.T, ctx context.Context, j jobs.Job, now time.Time, log *slog.Logger) {
	t.Helper()
	at := now
	if j.Function == "invoicing" {
		at = j.Next(now)
	}
	if err := j.Run(ctx, jobs.ScheduledEvent(at)); err != nil {
		t.Logf("%s scheduled run: %v", j.Function, err)
	}
	bus := events.NewBus(log)
	var got []awsevents.EventBridgeEvent
	bus.Subscribe("capture", j.DetailTypes, func(_ context.Context, e awsevents.EventBridgeEvent) error {
		got = append(got, e)
		return nil
	})
	for _, typ := range j.DetailTypes {
		day := billing.Day(now)
		d := events.Detail{ID: demo.OrgID + ":" + day + ":" + typ, Type: typ, OrgID: demo.OrgID, Day: day, OccurredAt: now}
		if err := bus.Publish(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range got {
		if err := j.Run(ctx, e); err != nil {
			t.Logf("%s %s: %v", j.Function, e.DetailType, err)
		}
	}
}

// apiEvent is an API Gateway v2 (HTTP API) event for a request from a
// signed-in browser.
func apiEvent(method, path, body, cookie string) awsevents.APIGatewayV2HTTPRequest {
	e := awsevents.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + path, RawPath: path,
		Cookies: []string{"billing_session=" + cookie},
		Headers: map[string]string{"host": "billing.example.com", "x-forwarded-proto": "https", "sec-fetch-site": "same-origin"},
		Body:    body,
		RequestContext: awsevents.APIGatewayV2HTTPRequestContext{
			RequestID: "observed", Stage: "$default", DomainName: "billing.example.com",
			HTTP: awsevents.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"},
		},
	}
	if method == http.MethodPost {
		e.Headers["content-type"] = "application/x-www-form-urlencoded"
		e.Headers["origin"] = "https://billing.example.com"
	}
	return e
}
