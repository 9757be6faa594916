package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/secrets"
)

// Secrets are a function's run-time secrets, each a func returning its
// current value: fixed values from the environment locally (and under sam
// local), the cached values of Secrets Manager in AWS, so a rotated secret
// takes effect within minutes (secrets.DefaultMaxAge) without a deploy.
type Secrets struct {
	// StripeKey returns the Stripe secret key; nil when Stripe is not
	// configured.
	StripeKey func() string
	// StripeWebhookSecret returns the webhook signing secret; nil when not
	// configured.
	StripeWebhookSecret func() string
	// SessionKeys is the session key ring, newest first.
	SessionKeys auth.KeyRing
}

// stripeSecret is the JSON of the secret STRIPE_SECRET_ARN names.
type stripeSecret struct {
	SecretKey     string `json:"secret_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// sessionSecret is the JSON of the secret SESSION_SECRET_ARN names.
type sessionSecret struct {
	Current  string `json:"current"`
	Previous string `json:"previous"`
}

// LoadSecrets reads the secrets: from Secrets Manager through client for
// the ARNs set (AWS mode), else from the environment values Load read. It
// is called at cold start and fails, naming the secret but never a value,
// when a secret cannot be read or is malformed. now is the cache's clock
// (time.Now when nil); refresh failures go to log.
func (c Config) LoadSecrets(ctx context.Context, client secrets.Getter, now func() time.Time, log *slog.Logger) (Secrets, error) {
	opts := secrets.Options{Now: now, Log: log}
	var s Secrets
	if c.StripeSecretARN != "" {
		sec, err := secrets.Load(ctx, client, c.StripeSecretARN, parseStripeSecret, opts)
		if err != nil {
			return Secrets{}, fmt.Errorf("%s: %w", EnvStripeSecretARN, err)
		}
		s.StripeKey = func() string { return sec.Get().SecretKey }
		s.StripeWebhookSecret = func() string { return sec.Get().WebhookSecret }
	} else {
		if key := c.StripeSecretKey; key != "" {
			s.StripeKey = func() string { return key }
		}
		if secret := c.StripeWebhookSecret; secret != "" {
			s.StripeWebhookSecret = func() string { return secret }
		}
	}
	if c.SessionSecretARN != "" {
		sec, err := secrets.Load(ctx, client, c.SessionSecretARN, parseSessionSecret, opts)
		if err != nil {
			return Secrets{}, fmt.Errorf("%s: %w", EnvSessionSecretARN, err)
		}
		s.SessionKeys = sec.Get
	} else {
		key := c.SessionKey
		s.SessionKeys = func() [][]byte { return [][]byte{key} }
	}
	return s, nil
}

// parseStripeSecret parses {"secret_key": "sk_…", "webhook_secret":
// "whsec_…"}. The webhook secret may be empty (before the endpoint is
// registered): the webhook then answers that it is not configured. Its
// errors never quote the value.
func parseStripeSecret(v string) (stripeSecret, error) {
	var s stripeSecret
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return stripeSecret{}, errors.New(`not JSON like {"secret_key": "sk_…", "webhook_secret": "whsec_…"}`)
	}
	var errs []error
	if !strings.HasPrefix(s.SecretKey, "sk_") && !strings.HasPrefix(s.SecretKey, "rk_") {
		errs = append(errs, errors.New(`"secret_key" must be a Stripe secret key (sk_…) or restricted key (rk_…)`))
	}
	if s.WebhookSecret != "" && !strings.HasPrefix(s.WebhookSecret, "whsec_") {
		errs = append(errs, errors.New(`"webhook_secret" must be a Stripe webhook signing secret (whsec_…), or empty until the endpoint is registered`))
	}
	return s, errors.Join(errs...)
}

// parseSessionSecret parses {"current": "<key>", "previous": "<key>,<key>"}
// into the key ring, current first. Each key is 64 random letters and
// digits or at least 32 bytes in hex or base64, decoded as SESSION_KEY is.
// Its errors never quote a key.
func parseSessionSecret(v string) ([][]byte, error) {
	var s sessionSecret
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, errors.New(`not JSON like {"current": "<key>", "previous": "<older keys, comma-separated>"}`)
	}
	current, err := decodeSessionKey(strings.TrimSpace(s.Current))
	if err != nil {
		return nil, fmt.Errorf(`"current": %w`, err)
	}
	ring := [][]byte{current}
	for i, p := range strings.Split(s.Previous, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		key, err := decodeSessionKey(p)
		if err != nil {
			return nil, fmt.Errorf(`"previous" key %d: %w`, i+1, err)
		}
		ring = append(ring, key)
	}
	return ring, nil
}
