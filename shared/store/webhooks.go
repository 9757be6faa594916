package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
)

// WebhookEndpoint is where an organisation's own systems receive signed
// notifications (Spend Management's webhook URL).
type WebhookEndpoint struct {
	URL string
	// Secret signs deliveries (Standard Webhooks: "whsec_" + base64 of 32
	// random bytes). Admins can reveal it on the Spend Management page.
	Secret string
	// Previous is the secret a rotation replaced. It still signs
	// deliveries, beside Secret, until PreviousUntil, so that receivers can
	// switch without losing events.
	Previous      string
	PreviousUntil time.Time
	Updated       time.Time
}

// SecretOverlap is how long a rotated-out signing secret keeps signing.
const SecretOverlap = 24 * time.Hour

// SigningSecrets are the secrets that sign a delivery at now: Secret, and
// Previous until PreviousUntil.
func (w WebhookEndpoint) SigningSecrets(now time.Time) []string {
	if w.Previous != "" && now.Before(w.PreviousUntil) {
		return []string{w.Secret, w.Previous}
	}
	return []string{w.Secret}
}

type webhookRecord struct {
	PK     string `dynamodbav:"PK"` // ORG#<org>
	SK     string `dynamodbav:"SK"` // WEBHOOK
	URL    string `dynamodbav:"url"`
	Secret string `dynamodbav:"secret"`
	// Previous signs too until PreviousUntil (see WebhookEndpoint).
	Previous      string    `dynamodbav:"previous,omitempty"`
	PreviousUntil time.Time `dynamodbav:"previous_until"`
	Updated       time.Time `dynamodbav:"updated"`
}

const skWebhook = "WEBHOOK"

// Webhook returns the organisation's webhook endpoint; the zero value when
// none is set.
func (s *Store) Webhook(ctx context.Context, orgID string) (WebhookEndpoint, error) {
	var r webhookRecord
	err := s.Items().Get(ctx, orgPK(orgID), skWebhook, &r)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return WebhookEndpoint{}, nil
	}
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("webhook %s: %w", orgID, err)
	}
	return r.endpoint(), nil
}

func (r webhookRecord) endpoint() WebhookEndpoint {
	return WebhookEndpoint{URL: r.URL, Secret: r.Secret, Previous: r.Previous, PreviousUntil: r.PreviousUntil.UTC(), Updated: r.Updated}
}

// SetWebhookURL sets (or, with "", removes) the organisation's webhook URL.
// The first URL gets a new signing secret, which it returns; changing the
// URL keeps the secrets and returns "". The caller validates the URL
// (https, not a private address).
func (s *Store) SetWebhookURL(ctx context.Context, orgID, url string) (string, error) {
	cur, err := s.Webhook(ctx, orgID)
	if err != nil {
		return "", err
	}
	if url == "" {
		return "", s.Items().Delete(ctx, orgPK(orgID), skWebhook)
	}
	secret, fresh := cur.Secret, ""
	if secret == "" {
		secret = NewWebhookSecret()
		fresh = secret
	}
	rec := webhookRecord{PK: orgPK(orgID), SK: skWebhook, URL: url, Secret: secret, Updated: s.now().UTC()}
	if fresh == "" {
		rec.Previous, rec.PreviousUntil = cur.Previous, cur.PreviousUntil
	}
	if err := s.Items().Put(ctx, rec, false); err != nil {
		return "", fmt.Errorf("set webhook %s: %w", orgID, err)
	}
	return fresh, nil
}

// RotateWebhookSecret replaces the signing secret and returns the new one.
// The replaced secret keeps signing beside it for SecretOverlap. It returns
// ENOTFOUND when no webhook URL is set.
func (s *Store) RotateWebhookSecret(ctx context.Context, orgID string) (string, error) {
	cur, err := s.Webhook(ctx, orgID)
	if err != nil {
		return "", err
	}
	if cur.URL == "" {
		return "", billing.Errorf(billing.ENOTFOUND, "Set a webhook URL first.")
	}
	now := s.now().UTC()
	rec := webhookRecord{PK: orgPK(orgID), SK: skWebhook, URL: cur.URL, Secret: NewWebhookSecret(), Updated: now,
		Previous: cur.Secret, PreviousUntil: now.Add(SecretOverlap)}
	if err := s.Items().Put(ctx, rec, false); err != nil {
		return "", fmt.Errorf("rotate webhook secret %s: %w", orgID, err)
	}
	return rec.Secret, nil
}

// NewWebhookSecret returns a Standard Webhooks signing secret: "whsec_"
// and the base64 of 32 random bytes.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
