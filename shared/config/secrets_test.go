package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/secrets"
	"github.com/acme/billing/shared/secrets/secretstest"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/web"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

const (
	stripeARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-stripe-AbCdEf"
	sessionARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-session-AbCdEf"
	// Session keys as Secrets Manager generates them (64 letters and
	// digits) and as openssl rand -hex 32 prints them.
	oldSessionKey = "Q7fWm2Lx9Rk4Tz8Vb3Nc6Hd1Jp5Sg0Ya7Ue2Io9Kw4Xr8Mt3Bv6Cn1Fh5Dl0Gs7A"
	newSessionKey = "5f2b8c1e9a7d3f6b0c4e8a2d7f1b5c9e3a6d0f4b8c2e7a1d5f9b3c6e0a4d8f2b"
)

func stripeJSON(key, whsec string) string {
	b, _ := json.Marshal(map[string]string{"secret_key": key, "webhook_secret": whsec})
	return string(b)
}

func sessionJSON(current, previous string) string {
	b, _ := json.Marshal(map[string]string{"current": current, "previous": previous})
	return string(b)
}

// The Secrets Manager in these tests is secretstest, a loopback stand-in
// answering GetSecretValue in the service's JSON protocol: no Secrets
// Manager emulator runs here. The client is the real aws-sdk-go-v2 one, and
// time is a test clock: the cache period passes without sleeping.
func TestSecretsRotation(t *testing.T) {
	start := time.Now().UTC()
	load := func(t *testing.T) (*secretstest.Server, *timetest.Clock, *logtest.Buffer, config.Secrets) {
		t.Helper()
		sm := secretstest.New(t)
		sm.Put(stripeARN, stripeJSON("sk_test_old", "whsec_old"))
		sm.Put(sessionARN, sessionJSON(oldSessionKey, ""))
		c, err := config.Load(awsEnv(nil), false)
		if err != nil {
			t.Fatal(err)
		}
		clk := timetest.NewClock(start)
		logs := &logtest.Buffer{}
		s, err := c.LoadSecrets(t.Context(), sm.Client(), clk.Now, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return sm, clk, logs, s
	}

	t.Run("rotated Stripe keys and session keys are picked up after the cache period, without a deploy", func(t *testing.T) {
		sm, clk, _, s := load(t)
		if s.StripeKey() != "sk_test_old" || s.StripeWebhookSecret() != "whsec_old" || len(s.SessionKeys()) != 1 {
			t.Fatalf("at cold start: key %q, webhook %q, %d session keys", s.StripeKey(), s.StripeWebhookSecret(), len(s.SessionKeys()))
		}
		sm.Put(stripeARN, stripeJSON("sk_test_new", "whsec_new"))
		sm.Put(sessionARN, sessionJSON(newSessionKey, oldSessionKey))
		clk.Advance(secrets.DefaultMaxAge - time.Second)
		if s.StripeKey() != "sk_test_old" || s.StripeWebhookSecret() != "whsec_old" || len(s.SessionKeys()) != 1 {
			t.Error("a value changed within the cache period")
		}
		clk.Advance(time.Second)
		if s.StripeKey() != "sk_test_new" || s.StripeWebhookSecret() != "whsec_new" {
			t.Errorf("after the cache period: key %q, webhook %q, want the rotated ones", s.StripeKey(), s.StripeWebhookSecret())
		}
		if ring := s.SessionKeys(); len(ring) != 2 {
			t.Errorf("after the cache period the ring has %d keys, want the new and the old", len(ring))
		}
	})

	t.Run("a failing endpoint keeps the last good secrets, and the log never holds them", func(t *testing.T) {
		sm, clk, logs, s := load(t)
		sm.Fail(true)
		clk.Advance(secrets.DefaultMaxAge)
		if s.StripeKey() != "sk_test_old" || s.StripeWebhookSecret() != "whsec_old" || len(s.SessionKeys()) != 1 {
			t.Error("a failed refresh lost the last good value")
		}
		log := logs.String()
		if !strings.Contains(log, "secret refresh failed") {
			t.Errorf("the failure is not logged:\n%s", log)
		}
		for _, secret := range []string{"sk_test_old", "whsec_old", oldSessionKey} {
			if strings.Contains(log, secret) {
				t.Errorf("the log holds a secret:\n%s", log)
			}
		}
	})

	t.Run("a malformed rotation keeps the last good secrets", func(t *testing.T) {
		sm, clk, _, s := load(t)
		sm.Put(stripeARN, stripeJSON("pk_test_wrong_kind", "whsec_new"))
		sm.Put(sessionARN, sessionJSON("short", ""))
		clk.Advance(secrets.DefaultMaxAge)
		if s.StripeKey() != "sk_test_old" || len(s.SessionKeys()) != 1 {
			t.Error("a malformed rotation replaced the last good value")
		}
	})

	t.Run("a Stripe secret without its webhook secret yet starts, and the webhook secret arrives with a later rotation", func(t *testing.T) {
		sm, clk, _, _ := load(t)
		sm.Put(stripeARN, stripeJSON("sk_test_first", ""))
		c, err := config.Load(awsEnv(nil), false)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.LoadSecrets(t.Context(), sm.Client(), clk.Now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.StripeKey() != "sk_test_first" || s.StripeWebhookSecret() != "" {
			t.Errorf("key %q, webhook %q", s.StripeKey(), s.StripeWebhookSecret())
		}
		sm.Put(stripeARN, stripeJSON("sk_test_first", "whsec_registered"))
		clk.Advance(secrets.DefaultMaxAge)
		if got := s.StripeWebhookSecret(); got != "whsec_registered" {
			t.Errorf("webhook secret %q after it was put, want whsec_registered", got)
		}
	})

	t.Run("at cold start a failing endpoint or a malformed secret is a clear error, without the value", func(t *testing.T) {
		c, err := config.Load(awsEnv(nil), false)
		if err != nil {
			t.Fatal(err)
		}
		sm := secretstest.New(t)
		sm.Put(stripeARN, stripeJSON("sk_test_x", "whsec_x"))
		sm.Put(sessionARN, sessionJSON(oldSessionKey, ""))
		sm.Fail(true)
		_, err = c.LoadSecrets(t.Context(), sm.Client(), nil, nil)
		if err == nil || !strings.Contains(err.Error(), "STRIPE_SECRET_ARN: read secret "+stripeARN) || !strings.Contains(err.Error(), "InternalServiceError") {
			t.Errorf("err = %v", err)
		}
		sm.Fail(false)
		sm.Put(sessionARN, sessionJSON(oldSessionKey, "tooshort"))
		_, err = c.LoadSecrets(t.Context(), sm.Client(), nil, nil)
		if err == nil || !strings.Contains(err.Error(), `SESSION_SECRET_ARN: secret `+sessionARN+`: "previous" key 1: must be at least 32 bytes`) || strings.Contains(err.Error(), "tooshort") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestDepsFromSecretsManager starts a function's dependencies as a cold
// start in AWS does: the default AWS configuration (its endpoint from
// AWS_ENDPOINT_URL_SECRETS_MANAGER, pointing at the loopback stand-in),
// the secrets read once, then rotated.
func TestDepsFromSecretsManager(t *testing.T) {
	sm := secretstest.New(t)
	sm.Put(stripeARN, stripeJSON("sk_test_old", "whsec_old"))
	sm.Put(sessionARN, sessionJSON(oldSessionKey, ""))
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL, "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
	db := storetest.New(t)
	c, err := config.Load(awsEnv(map[string]string{"TABLE_NAME": db.Table, "AWS_ENDPOINT_URL_DYNAMODB": db.URL}), false)
	if err != nil {
		t.Fatal(err)
	}
	clk := timetest.NewClock(time.Now().UTC())
	log := slog.New(slog.DiscardHandler)
	deps, err := c.Deps(t.Context(), log, clk.Now, events.NewBus(log))
	if err != nil {
		t.Fatal(err)
	}
	if reqs := sm.Requests(); len(reqs) != 2 || reqs[0].SecretID != stripeARN || reqs[1].SecretID != sessionARN || !reqs[0].Signed {
		t.Fatalf("cold start sent %+v, want one signed GetSecretValue per secret", reqs)
	}
	srv := httptest.NewServer(web.Handler(deps, web.Routes(deps)))
	t.Cleanup(srv.Close)
	member := auth.Session{OrgID: "acme", Email: "you@acme.test", Role: billing.RoleAdmin}
	issue := func() *http.Cookie {
		rec := httptest.NewRecorder()
		if err := deps.Sessions.SignIn(t.Context(), rec, member); err != nil {
			t.Fatal(err)
		}
		return rec.Result().Cookies()[0]
	}
	read := func(c *http.Cookie) bool {
		r := httptest.NewRequest(http.MethodGet, "/billing", nil)
		r.AddCookie(c)
		_, ok := deps.Sessions.Read(r)
		return ok
	}
	webhookStatus := func(secret string) int {
		payload := []byte(`{"id":"evt_` + secret + `","object":"event","type":"customer.created","api_version":"` + stripe.APIVersion + `","data":{"object":{"id":"cus_1","object":"customer"}}}`)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/webhooks/stripe", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret}).Header)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	before := issue()
	if got := webhookStatus("whsec_old"); got != http.StatusOK {
		t.Fatalf("a webhook signed with the current secret got %d", got)
	}
	sm.Put(stripeARN, stripeJSON("sk_test_new", "whsec_new"))
	sm.Put(sessionARN, sessionJSON(newSessionKey, oldSessionKey))
	clk.Advance(secrets.DefaultMaxAge)

	t.Run("after a rotation the webhook verifies with the new secret only", func(t *testing.T) {
		if got := webhookStatus("whsec_new"); got != http.StatusOK {
			t.Errorf("signed with the rotated secret: %d, want 200", got)
		}
		if got := webhookStatus("whsec_old"); got != http.StatusBadRequest {
			t.Errorf("signed with the replaced secret: %d, want 400", got)
		}
	})

	t.Run("after a rotation of the session key no one is signed out, and new sessions use the new key", func(t *testing.T) {
		if !read(before) {
			t.Error("a session issued before the rotation was refused")
		}
		after := issue()
		sm.Put(sessionARN, sessionJSON(newSessionKey, ""))
		clk.Advance(secrets.DefaultMaxAge)
		if read(before) {
			t.Error("a session signed with a key dropped from the ring still verifies")
		}
		if !read(after) {
			t.Error("a session issued after the rotation is not signed with the new key")
		}
	})
}

// TestStripeClientKey checks that the Stripe client sends the key current
// at each call, so a rotated key needs no new client (and no global key).
func TestStripeClientKey(t *testing.T) {
	var (
		mu   sync.Mutex
		auth []string
	)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"cus_1","object":"customer"}`))
	}))
	t.Cleanup(api.Close)
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(api.URL), HTTPClient: api.Client(), MaxNetworkRetries: stripe.Int64(0), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	key := "sk_test_old"
	client := config.NewStripeClient(func() string { return key }, &stripe.Backends{API: backend})
	if _, err := client.Customers.Get("cus_1", nil); err != nil {
		t.Fatal(err)
	}
	key = "sk_test_new"
	if _, err := client.Customers.Get("cus_1", nil); err != nil {
		t.Fatal(err)
	}
	if len(auth) != 2 || auth[0] != "Bearer sk_test_old" || auth[1] != "Bearer sk_test_new" {
		t.Errorf("Authorization headers %q, want the old key then the rotated one", auth)
	}
	if stripe.Key != "" {
		t.Error("the global stripe.Key was set")
	}
}
