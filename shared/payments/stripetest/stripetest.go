// Package stripetest runs stripe-mock in-process for tests and points a
// stripe-go client at it, or at any test server speaking Stripe's API.
package stripetest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-mock/embedded"
	"github.com/stripe/stripe-mock/server"
)

// SecretKey is the key tests use; no output may contain it.
const SecretKey = "sk_test_123"

// handler is stripe-mock's handler, built as its main builds it from the
// OpenAPI spec and fixtures embedded in the module; it is stateless, so
// all tests share it (parsing the spec takes a moment).
var handler = sync.OnceValues(func() (http.Handler, error) {
	spec, err := server.LoadSpec(embedded.OpenAPISpec, "")
	if err != nil {
		return nil, err
	}
	fixtures, err := server.LoadFixtures(embedded.OpenAPIFixtures, "")
	if err != nil {
		return nil, err
	}
	stub, err := server.NewStubServer(fixtures, spec, false, false)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", stub.HandleRequest)
	return &server.DoubleSlashFixHandler{Mux: mux}, nil
})

// Mock starts stripe-mock on a loopback port for the test.
func Mock(t testing.TB) *httptest.Server {
	t.Helper()
	h, err := handler()
	if err != nil {
		t.Fatalf("stripetest: start stripe-mock: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Client returns a stripe-go client for the API at baseURL, through hc,
// with retries off and a silent logger.
func Client(baseURL string, hc *http.Client) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL),
		HTTPClient:        hc,
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(0),
	})
	return client.New(SecretKey, &stripe.Backends{API: backend, Uploads: backend})
}
