package money

import (
	"math"
	"strings"
)

// Parse parses a plain decimal number of dollars, as written by a program: an
// optional leading '-', one or more ASCII digits, then optionally a '.' and 1 to 6
// digits. For example "12", "0.0025", "-3.1" and "5000.000000". Nothing else is
// accepted: no spaces, '+', '$', thousands separators, exponents ("1e3"), ".5",
// "5." or words such as "NaN". Use it for stored, configured and JSON amounts;
// use ParseInput for what a person typed.
//
// Parse returns ErrEmpty for "", ErrSyntax for anything malformed, ErrPrecision
// for a well-formed amount with more than 6 decimals (even trailing zeros), and
// ErrRange for an amount that does not fit in Money. Syntax is judged first, then
// precision, then range. Parse(m.String()) == m for every Money.
func Parse(s string) (Money, error) {
	if s == "" {
		return 0, ErrEmpty
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if !allDigits(whole) || (hasPoint && !allDigits(frac)) {
		return 0, ErrSyntax
	}
	if len(frac) > 6 {
		return 0, ErrPrecision
	}

	// The magnitude is built in a uint64 so that math.MinInt64, whose absolute
	// value is one more than math.MaxInt64, parses too.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var dollars uint64
	for i := 0; i < len(whole); i++ {
		dollars = dollars*10 + uint64(whole[i]-'0')
		if dollars > limit/uint64(Dollar) {
			return 0, ErrRange
		}
	}
	var micros uint64
	for i := range 6 {
		micros *= 10
		if i < len(frac) {
			micros += uint64(frac[i] - '0')
		}
	}
	abs := dollars*uint64(Dollar) + micros
	if abs > limit {
		return 0, ErrRange
	}
	if neg {
		return Money(-abs), nil
	}
	return Money(abs), nil
}

// ParseInput parses an amount a person typed into a dollar form field. It trims
// surrounding white space, allows one '$' after an optional leading '-' ("-$3.10",
// not "$-3.10"), and allows well-formed thousands separators in the whole dollars
// ("1,000.50", "$1,234,567"; "1,00", "1000,000" and "0,500" are ErrSyntax). The
// rest is read as by Parse, with the same errors: blank input is ErrEmpty.
func ParseInput(s string) (Money, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	sign := ""
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = "-", rest
	}
	s, _ = strings.CutPrefix(s, "$")
	if s == "" || !isDigit(s[0]) {
		return 0, ErrSyntax
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	whole, ok := ungroup(whole)
	if !ok {
		return 0, ErrSyntax
	}
	if hasPoint {
		whole += "." + frac
	}
	return Parse(sign + whole)
}

// ungroup removes thousands separators from whole dollars: "1,234,567" becomes
// "1234567". With separators, the first group has 1 to 3 digits and no leading
// zero, and every later group exactly 3. Digits themselves are left to Parse.
func ungroup(whole string) (string, bool) {
	if !strings.Contains(whole, ",") {
		return whole, true
	}
	groups := strings.Split(whole, ",")
	if first := groups[0]; len(first) == 0 || len(first) > 3 || first[0] == '0' {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
