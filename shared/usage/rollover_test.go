package usage_test

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// dailyUsage returns the organisation's usage per UTC day over the week
// before the clock's day and the day after it.
func (m *meter) dailyUsage(org string) map[string]money.Money {
	m.t.Helper()
	now := m.clock.Now()
	days, err := m.st.DailyUsage(m.t.Context(), org, now.AddDate(0, 0, -7), now.AddDate(0, 0, 1))
	if err != nil {
		m.t.Fatalf("daily usage %s: %v", org, err)
	}
	return days
}

// dailyReset runs the daily reset job and fails on an error.
func (m *meter) dailyReset() {
	m.t.Helper()
	if err := m.svc.DailyReset(m.t.Context()); err != nil {
		m.t.Fatalf("daily reset: %v", err)
	}
}

// has reports whether the table holds the item pk, sk.
func (m *meter) has(pk, sk string) bool {
	m.t.Helper()
	for _, it := range m.items(pk) {
		if attrS(it, "PK") == pk && attrS(it, "SK") == sk {
			return true
		}
	}
	return false
}

func TestRollover(t *testing.T) {
	lastSecond := time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC)
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

	t.Run("usage counts on the UTC day it arrives, and a new day starts at zero and unblocked", func(t *testing.T) {
		m := newMeter(t, lastSecond)
		m.createOrg("acme")
		m.spend("acme", "1", "0")

		m.record(event("late", "acme", "1", lastSecond.Add(-time.Second)))
		if a := m.account("acme"); a.UsedToday != money.Dollars(1) {
			t.Errorf("at 23:59:59 today's usage is %v, want 1", a.UsedToday)
		}
		a := m.allowance("acme")
		if a.Allowed || a.Reason != billing.ReasonDailyLimitReached || a.ResetsAt == nil || !a.ResetsAt.Equal(midnight) {
			t.Fatalf("at 23:59:59 with the budget used: %+v, want refused until %v", a, midnight)
		}

		m.clock.Set(midnight) // no daily reset has run
		acct := m.account("acme")
		if acct.UsedToday != 0 || acct.UsagePeriod != money.Dollars(1) {
			t.Errorf("at midnight: today %v, period %v; want 0 and 1", acct.UsedToday, acct.UsagePeriod)
		}
		if a := m.allowance("acme"); !a.Allowed || a.Available != money.Dollars(1) || a.Reason != "" || a.ResetsAt != nil {
			t.Errorf("at midnight: %+v, want allowed with the whole budget of 1", a)
		}

		// Sent just before midnight, arriving just after: it counts today.
		m.clock.Set(midnight.Add(time.Second))
		m.record(event("early", "acme", "0.250001", lastSecond.Add(500*time.Millisecond)))
		acct = m.account("acme")
		if acct.UsedToday != money.MustParse("0.250001") || acct.UsagePeriod != money.MustParse("1.250001") {
			t.Errorf("after midnight: today %v, period %v; want 0.250001 and 1.250001", acct.UsedToday, acct.UsagePeriod)
		}
		want := map[string]money.Money{"2026-11-27": money.Dollars(1), "2026-11-28": money.MustParse("0.250001")}
		if got := m.dailyUsage("acme"); !maps.Equal(got, want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
	})

	t.Run("the daily reset closes yesterday into a snapshot, keeps every figure and is safe to repeat", func(t *testing.T) {
		m := newMeter(t, lastSecond)
		m.createOrg("acme")
		m.createOrg("globex")
		m.spend("acme", "1", "0")
		m.use("acme", "late", "1.000003")
		m.use("globex", "late", "0.000007")
		if !m.has("NOTIFY#acme", "DAY#2026-11-27") {
			t.Fatal("the budget crossing left no flag for 2026-11-27; the test cannot see the reset remove it")
		}
		m.clock.Set(midnight.Add(time.Minute))
		m.use("acme", "early", "0.5")
		wantDays := m.dailyUsage("acme")
		wantAcct, wantAllow := m.account("acme"), m.allowance("acme")

		m.dailyReset()
		if !m.has("ORG#acme", "DAY#2026-11-27") || !m.has("ORG#globex", "DAY#2026-11-27") {
			t.Error("no DAY#2026-11-27 snapshot after the reset")
		}
		if m.has("ORG#acme", "DAY#2026-11-28") {
			t.Error("today was closed: DAY#2026-11-28 exists while the day is running")
		}
		if !m.has("NOTIFY#acme", "DAY#2026-11-27") {
			t.Error("yesterday's notification flags are gone: a second reset would publish them again")
		}
		if got := m.dailyUsage("acme"); !maps.Equal(got, wantDays) {
			t.Errorf("daily usage after the reset %v, want %v", got, wantDays)
		}
		if got := m.dailyUsage("globex"); !maps.Equal(got, map[string]money.Money{"2026-11-27": 7}) {
			t.Errorf("globex daily usage after the reset %v, want 0.000007 on 2026-11-27", got)
		}
		if got := m.account("acme"); got != wantAcct {
			t.Errorf("account after the reset %+v, want %+v", got, wantAcct)
		}
		if got := m.allowance("acme"); !reflect.DeepEqual(got, wantAllow) {
			t.Errorf("allowance after the reset %+v, want %+v", got, wantAllow)
		}

		table := m.items("")
		m.dailyReset()
		if again := m.items(""); !reflect.DeepEqual(again, table) {
			t.Errorf("a second reset changed the table:\nbefore %v\nafter  %v", table, again)
		}

		m.clock.Advance(24 * time.Hour)
		m.dailyReset()
		if m.has("NOTIFY#acme", "DAY#2026-11-27") {
			t.Error("the next day's reset left the flags of the day before yesterday")
		}
	})

	t.Run("a reset that runs days late closes every earlier day and nothing of today", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		want := map[string]money.Money{}
		for d := range 3 {
			m.clock.Set(noon.AddDate(0, 0, d))
			amount := money.Money(1_000_001 * (d + 1))
			m.record(event("day-"+billing.Day(m.clock.Now()), "acme", amount.String(), m.clock.Now()))
			want[billing.Day(m.clock.Now())] = amount
		}
		m.dailyReset()
		for d := range 2 {
			if day := billing.Day(noon.AddDate(0, 0, d)); !m.has("ORG#acme", "DAY#"+day) {
				t.Errorf("day %s was not closed", day)
			}
		}
		if day := billing.Day(m.clock.Now()); m.has("ORG#acme", "DAY#"+day) {
			t.Errorf("today %s was closed", day)
		}
		if got := m.dailyUsage("acme"); !maps.Equal(got, want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
		if a := m.account("acme"); a.UsedToday != want[billing.Day(m.clock.Now())] || a.UsagePeriod != money.Money(6_000_006) {
			t.Errorf("today %v, period %v; want %v and 6.000006", a.UsedToday, a.UsagePeriod, want[billing.Day(m.clock.Now())])
		}
	})
}
