package secrets_test

import (
	"strings"
	"testing"

	"github.com/acme/billing/shared/secrets"
	"github.com/acme/billing/shared/secrets/secretstest"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

func TestClient(t *testing.T) {
	t.Run("with the standard AWS configuration it finds Secrets Manager's endpoint variable and signs with the session token", func(t *testing.T) {
		sm := secretstest.New(t)
		sm.Put(arn, "first")
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		t.Setenv("AWS_SESSION_TOKEN", "lambda-session")
		t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL)
		cfg, err := awsconfig.LoadDefaultConfig(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c, err := secrets.NewClient(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := c.GetSecretString(t.Context(), arn); err != nil || v != "first" {
			t.Fatalf("GetSecretString = %q, %v; want first", v, err)
		}
		if r := sm.Requests(); len(r) != 1 || !r[0].Signed || r[0].SecurityToken != "lambda-session" || r[0].Target != secretstest.Target {
			t.Errorf("requests %+v", r)
		}
	})

	t.Run("a server fault is tried RetryMaxAttempts times, a missing secret once", func(t *testing.T) {
		sm := secretstest.New(t)
		cfg := sm.Config()
		cfg.RetryMaxAttempts = 3
		c, err := secrets.NewClient(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetSecretString(t.Context(), arn); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("err = %v, want ResourceNotFoundException", err)
		}
		if n := len(sm.Requests()); n != 1 {
			t.Errorf("%d requests for a missing secret, want 1", n)
		}
		sm.Put(arn, "first")
		sm.Fail(true)
		if _, err := c.GetSecretString(t.Context(), arn); err == nil || !strings.Contains(err.Error(), "InternalServiceError") {
			t.Errorf("err = %v, want InternalServiceError", err)
		}
		if n := len(sm.Requests()); n != 1+3 {
			t.Errorf("%d requests for a failing service, want 3 after the first", n-1)
		}
	})

	t.Run("without an endpoint it needs a region", func(t *testing.T) {
		if _, err := secrets.NewClient(t.Context(), aws.Config{}); err == nil {
			t.Error("a client without a region or endpoint")
		}
	})
}
