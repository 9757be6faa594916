// Package money holds Money, the one type for amounts of US dollars in the billing
// product, and the one place amounts are parsed and formatted. Money is an integer
// number of micro-dollars; it never passes through a float.
package money

import (
	"errors"
	"fmt"
	"math"
)

// Money is an amount of US dollars in integer micro-dollars (1 USD = 1_000_000).
// Negative amounts are debits. The zero value is zero dollars. Money covers about
// ±9.2 trillion dollars; use Add and Sub where an overflow is possible.
type Money int64

// Units of Money.
const (
	Microdollar Money = 1
	Cent        Money = 10_000
	Dollar      Money = 1_000_000
)

// Errors returned by Parse, ParseInput, UnmarshalText, Add and Sub. Test for them
// with errors.Is. Their messages are written to be shown to the person who typed
// the amount.
var (
	ErrEmpty     = errors.New("amount is empty")
	ErrSyntax    = errors.New("amount is not a valid number of dollars")
	ErrPrecision = errors.New("amount has more than 6 decimal places")
	ErrRange     = errors.New("amount is too large")
)

// Dollars returns d whole dollars. It panics if d*Dollar does not fit in Money
// (|d| above about 9.2 trillion), so use it for constants and known-small values,
// never for input; parse input with Parse or ParseInput.
func Dollars(d int64) Money {
	if d > math.MaxInt64/int64(Dollar) || d < math.MinInt64/int64(Dollar) {
		panic(fmt.Sprintf("money: Dollars(%d) overflows Money", d))
	}
	return Money(d) * Dollar
}

// Add returns m+n, or ErrRange if the sum does not fit in Money.
func (m Money) Add(n Money) (Money, error) {
	sum := m + n
	if (n > 0 && sum < m) || (n < 0 && sum > m) {
		return 0, ErrRange
	}
	return sum, nil
}

// Sub returns m-n, or ErrRange if the difference does not fit in Money.
func (m Money) Sub(n Money) (Money, error) {
	diff := m - n
	if (n > 0 && diff > m) || (n < 0 && diff < m) {
		return 0, ErrRange
	}
	return diff, nil
}

// Min returns the smaller of a and b.
func Min(a, b Money) Money { return min(a, b) }

// Max returns the larger of a and b.
func Max(a, b Money) Money { return max(a, b) }

// magnitude reports whether m is negative and returns its absolute value, which
// fits in a uint64 even for math.MinInt64.
func (m Money) magnitude() (neg bool, abs uint64) {
	if m < 0 {
		return true, -uint64(m)
	}
	return false, uint64(m)
}

// MustParse is Parse for constants and tests: it panics on an invalid amount.
func MustParse(s string) Money {
	m, err := Parse(s)
	if err != nil {
		panic("money.MustParse(" + s + "): " + err.Error())
	}
	return m
}
