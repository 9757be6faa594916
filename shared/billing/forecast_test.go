package billing_test

import (
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// A pure test: the clock is an argument and nothing reads the real one.
func TestForecastAt(t *testing.T) {
	now := time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)
	week := func(amount string) map[string]money.Money {
		d := map[string]money.Money{}
		for i := 1; i <= 7; i++ {
			d[billing.Day(now.AddDate(0, 0, -i))] = money.MustParse(amount)
		}
		return d
	}
	cases := []struct {
		name      string
		remaining money.Money
		daily     map[string]money.Money
		want      billing.Forecast
	}{
		{"$70 left at $10 a day lasts 7 days", money.Dollars(70), week("10"),
			billing.Forecast{DailyAverage: money.Dollars(10), Days: 7, Until: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Known: true}},
		{"a part day does not count: $79.99 at $10 a day lasts 7 days", money.MustParse("79.99"), week("10"),
			billing.Forecast{DailyAverage: money.Dollars(10), Days: 7, Until: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Known: true}},
		{"less than a day's usage left lasts 0 days, until today", money.Dollars(5), week("10"),
			billing.Forecast{DailyAverage: money.Dollars(10), Days: 0, Until: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Known: true}},
		{"the average is over all 7 days, days without usage included", money.Dollars(7), map[string]money.Money{billing.Day(now.AddDate(0, 0, -3)): money.Dollars(7)},
			billing.Forecast{DailyAverage: money.Dollars(1), Days: 7, Until: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Known: true}},
		{"today and days before the window are not counted", money.Dollars(100), map[string]money.Money{
			billing.Day(now): money.Dollars(1000), billing.Day(now.AddDate(0, 0, -8)): money.Dollars(1000), billing.Day(now.AddDate(0, 0, -1)): money.Dollars(7)},
			billing.Forecast{DailyAverage: money.Dollars(1), Days: 100, Until: time.Date(2027, 3, 7, 0, 0, 0, 0, time.UTC), Known: true}},
		{"the average rounds down to the micro-dollar", money.Dollars(1), map[string]money.Money{billing.Day(now.AddDate(0, 0, -1)): money.MustParse("0.00001")},
			billing.Forecast{DailyAverage: money.MustParse("0.000001"), Days: 1_000_000, Until: now.Truncate(24*time.Hour).AddDate(0, 0, 100*366), Known: true}},
		{"no usage in the window: no forecast", money.Dollars(70), map[string]money.Money{}, billing.Forecast{}},
		{"nothing remaining: no forecast", 0, week("10"), billing.Forecast{}},
		{"negative remaining: no forecast", money.Dollars(-5), week("10"), billing.Forecast{}},
		{"a sum that would overflow: no forecast", money.Dollars(70), week("9000000000000"), billing.Forecast{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := billing.ForecastAt(c.remaining, c.daily, now); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestOverageUsed(t *testing.T) {
	cases := []struct {
		name            string
		ledger, used, l string
		want            string
	}{
		{"credits left: none of the line is used", "50", "20", "25", "0"},
		{"exactly at zero: none used", "20", "20", "25", "0"},
		{"$10 below zero uses $10 of $25", "20", "30", "25", "10"},
		{"below the whole line: all of it is used", "20", "60", "25", "25"},
		{"no line: nothing used", "20", "30", "0", "0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := billing.Account{Ledger: money.MustParse(c.ledger), UsagePeriod: money.MustParse(c.used), OverageLimit: money.MustParse(c.l)}
			if got := a.Figures().OverageUsed(); got != money.MustParse(c.want) {
				t.Errorf("OverageUsed %v, want %s", got, c.want)
			}
		})
	}
}
