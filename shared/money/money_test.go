package money_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/acme/billing/shared/money"
)

func TestDollars(t *testing.T) {
	t.Run("whole dollars are a million micro-dollars each", func(t *testing.T) {
		if got := money.Dollars(25); got != 25_000_000 {
			t.Errorf("Dollars(25) = %d, want 25000000", got)
		}
		if got := money.Dollars(-3); got != -3_000_000 {
			t.Errorf("Dollars(-3) = %d, want -3000000", got)
		}
	})

	t.Run("the largest and smallest whole dollars fit", func(t *testing.T) {
		if got := money.Dollars(9_223_372_036_854); got != 9_223_372_036_854_000_000 {
			t.Errorf("Dollars(9223372036854) = %d", got)
		}
		if got := money.Dollars(-9_223_372_036_854); got != -9_223_372_036_854_000_000 {
			t.Errorf("Dollars(-9223372036854) = %d", got)
		}
	})

	for _, d := range []int64{9_223_372_036_855, -9_223_372_036_855, math.MaxInt64, math.MinInt64} {
		t.Run("an overflowing amount panics", func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Dollars(%d) did not panic", d)
				}
			}()
			money.Dollars(d)
		})
	}
}

func TestAddSub(t *testing.T) {
	tests := []struct {
		name   string
		a, b   money.Money
		add    money.Money
		addErr error
		sub    money.Money
		subErr error
	}{
		{"small amounts add and subtract", 3 * money.Dollar, money.Cent, 3_010_000, nil, 2_990_000, nil},
		{"a debit adds and subtracts", money.Dollar, -2 * money.Dollar, -money.Dollar, nil, 3 * money.Dollar, nil},
		{"adding to the largest amount overflows", math.MaxInt64, 1, 0, money.ErrRange, math.MaxInt64 - 1, nil},
		{"subtracting from the smallest amount overflows", math.MinInt64, 1, math.MinInt64 + 1, nil, 0, money.ErrRange},
		{"subtracting the smallest amount from zero overflows", 0, math.MinInt64, math.MinInt64, nil, 0, money.ErrRange},
		{"subtracting the smallest amount from a debit fits", -1, math.MinInt64, 0, money.ErrRange, math.MaxInt64, nil},
		{"the limits cancel out", math.MaxInt64, math.MinInt64, -1, nil, 0, money.ErrRange},
		{"subtracting a debit from the largest amount overflows", math.MaxInt64, -1, math.MaxInt64 - 1, nil, 0, money.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add, err := tt.a.Add(tt.b)
			if !errors.Is(err, tt.addErr) || (err == nil && add != tt.add) {
				t.Errorf("%d.Add(%d) = %d, %v; want %d, %v", tt.a, tt.b, add, err, tt.add, tt.addErr)
			}
			sub, err := tt.a.Sub(tt.b)
			if !errors.Is(err, tt.subErr) || (err == nil && sub != tt.sub) {
				t.Errorf("%d.Sub(%d) = %d, %v; want %d, %v", tt.a, tt.b, sub, err, tt.sub, tt.subErr)
			}
		})
	}
}

func TestMinMax(t *testing.T) {
	t.Run("Min and Max pick the smaller and the larger amount", func(t *testing.T) {
		a, b := -money.Cent, money.Dollar
		if got := money.Min(a, b); got != a {
			t.Errorf("Min(%d, %d) = %d", a, b, got)
		}
		if got := money.Max(a, b); got != b {
			t.Errorf("Max(%d, %d) = %d", a, b, got)
		}
	})
}

func TestJSON(t *testing.T) {
	type invoice struct {
		Amount money.Money `json:"amount"`
	}

	t.Run("an amount is written as a decimal string", func(t *testing.T) {
		got, err := json.Marshal(invoice{Amount: 2500})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"amount":"0.0025"}`; string(got) != want {
			t.Errorf("json.Marshal = %s, want %s", got, want)
		}
	})

	t.Run("amounts survive a round trip", func(t *testing.T) {
		for _, m := range []money.Money{0, 2500, -3_100_000, math.MaxInt64, math.MinInt64} {
			data, err := json.Marshal(invoice{Amount: m})
			if err != nil {
				t.Fatal(err)
			}
			var got invoice
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("json.Unmarshal(%s) error: %v", data, err)
			}
			if got.Amount != m {
				t.Errorf("json.Unmarshal(%s) = %d, want %d", data, got.Amount, m)
			}
		}
	})

	t.Run("a JSON number is rejected", func(t *testing.T) {
		var got invoice
		if err := json.Unmarshal([]byte(`{"amount":0.0025}`), &got); err == nil {
			t.Errorf("json.Unmarshal accepted a number: %d", got.Amount)
		}
	})

	t.Run("a malformed string returns the Parse error", func(t *testing.T) {
		var got invoice
		err := json.Unmarshal([]byte(`{"amount":"1e3"}`), &got)
		if !errors.Is(err, money.ErrSyntax) {
			t.Errorf("json.Unmarshal error = %v, want %v", err, money.ErrSyntax)
		}
	})
}
