package config_test

import (
	"strings"
	"testing"

	"github.com/acme/billing/shared/config"
)

// awsEnv is a complete AWS-mode environment, as template.yaml sets it.
func awsEnv(change map[string]string) func(string) string {
	vars := map[string]string{
		"TABLE_NAME":         "billing",
		"EVENT_BUS_NAME":     "billing-test",
		"PUBLIC_URL":         "https://billing.example.com",
		"SESSION_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-session-AbCdEf",
		"STRIPE_SECRET_ARN":  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing-stripe-AbCdEf",
	}
	for k, v := range change {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

func TestLoad(t *testing.T) {
	t.Run("AWS mode takes its secrets' ARNs and the public origin, and no secret value", func(t *testing.T) {
		c, err := config.Load(awsEnv(map[string]string{"PUBLIC_URL": "https://billing.example.com/"}), false)
		if err != nil {
			t.Fatal(err)
		}
		if c.PublicURL != "https://billing.example.com" || c.OIDC.PublicURL != c.PublicURL {
			t.Errorf("public URL %q (OIDC %q), want https://billing.example.com", c.PublicURL, c.OIDC.PublicURL)
		}
		if c.SessionSecretARN == "" || c.StripeSecretARN == "" || c.SessionKey != nil || c.StripeSecretKey != "" {
			t.Errorf("config %v", c)
		}
	})

	tests := []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"no public URL", map[string]string{"PUBLIC_URL": ""}, "PUBLIC_URL is required"},
		{"a plain http public URL", map[string]string{"PUBLIC_URL": "http://billing.example.com"}, "PUBLIC_URL must be an origin"},
		{"a public URL with a path", map[string]string{"PUBLIC_URL": "https://billing.example.com/billing"}, "PUBLIC_URL must be an origin"},
		{"an execute-api public URL with a stage path", map[string]string{"PUBLIC_URL": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"}, "PUBLIC_URL must be an origin"},
		{"no session key secret", map[string]string{"SESSION_SECRET_ARN": ""}, "SESSION_SECRET_ARN is required"},
		{"a session key secret and SESSION_KEY", map[string]string{"SESSION_KEY": strings.Repeat("ab", 32)}, "set SESSION_SECRET_ARN or SESSION_KEY, not both"},
		{"a Stripe secret and STRIPE_SECRET_KEY", map[string]string{"STRIPE_SECRET_KEY": "sk_test_x"}, "set STRIPE_SECRET_ARN or STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, not both"},
		{"a secret name for an ARN", map[string]string{"STRIPE_SECRET_ARN": "billing/stripe"}, "STRIPE_SECRET_ARN must be the ARN"},
	}
	for _, tt := range tests {
		t.Run("AWS mode refuses "+tt.name, func(t *testing.T) {
			_, err := config.Load(awsEnv(tt.change), false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}

	t.Run("sam local may give the keys as environment variables where no ARN is set", func(t *testing.T) {
		c, err := config.Load(awsEnv(map[string]string{"SESSION_SECRET_ARN": "", "STRIPE_SECRET_ARN": "", "SESSION_KEY": strings.Repeat("ab", 32),
			"STRIPE_SECRET_KEY": "sk_test_local", "STRIPE_WEBHOOK_SECRET": "whsec_local"}), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.SessionKey) != 32 || c.StripeSecretKey != "sk_test_local" {
			t.Errorf("config %v", c)
		}
	})

	t.Run("local mode needs no public URL and ignores secret ARNs", func(t *testing.T) {
		c, err := config.Load(func(k string) string {
			return map[string]string{"SESSION_SECRET_ARN": "arn:aws:secretsmanager:x", "STRIPE_SECRET_KEY": "sk_test_local"}[k]
		}, true)
		if err != nil {
			t.Fatal(err)
		}
		if c.PublicURL != "" || c.SessionSecretARN != "" || len(c.SessionKey) != 32 || c.StripeSecretKey != "sk_test_local" {
			t.Errorf("config %v", c)
		}
	})

	t.Run("a config prints no secret", func(t *testing.T) {
		c, err := config.Load(awsEnv(map[string]string{"SESSION_SECRET_ARN": "", "STRIPE_SECRET_ARN": "", "SESSION_KEY": strings.Repeat("ab", 32),
			"STRIPE_SECRET_KEY": "sk_test_donotprint", "STRIPE_WEBHOOK_SECRET": "whsec_donotprint"}), false)
		if err != nil {
			t.Fatal(err)
		}
		if s := c.String(); strings.Contains(s, "donotprint") || strings.Contains(s, "abab") {
			t.Errorf("String() = %s", s)
		}
	})
}
