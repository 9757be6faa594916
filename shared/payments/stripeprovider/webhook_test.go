package stripeprovider_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments/stripeprovider"
)

func TestVerifyWebhook(t *testing.T) {
	const secret = "whsec_test_secret"
	payload, err := os.ReadFile(filepath.Join("testdata", "event_payment_intent_succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(body []byte, secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
	}

	t.Run("a payload signed with the endpoint's secret gives its event", func(t *testing.T) {
		ev, err := stripeprovider.VerifyWebhook(payload, sign(payload, secret, time.Now()), secret)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID != "evt_3OaBcDLKkAKty0Q81" || ev.Type != "payment_intent.succeeded" || ev.APIVersion != "2023-10-16" {
			t.Errorf("event = %s %s %s", ev.ID, ev.Type, ev.APIVersion)
		}
		if got := ev.Data.Object["id"]; got != "pi_ok" {
			t.Errorf("data.object.id = %v, want pi_ok", got)
		}
	})

	tampered := bytes.Replace(payload, []byte(`"amount": 2500`), []byte(`"amount": 250000`), 1)
	otherVersion := bytes.Replace(payload, []byte(`"api_version": "2023-10-16"`), []byte(`"api_version": "2024-06-20"`), 1)
	if bytes.Equal(tampered, payload) || bytes.Equal(otherVersion, payload) {
		t.Fatal("the test payloads are not changed; check the testdata event")
	}
	tests := []struct {
		name    string
		payload []byte
		header  string
		reason  func(error) bool // the webhook library's reason
	}{
		{"a payload signed with another secret is refused", payload, sign(payload, "whsec_other", time.Now()), is(webhook.ErrNoValidSignature)},
		{"a tampered payload is refused", tampered, sign(payload, secret, time.Now()), is(webhook.ErrNoValidSignature)},
		{"a signature older than the tolerance is refused", payload, sign(payload, secret, time.Now().Add(-time.Hour)), is(webhook.ErrTooOld)},
		{"a payload without a signature header is refused", payload, "", is(webhook.ErrNotSigned)},
		{"a validly signed event of another API version is refused", otherVersion, sign(otherVersion, secret, time.Now()),
			func(err error) bool { return strings.Contains(err.Error(), "API version 2024-06-20") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stripeprovider.VerifyWebhook(tt.payload, tt.header, secret)
			if code := billing.ErrorCode(err); code != billing.EINVALID {
				t.Fatalf("error = %v (code %q), want EINVALID", err, code)
			}
			if !tt.reason(err) {
				t.Errorf("error = %v, refused for the wrong reason", err)
			}
			if msg := billing.ErrorMessage(err); msg != "Invalid Stripe webhook." {
				t.Errorf("message = %q", msg)
			}
		})
	}
}

// is returns a test for errors.Is(err, target).
func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}
