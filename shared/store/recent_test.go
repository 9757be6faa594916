package store_test

import (
	"maps"
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

// TestSpendViewDays: Spend Management's one BatchGetItem carries the 30
// days of its chart, closed or not, and nothing outside them; a RECENT item
// written for a shorter window (before it held 30 days) is not trusted:
// the days are queried then.
func TestSpendViewDays(t *testing.T) {
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", money.Dollars(10))
	ctx := t.Context()
	from := now.AddDate(0, 0, -29)
	want := map[string]money.Money{}
	for n := range 40 {
		at := now.AddDate(0, 0, -n)
		u := money.Dollars(int64(n + 1))
		if err := s.AddUsage(ctx, "acme", at, u); err != nil {
			t.Fatal(err)
		}
		if n < 30 {
			want[billing.Day(at)] = u
		}
	}
	if err := s.CloseDays(ctx, "acme", now); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, wantRequests int) {
		t.Helper()
		db.Reset()
		_, days, _, err := s.SpendView(ctx, "acme", from, now)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(days, want) {
			t.Errorf("days %v, want %v", days, want)
		}
		if got := len(db.Requests()); got != wantRequests {
			t.Errorf("%d requests, want %d", got, wantRequests)
		}
	}
	t.Run("from the RECENT item, in one request", func(t *testing.T) { check(t, 1) })
	t.Run("a RECENT item of a 7-day window is not enough: the days are queried", func(t *testing.T) {
		err := s.Items().Put(ctx, map[string]any{"PK": "ORG#acme", "SK": "RECENT", "days": map[string]money.Money{billing.Day(now.AddDate(0, 0, -1)): money.Dollars(2)}, "window": 7}, false)
		if err != nil {
			t.Fatal(err)
		}
		check(t, 2)
	})
}
