//go:build linux

package rie_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"
)

// webhookSecret signs the Stripe events of these tests; the stripe-webhook
// function gets it as STRIPE_WEBHOOK_SECRET.
const webhookSecret = "whsec_rie"

// functionEnv is overviewEnv for the function named name; the
// stripe-webhook function also gets Stripe keys as sam local gives them,
// so its cold start builds the Stripe client (the event it answers never
// calls Stripe).
func functionEnv(db *storetest.DB, name string) map[string]string {
	env := overviewEnv(db)
	env["AWS_LAMBDA_FUNCTION_NAME"] = name
	if name == "stripe-webhook" {
		env["STRIPE_SECRET_KEY"] = "sk_test_rie"
		env["STRIPE_WEBHOOK_SECRET"] = webhookSecret
	}
	return env
}

// apiEvent is the API Gateway v2 event of get-overview.json (without its
// cookie) for method and path, with change applied.
func apiEvent(tb testing.TB, method, path string, change func(e *events.APIGatewayV2HTTPRequest)) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "shared", "function", "testdata", "get-overview.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		tb.Fatal(err)
	}
	e.Cookies = nil
	e.RouteKey, e.RawPath, e.RawQueryString = method+" "+path, path, ""
	e.RequestContext.HTTP.Method, e.RequestContext.HTTP.Path = method, path
	change(&e)
	out, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// allowanceEvent is GET /v1/allowance?org_id=acme from the product's own
// services, IAM-authorized as API Gateway passes it.
func allowanceEvent(tb testing.TB) []byte {
	return apiEvent(tb, http.MethodGet, "/v1/allowance", func(e *events.APIGatewayV2HTTPRequest) {
		e.RawQueryString = "org_id=" + demo.OrgID
		e.QueryStringParameters = map[string]string{"org_id": demo.OrgID}
		e.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/metering"},
		}
	})
}

// stripeEvent is Stripe's POST /webhooks/stripe of an event the billing
// section takes no action on (a product created), signed with
// webhookSecret: the function verifies and answers it without calling
// Stripe.
func stripeEvent(tb testing.TB) []byte {
	body, err := json.Marshal(map[string]any{
		"id": "evt_rie", "object": "event", "api_version": "2023-10-16", "created": time.Now().Unix(), "livemode": false,
		"pending_webhooks": 1, "type": "product.created",
		"data": map[string]any{"object": map[string]any{"id": "prod_rie", "object": "product", "name": "Usage credits"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookSecret})
	return apiEvent(tb, http.MethodPost, "/webhooks/stripe", func(e *events.APIGatewayV2HTTPRequest) {
		e.Body = string(body)
		e.Headers["content-type"] = "application/json"
		e.Headers["stripe-signature"] = signed.Header
	})
}
