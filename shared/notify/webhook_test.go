package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/notify"
)

// verify checks a webhook as a receiver following the Standard Webhooks
// spec would, written from the spec rather than from the sender's code:
// the three headers are present, the timestamp is within five minutes of
// now, and one of the space-separated "v1,<base64>" signatures equals
// HMAC-SHA256(key, "<id>.<timestamp>.<body>"), key being the base64
// after "whsec_" in the secret, compared in constant time.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("webhook-timestamp is too far from now")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for sig := range strings.FieldsSeq(sigs) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid v1 signature")
}

func TestWebhookSignature(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, e.clock)
	secret := e.setWebhook("acme", rcv.srv.URL+"/hooks?token=abc")
	d := budgetReached("acme", start)
	if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
		t.Fatalf("handle: %v", err)
	}
	reqs := rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(reqs))
	}
	got := reqs[0]

	t.Run("a receiver following the spec verifies the signature", func(t *testing.T) {
		if err := verify(secret, got.header, got.body, e.clock.Now()); err != nil {
			t.Errorf("verify: %v\nheaders %v\nbody %s", err, got.header, got.body)
		}
	})

	t.Run("the headers carry the event id, the time of sending and JSON", func(t *testing.T) {
		for name, want := range map[string]string{
			"Webhook-Id": d.ID, "Webhook-Timestamp": strconv.FormatInt(start.Unix(), 10), "Content-Type": "application/json",
		} {
			if v := got.header.Get(name); v != want {
				t.Errorf("%s: %q, want %q", name, v, want)
			}
		}
		if sig := got.header.Get("Webhook-Signature"); !strings.HasPrefix(sig, "v1,") {
			t.Errorf("webhook-signature %q does not start with v1,", sig)
		}
	})

	t.Run("the body is the event with amounts as decimal strings", func(t *testing.T) {
		var body map[string]any
		if err := json.Unmarshal(got.body, &body); err != nil {
			t.Fatalf("body %s: %v", got.body, err)
		}
		want := map[string]any{
			"id": d.ID, "type": "spend.budget_reached", "org_id": "acme", "day": "2026-11-27", "threshold": "1.00",
			"used_today": "1.01", "remaining": "8.99", "available": "0.00", "occurred_at": "2026-11-27T15:04:05Z",
		}
		if !maps.Equal(body, want) {
			t.Errorf("body %v,\nwant %v", body, want)
		}
	})

	for _, tc := range []struct {
		name   string
		change func(h http.Header, body []byte) (http.Header, []byte)
	}{
		{"a tampered body fails verification", func(h http.Header, b []byte) (http.Header, []byte) {
			return h, []byte(strings.Replace(string(b), `"1.01"`, `"0.01"`, 1))
		}},
		{"another event id fails verification", func(h http.Header, b []byte) (http.Header, []byte) {
			h.Set("webhook-id", "acme:2026-11-28:budget")
			return h, b
		}},
		{"a replayed timestamp fails verification", func(h http.Header, b []byte) (http.Header, []byte) {
			h.Set("webhook-timestamp", strconv.FormatInt(start.Add(-time.Hour).Unix(), 10))
			return h, b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, b := tc.change(got.header.Clone(), slices.Clone(got.body))
			if err := verify(secret, h, b, e.clock.Now()); err == nil {
				t.Error("verification passed")
			}
		})
	}

	t.Run("another secret fails verification", func(t *testing.T) {
		if err := verify("whsec_"+base64.StdEncoding.EncodeToString([]byte("another secret of thirty-two b!!")), got.header, got.body, e.clock.Now()); err == nil {
			t.Error("verification passed")
		}
	})

	t.Run("Sign agrees with the spec's example", func(t *testing.T) {
		// The example of the Standard Webhooks reference libraries.
		sig, err := notify.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			[]byte(`{"test": 2432232314}`))
		if err != nil {
			t.Fatal(err)
		}
		if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
			t.Errorf("signature %s, want %s", sig, want)
		}
	})

	t.Run("the delivery is recorded as delivered with the status code", func(t *testing.T) {
		dl := e.delivery("acme", notify.ChannelWebhook)
		if dl.Status != notify.StatusDelivered || dl.StatusCode != 200 || dl.Attempts != 1 || dl.ID != d.ID || !dl.Updated.Equal(start) {
			t.Errorf("delivery %+v, want delivered with 200 after 1 attempt at %v", dl, start)
		}
		if strings.Contains(dl.Error+dl.Target, secret) {
			t.Error("the delivery record shows the signing secret")
		}
	})

	t.Run("the log names the host but never the secret or the URL's query", func(t *testing.T) {
		log := e.logs.String()
		if strings.Contains(log, secret) || strings.Contains(log, "token=abc") {
			t.Errorf("the log shows the secret or the URL's query:\n%s", log)
		}
	})
}
