package money_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/acme/billing/shared/money"
)

func TestString(t *testing.T) {
	tests := []struct {
		name string
		in   money.Money
		want string
	}{
		{"zero has two decimals", 0, "0.00"},
		{"whole dollars have two decimals", 25 * money.Dollar, "25.00"},
		{"a fraction of a cent keeps its digits", 2500, "0.0025"},
		{"a debit keeps two decimals", -3_100_000, "-3.10"},
		{"six decimals are all kept", 1_234_567, "1.234567"},
		{"one micro-dollar is exact", money.Microdollar, "0.000001"},
		{"a negative micro-dollar is exact", -money.Microdollar, "-0.000001"},
		{"a cent is exact", money.Cent, "0.01"},
		{"the largest amount is exact", math.MaxInt64, "9223372036854.775807"},
		{"the smallest amount is exact", math.MinInt64, "-9223372036854.775808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("Money(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
			}
		})
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		name string
		in   money.Money
		want string
	}{
		{"zero shows two decimals", 0, "$0.00"},
		{"whole dollars show cents", 25 * money.Dollar, "$25.00"},
		{"thousands are separated", 1_234_567_890, "$1,234.57"},
		{"a debit puts the minus before the dollar sign", -3_100_000, "-$3.10"},
		{"three digits need no separator", 999_990_000, "$999.99"},
		{"four digits get a separator", 1000 * money.Dollar, "$1,000.00"},
		{"millions get two separators", 1_000_000 * money.Dollar, "$1,000,000.00"},
		{"a debit in thousands is separated", -1_234_567_890, "-$1,234.57"},
		{"half a cent rounds up", 5000, "$0.01"},
		{"half a cent of debit rounds away from zero", -5000, "-$0.01"},
		{"just under half a cent rounds down", 4999, "$0.00"},
		{"just under half a cent of debit shows zero without a minus", -4999, "$0.00"},
		{"x.xx5 rounds up", 1_125_000, "$1.13"},
		{"negative x.xx5 rounds away from zero", -1_125_000, "-$1.13"},
		{"just under x.xx5 rounds down", 1_124_999, "$1.12"},
		{"just under negative x.xx5 rounds toward zero", -1_124_999, "-$1.12"},
		{"rounding carries into the dollars", 999_995_000, "$1,000.00"},
		{"a negative micro-dollar shows zero without a minus", -money.Microdollar, "$0.00"},
		{"the largest amount is rounded exactly", math.MaxInt64, "$9,223,372,036,854.78"},
		{"the smallest amount is rounded exactly", math.MinInt64, "-$9,223,372,036,854.78"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Display(); got != tt.want {
				t.Errorf("Money(%d).Display() = %q, want %q", int64(tt.in), got, tt.want)
			}
		})
	}

	t.Run("no amount near zero displays a negative zero", func(t *testing.T) {
		for m := -2 * money.Cent; m <= 2*money.Cent; m++ {
			got := m.Display()
			if strings.HasPrefix(got, "-$0.00") {
				t.Fatalf("Money(%d).Display() = %q", int64(m), got)
			}
			if wantZero := -money.Cent/2 < m && m < money.Cent/2; wantZero != (got == "$0.00") {
				t.Fatalf("Money(%d).Display() = %q", int64(m), got)
			}
		}
	})
}

func TestRoundCents(t *testing.T) {
	tests := []struct {
		name string
		in   money.Money
		want money.Money
	}{
		{"zero stays zero", 0, 0},
		{"whole cents are unchanged", 1_230_000, 1_230_000},
		{"x.xx5 rounds up", 1_125_000, 1_130_000},
		{"negative x.xx5 rounds away from zero", -1_125_000, -1_130_000},
		{"just under x.xx5 rounds down", 1_124_999, 1_120_000},
		{"just under negative x.xx5 rounds toward zero", -1_124_999, -1_120_000},
		{"a fraction of a cent rounds to zero", 2500, 0},
		{"half a cent rounds to a cent", 5000, money.Cent},
		{"the largest amount rounds toward zero because the next cent does not fit", math.MaxInt64, largestCents},
		{"the smallest amount rounds toward zero because the next cent does not fit", math.MinInt64, -largestCents},
		{"the largest whole cent is unchanged", largestCents, largestCents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.RoundCents(); got != tt.want {
				t.Errorf("Money(%d).RoundCents() = %d, want %d", int64(tt.in), got, tt.want)
			}
		})
	}

	t.Run("the result is always whole cents within half a cent", func(t *testing.T) {
		for _, m := range sampleAmounts() {
			got := m.RoundCents()
			if got%money.Cent != 0 {
				t.Fatalf("Money(%d).RoundCents() = %d, not whole cents", int64(m), got)
			}
			limit := money.Cent / 2
			if m > largestCents || m < -largestCents {
				limit = money.Cent // rounded toward zero, as documented
			}
			if diff := got - m; diff > limit || diff < -limit {
				t.Fatalf("Money(%d).RoundCents() = %d, too far away", int64(m), got)
			}
		}
	})
}

func TestRoundTrip(t *testing.T) {
	t.Run("parsing String gives back every amount", func(t *testing.T) {
		for _, m := range sampleAmounts() {
			s := m.String()
			got, err := money.Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q) for Money(%d) error: %v", s, int64(m), err)
			}
			if got != m {
				t.Fatalf("Parse(%q) = %d, want %d", s, got, m)
			}
		}
	})

	t.Run("ParseInput reads Display to the rounded cents", func(t *testing.T) {
		for _, m := range sampleAmounts() {
			if m > largestCents || m < -largestCents {
				continue // the rounded cents do not fit in Money
			}
			s := m.Display()
			got, err := money.ParseInput(s)
			if err != nil {
				t.Fatalf("ParseInput(%q) for Money(%d) error: %v", s, int64(m), err)
			}
			if want := m.RoundCents(); got != want {
				t.Fatalf("ParseInput(%q) = %d, want %d", s, got, want)
			}
		}
	})
}

// largestCents is the largest whole number of cents that fits in Money.
const largestCents money.Money = 9_223_372_036_854_770_000

// sampleAmounts returns the int64 boundaries, amounts around zero and cent
// boundaries, and a fixed pseudo-random spread over every magnitude.
func sampleAmounts() []money.Money {
	amounts := []money.Money{
		0, 1, -1, 4999, 5000, -4999, -5000, money.Cent, -money.Cent, money.Dollar, -money.Dollar,
		math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1,
		math.MaxInt64 - 5807, math.MinInt64 + 5808,
	}
	for p := money.Money(1); p <= math.MaxInt64/10; p *= 10 {
		amounts = append(amounts, p, -p, p-1, -p+1, p+1, -p-1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		amounts = append(amounts, money.Money(int64(r.Uint64())>>r.IntN(64)))
	}
	return amounts
}
