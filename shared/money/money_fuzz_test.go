package money_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/acme/billing/shared/money"
)

// FuzzParse checks that Parse and ParseInput never panic, only return the
// package's errors, and that whatever Parse accepts has at most 6 decimals, no
// exponent, reads the same through ParseInput and survives String.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "0", "-0", "12", "0.0025", "-3.1", "5000.000000", "0.000001",
		"9223372036854.775807", "9223372036854.775808",
		"-9223372036854.775808", "-9223372036854.775809",
		"1e3", "1E-3", ".5", "5.", "1.2.3", "+1", "--1", "NaN", "-Inf",
		"0.0000001", "1,000.50", "1,00", "$1,234,567.89", "-$3.10", "$-3",
		" 12.50 ", "99999999999999999999999", "0x10", "١",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, inErr := money.ParseInput(s)
		checkErr(t, "ParseInput", s, inErr)
		if inErr == nil {
			if back, err := money.Parse(in.String()); err != nil || back != in {
				t.Fatalf("ParseInput(%q) = %d but Parse(%q) = %d, %v", s, in, in.String(), back, err)
			}
		}

		m, err := money.Parse(s)
		checkErr(t, "Parse", s, err)
		if err != nil {
			return
		}
		if strings.ContainsAny(s, "eE") {
			t.Fatalf("Parse(%q) accepted an exponent: %d", s, m)
		}
		if _, frac, ok := strings.Cut(s, "."); ok && len(frac) > 6 {
			t.Fatalf("Parse(%q) accepted more than 6 decimals: %d", s, m)
		}
		if back, err := money.Parse(m.String()); err != nil || back != m {
			t.Fatalf("Parse(%q) = %d but Parse(%q) = %d, %v", s, m, m.String(), back, err)
		}
		if inErr != nil || in != m {
			t.Fatalf("Parse(%q) = %d but ParseInput = %d, %v", s, m, in, inErr)
		}
	})
}

func checkErr(t *testing.T, fn, s string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, want := range []error{money.ErrEmpty, money.ErrSyntax, money.ErrPrecision, money.ErrRange} {
		if errors.Is(err, want) {
			return
		}
	}
	t.Fatalf("%s(%q) returned an unknown error: %v", fn, s, err)
}
