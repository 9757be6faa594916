package invoicing_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
)

func TestCompute(t *testing.T) {
	m := money.MustParse
	tests := []struct {
		name          string
		usage, ledger money.Money
		want          invoicing.Figures
	}{
		{"a positive balance that covers the usage pays it all, to the micro-dollar", m("12.345678"), m("100"),
			invoicing.Figures{Usage: m("12.345678"), Invoiced: m("12.345678"), Applied: m("12.345678")}},
		{"a balance of exactly the usage pays it all", m("42.424242"), m("42.424242"),
			invoicing.Figures{Usage: m("42.424242"), Invoiced: m("42.424242"), Applied: m("42.424242")}},
		{"a positive balance below the usage is applied in full and the rest is due, rounded down to cents", m("50.123456"), m("20"),
			invoicing.Figures{Usage: m("50.123456"), Invoiced: m("50.12"), Applied: m("20"), Due: m("30.12"), Carried: m("0.003456")}},
		{"a balance with its own sub-cent part leaves whole cents due", m("50"), m("19.995"),
			invoicing.Figures{Usage: m("50"), Invoiced: m("49.995"), Applied: m("19.995"), Due: m("30"), Carried: m("0.005")}},
		{"a zero balance applies nothing", m("7.891234"), 0,
			invoicing.Figures{Usage: m("7.891234"), Invoiced: m("7.89"), Due: m("7.89"), Carried: m("0.001234")}},
		{"a negative balance applies nothing", m("7.891234"), m("-5"),
			invoicing.Figures{Usage: m("7.891234"), Invoiced: m("7.89"), Due: m("7.89"), Carried: m("0.001234")}},
		{"zero usage closes nothing", 0, m("100"), invoicing.Figures{}},
		{"zero usage with a negative balance closes nothing", 0, m("-3"), invoicing.Figures{}},
		{"overage: usage past the balance on the credit line is due", m("35.50"), m("10"),
			invoicing.Figures{Usage: m("35.50"), Invoiced: m("35.50"), Applied: m("10"), Due: m("25.50")}},
		{"usage under a cent with no balance is all carried", m("0.004"), 0,
			invoicing.Figures{Usage: m("0.004"), Carried: m("0.004")}},
		{"an amount due below the $0.50 minimum charge is carried and the credit settles the rest", m("10.30"), m("10"),
			invoicing.Figures{Usage: m("10.30"), Invoiced: m("10"), Applied: m("10"), Carried: m("0.30")}},
		{"an amount due of exactly the minimum charge is charged", m("0.505"), 0,
			invoicing.Figures{Usage: m("0.505"), Invoiced: m("0.50"), Due: m("0.50"), Carried: m("0.005")}},
		{"negative usage (never recorded) closes nothing", m("-1"), m("10"), invoicing.Figures{Usage: m("-1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invoicing.Compute(tt.usage, tt.ledger); got != tt.want {
				t.Errorf("Compute(%v, %v) =\n %+v\nwant\n %+v", tt.usage, tt.ledger, got, tt.want)
			}
		})
	}

	t.Run("for any usage and balance nothing is lost or invented and the amount due is whole cents", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for range 100_000 {
			usage := money.Money(r.Int64N(int64(money.Dollars(1000))))
			ledger := money.Money(r.Int64N(int64(money.Dollars(2000)))) - money.Dollars(500)
			f := invoicing.Compute(usage, ledger)
			switch {
			case f.Invoiced+f.Carried != usage:
				t.Fatalf("%v, %v: invoiced %v + carried %v ≠ usage", usage, ledger, f.Invoiced, f.Carried)
			case f.Applied+f.Due != f.Invoiced:
				t.Fatalf("%v, %v: applied %v + due %v ≠ invoiced %v", usage, ledger, f.Applied, f.Due, f.Invoiced)
			case f.Due%money.Cent != 0 || (f.Due != 0 && f.Due < invoicing.MinimumCharge):
				t.Fatalf("%v, %v: due %v is not 0 or whole cents ≥ the minimum", usage, ledger, f.Due)
			case f.Applied != min(max(ledger, 0), f.Invoiced) || f.Applied != min(max(ledger, 0), usage):
				t.Fatalf("%v, %v: applied %v is not min(max(ledger, 0), usage)", usage, ledger, f.Applied)
			case f.Carried < 0 || (f.Due > 0 && f.Carried >= money.Cent) || (f.Due == 0 && f.Carried >= invoicing.MinimumCharge):
				t.Fatalf("%v, %v: carried %v is more than the rule allows", usage, ledger, f.Carried)
			case f.Invoiced.RoundCents()-f.Applied.RoundCents() != f.Due:
				t.Fatalf("%v, %v: the usage and credit lines as shown (%v − %v) do not give the amount due %v",
					usage, ledger, f.Invoiced.Display(), f.Applied.Display(), f.Due)
			}
		}
	})
}

func TestPeriods(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name               string
		at                 time.Time
		wantNext, wantPrev time.Time
	}{
		{"mid-month the next close is the 1st of next month", time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
		{"exactly at a close the next is a month later and the period closed is the one just ended", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"in December the next close is New Year's Day", time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"a time in another zone is taken in UTC", time.Date(2027, 1, 1, 0, 30, 0, 0, berlin),
			time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := invoicing.NextClose(tc.at); !got.Equal(tc.wantNext) || got.Location() != time.UTC || !got.After(tc.at) {
				t.Errorf("NextClose(%v) = %v, want %v in UTC", tc.at, got, tc.wantNext)
			}
			if got := invoicing.PreviousPeriod(tc.at); !got.Equal(tc.wantPrev) {
				t.Errorf("PreviousPeriod(%v) = %v, want %v", tc.at, got, tc.wantPrev)
			}
		})
	}
}
