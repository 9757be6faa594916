package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
)

func TestFlash(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m, err := auth.NewSessions(key, true, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	s := auth.Session{ID: "session-1", OrgID: "acme", Email: "you@acme.test", Role: billing.RoleAdmin}
	msg := "success:Invoices now go to billing@acme.test."
	sealed := m.SealFlash(s, []byte(msg))

	t.Run("a sealed flash opens for its session and does not show its message", func(t *testing.T) {
		got, ok := m.OpenFlash(s, sealed)
		if !ok || string(got) != msg {
			t.Errorf("opened %q, %v", got, ok)
		}
		if sealed == "" || containsAny(sealed, "billing", "acme", "Invoices") {
			t.Errorf("sealed value %q shows its message", sealed)
		}
	})

	t.Run("an altered, forged, foreign or old flash does not open", func(t *testing.T) {
		other := s
		other.ID = "session-2"
		otherKey, _ := auth.NewSessions([]byte("another key of at least 32 bytes!!"), true, func() time.Time { return now })
		later, _ := auth.NewSessions(key, true, func() time.Time { return now.Add(auth.FlashTTL) })
		for name, open := range map[string]func() ([]byte, bool){
			"a flipped character":         func() ([]byte, bool) { return m.OpenFlash(s, flip(sealed)) },
			"a plain message":             func() ([]byte, bool) { return m.OpenFlash(s, "success:You won") },
			"another session's flash":     func() ([]byte, bool) { return m.OpenFlash(other, sealed) },
			"another key's flash":         func() ([]byte, bool) { return m.OpenFlash(s, otherKey.SealFlash(s, []byte(msg))) },
			"a flash older than FlashTTL": func() ([]byte, bool) { return later.OpenFlash(s, sealed) },
			"an empty value":              func() ([]byte, bool) { return m.OpenFlash(s, "") },
		} {
			if got, ok := open(); ok {
				t.Errorf("%s: opened %q", name, got)
			}
		}
	})
}

func containsAny(s string, words ...string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(s, w) })
}
