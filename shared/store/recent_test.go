package store_test

import (
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store/storetest"
)

// TestOverviewWithDays: the Overview's one read carries the usage of the
// recent days, closed by the daily reset or not, and nothing older than
// the forecast's window.
func TestOverviewWithDays(t *testing.T) {
	s := storetest.New(t).Store(clock)
	newOrg(t, s, "acme", money.Dollars(10))
	ctx := t.Context()
	want := map[string]money.Money{}
	for n := range 12 {
		at := now.AddDate(0, 0, -n)
		u := money.Dollars(int64(n + 1))
		if err := s.AddUsage(ctx, "acme", at, u); err != nil {
			t.Fatal(err)
		}
		if n <= billing.ForecastDays {
			want[billing.Day(at)] = u
		}
	}
	check := func(t *testing.T) {
		t.Helper()
		_, _, days, err := s.OverviewWithDays(ctx, "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		for d, u := range want {
			if days[d] != u {
				t.Errorf("day %s: %v, want %v", d, days[d], u)
			}
		}
	}
	t.Run("before any day is closed, the days come from the account", check)
	if err := s.CloseDays(ctx, "acme", now); err != nil {
		t.Fatal(err)
	}
	t.Run("after the daily reset closed them, from the recent days", check)
	t.Run("a second close changes nothing", func(t *testing.T) {
		if err := s.CloseDays(ctx, "acme", now); err != nil {
			t.Fatal(err)
		}
		check(t)
	})
}
