package config_test

import (
	"strings"
	"testing"

	"github.com/acme/billing/shared/config"
)

// TestAWS checks the AWS configuration read from Lambda's variables;
// TestJobQueue and the template checks' observed run drive real SDK
// clients (SQS, EventBridge, SES, Secrets Manager) to the endpoints their
// AWS_ENDPOINT_URL_<SERVICE> variables name.
func TestAWS(t *testing.T) {
	unset := func(t *testing.T) {
		for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS"} {
			t.Setenv(k, "")
		}
	}

	t.Run("the region and the execution role's credentials, with their session token", func(t *testing.T) {
		unset(t)
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
		t.Setenv("AWS_SESSION_TOKEN", "token")
		t.Setenv("AWS_MAX_ATTEMPTS", "2")
		cfg, err := config.Config{}.AWS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		creds, err := cfg.Credentials.Retrieve(t.Context())
		if err != nil || creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
			t.Errorf("credentials %+v, %v", creds, err)
		}
		if cfg.Region != "eu-west-1" || cfg.RetryMaxAttempts != 2 || cfg.BaseEndpoint != nil {
			t.Errorf("region %q, attempts %d, endpoint %v", cfg.Region, cfg.RetryMaxAttempts, cfg.BaseEndpoint)
		}
	})

	t.Run("without credentials the calls fail saying so, not the start", func(t *testing.T) {
		unset(t)
		cfg, err := config.Config{}.AWS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(t.Context()); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Errorf("Retrieve: %v, want an error naming AWS_ACCESS_KEY_ID", err)
		}
	})

	t.Run("a bad AWS_MAX_ATTEMPTS is refused", func(t *testing.T) {
		unset(t)
		t.Setenv("AWS_MAX_ATTEMPTS", "none")
		if _, err := (config.Config{}).AWS(t.Context()); err == nil || !strings.Contains(err.Error(), "AWS_MAX_ATTEMPTS") {
			t.Errorf("err = %v", err)
		}
	})
}
