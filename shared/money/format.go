package money

import (
	"math"
	"strconv"
	"strings"
)

// String returns m as an exact decimal number of dollars, for storage, exports and
// logs: trailing zeros are trimmed but at least two decimals are kept, so 25 USD
// is "25.00", 0.0025 USD "0.0025", -3.1 USD "-3.10" and 0 "0.00". It never rounds:
// Parse(m.String()) == m for every Money. Use Display for people.
func (m Money) String() string {
	neg, abs := m.magnitude()
	frac := strconv.FormatUint(abs%uint64(Dollar)+uint64(Dollar), 10)[1:] // six digits, zero-padded
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	s := strconv.FormatUint(abs/uint64(Dollar), 10) + "." + frac
	if neg {
		return "-" + s
	}
	return s
}

// Display returns m for people: dollars rounded to whole cents, half away from
// zero, with a '$', thousands separators and a leading '-' for debits, as in
// "$1,234.57", "-$3.10" and "$0.00". An amount that rounds to zero is "$0.00",
// never "-$0.00". Display is exact for every Money, including the int64 limits.
func (m Money) Display() string {
	neg, abs := m.magnitude()
	cents := (abs + uint64(Cent)/2) / uint64(Cent) // cannot overflow: abs <= 1<<63
	s := "$" + group(cents/100) + "." + strconv.FormatUint(cents%100+100, 10)[1:]
	if neg && cents != 0 {
		return "-" + s
	}
	return s
}

// RoundCents returns m rounded to a whole number of cents, half away from zero,
// still in micro-dollars: 1.125 USD becomes 1.13 USD and -1.125 USD becomes
// -1.13 USD. The one exception is within half a cent of the int64 limits (about
// ±9.2 trillion dollars), where the away-from-zero cent does not fit in Money:
// there RoundCents rounds toward zero, so the result is always whole cents.
func (m Money) RoundCents() Money {
	rem := m % Cent // has the sign of m
	trunc := m - rem
	switch {
	case rem >= Cent/2 && trunc <= math.MaxInt64-Cent:
		return trunc + Cent
	case rem <= -Cent/2 && trunc >= math.MinInt64+Cent:
		return trunc - Cent
	default:
		return trunc
	}
}

// group formats n in decimal with a ',' between each group of three digits.
func group(n uint64) string {
	digits := strconv.FormatUint(n, 10)
	var b strings.Builder
	b.Grow(len(digits) + len(digits)/3)
	for i := 0; i < len(digits); i++ {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}
