package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
)

// A pure test of the store: its clock is injected, and nothing here reads
// the real one.
func TestWebhookSecretRotation(t *testing.T) {
	clk := timetest.NewClock(time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC))
	st := storetest.New(t).Store(clk.Now)
	ctx := t.Context()
	first, err := st.SetWebhookURL(ctx, "acme", "https://example.com/hooks")
	if err != nil || first == "" {
		t.Fatalf("set webhook: %q, %v", first, err)
	}
	rotated, err := st.RotateWebhookSecret(ctx, "acme")
	if err != nil || rotated == first {
		t.Fatalf("rotate: %q, %v", rotated, err)
	}
	secrets := func() []string {
		t.Helper()
		w, err := st.Webhook(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return w.SigningSecrets(clk.Now())
	}

	t.Run("for 24 hours after a rotation the new and the old secret sign", func(t *testing.T) {
		clk.Advance(store.SecretOverlap - time.Second)
		if got := secrets(); !slices.Equal(got, []string{rotated, first}) {
			t.Errorf("signing secrets %q, want the new then the old", got)
		}
	})
	t.Run("changing the URL keeps both", func(t *testing.T) {
		if fresh, err := st.SetWebhookURL(ctx, "acme", "https://example.com/other"); err != nil || fresh != "" {
			t.Fatalf("change URL: %q, %v", fresh, err)
		}
		if got := secrets(); !slices.Equal(got, []string{rotated, first}) {
			t.Errorf("signing secrets %q, want the new then the old", got)
		}
	})
	t.Run("24 hours after the rotation only the new secret signs", func(t *testing.T) {
		clk.Advance(time.Second)
		if got := secrets(); !slices.Equal(got, []string{rotated}) {
			t.Errorf("signing secrets %q, want only the new one", got)
		}
	})
	t.Run("a second rotation retires the first secret at once", func(t *testing.T) {
		again, err := st.RotateWebhookSecret(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if got := secrets(); !slices.Equal(got, []string{again, rotated}) {
			t.Errorf("signing secrets %q, want the newest then the one it replaced", got)
		}
	})
}
