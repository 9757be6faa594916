package money_test

import (
	"errors"
	"math"
	"testing"

	"github.com/acme/billing/shared/money"
)

func TestParse(t *testing.T) {
	valid := []struct {
		name string
		in   string
		want money.Money
	}{
		{"whole dollars parse", "12", 12 * money.Dollar},
		{"zero parses", "0", 0},
		{"negative zero parses as zero", "-0.00", 0},
		{"a fraction of a cent parses exactly", "0.0025", 2500},
		{"a debit with one decimal parses", "-3.1", -3_100_000},
		{"six decimals of zeros parse", "5000.000000", 5000 * money.Dollar},
		{"one micro-dollar parses", "0.000001", money.Microdollar},
		{"leading zeros are allowed", "007.50", 7_500_000},
		{"the largest amount parses", "9223372036854.775807", math.MaxInt64},
		{"the smallest amount parses", "-9223372036854.775808", math.MinInt64},
		{"the largest whole dollars parse", "9223372036854", 9223372036854 * money.Dollar},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}

	invalid := []struct {
		name string
		in   string
		want error
	}{
		{"an empty string is empty", "", money.ErrEmpty},
		{"a leading space is a syntax error", " 1", money.ErrSyntax},
		{"a trailing newline is a syntax error", "1\n", money.ErrSyntax},
		{"only spaces are a syntax error", "   ", money.ErrSyntax},
		{"a plus sign is a syntax error", "+1", money.ErrSyntax},
		{"a lone minus is a syntax error", "-", money.ErrSyntax},
		{"two minus signs are a syntax error", "--1", money.ErrSyntax},
		{"an exponent is a syntax error", "1e3", money.ErrSyntax},
		{"a capital exponent is a syntax error", "1E3", money.ErrSyntax},
		{"a negative exponent is a syntax error", "1.5e-2", money.ErrSyntax},
		{"a missing whole part is a syntax error", ".5", money.ErrSyntax},
		{"a negative missing whole part is a syntax error", "-.5", money.ErrSyntax},
		{"a trailing point is a syntax error", "5.", money.ErrSyntax},
		{"two points are a syntax error", "1.2.3", money.ErrSyntax},
		{"a thousands separator is a syntax error", "1,000", money.ErrSyntax},
		{"a dollar sign is a syntax error", "$1", money.ErrSyntax},
		{"NaN is a syntax error", "NaN", money.ErrSyntax},
		{"Inf is a syntax error", "Inf", money.ErrSyntax},
		{"negative infinity is a syntax error", "-Infinity", money.ErrSyntax},
		{"hexadecimal is a syntax error", "0x10", money.ErrSyntax},
		{"an underscore is a syntax error", "1_000", money.ErrSyntax},
		{"a non-ASCII digit is a syntax error", "١٢", money.ErrSyntax},
		{"seven decimals are too precise", "0.0000001", money.ErrPrecision},
		{"seven decimals of zeros are too precise", "1.0000000", money.ErrPrecision},
		{"one past the largest amount is out of range", "9223372036854.775808", money.ErrRange},
		{"one past the smallest amount is out of range", "-9223372036854.775809", money.ErrRange},
		{"too many whole dollars are out of range", "9223372036855", money.ErrRange},
		{"a huge number is out of range", "99999999999999999999999999999", money.ErrRange},
		{"syntax is judged before range", "99999999999999999999999x", money.ErrSyntax},
		{"syntax is judged before precision", "1.1234567x", money.ErrSyntax},
		{"precision is judged before range", "99999999999999999.1234567", money.ErrPrecision},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse(%q) = %d, %v; want error %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Run("messages speak to the person who typed the amount", func(t *testing.T) {
		tests := []struct {
			err  error
			want string
		}{
			{money.ErrEmpty, "amount is empty"},
			{money.ErrSyntax, "amount is not a valid number of dollars"},
			{money.ErrPrecision, "amount has more than 6 decimal places"},
			{money.ErrRange, "amount is too large"},
		}
		for _, tt := range tests {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("error message = %q, want %q", got, tt.want)
			}
		}
	})
}

func TestParseInput(t *testing.T) {
	valid := []struct {
		name string
		in   string
		want money.Money
	}{
		{"a plain amount parses", "12.50", 12_500_000},
		{"surrounding spaces are trimmed", "  12.50 ", 12_500_000},
		{"surrounding tabs and newlines are trimmed", "\t5\n", 5 * money.Dollar},
		{"a dollar sign is allowed", "$12", 12 * money.Dollar},
		{"a debit may put the dollar sign after the minus", "-$3.10", -3_100_000},
		{"a thousands separator is allowed", "1,000.50", 1_000_500_000},
		{"several thousands separators are allowed", "$1,234,567.89", 1_234_567_890_000},
		{"a separated debit is allowed", "-$1,000", -1000 * money.Dollar},
		{"a fraction of a cent is kept", "0.0025", 2500},
		{"the smallest amount parses with separators", "-$9,223,372,036,854.775808", math.MinInt64},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.ParseInput(tt.in)
			if err != nil {
				t.Fatalf("ParseInput(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseInput(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}

	invalid := []struct {
		name string
		in   string
		want error
	}{
		{"an empty field is empty", "", money.ErrEmpty},
		{"a field of spaces is empty", "   ", money.ErrEmpty},
		{"a lone dollar sign is a syntax error", "$", money.ErrSyntax},
		{"a lone minus is a syntax error", "-", money.ErrSyntax},
		{"a minus after the dollar sign is a syntax error", "$-5", money.ErrSyntax},
		{"two dollar signs are a syntax error", "$$5", money.ErrSyntax},
		{"a space after the dollar sign is a syntax error", "$ 5", money.ErrSyntax},
		{"a trailing dollar sign is a syntax error", "5$", money.ErrSyntax},
		{"a currency code is a syntax error", "USD 5", money.ErrSyntax},
		{"a short group is a syntax error", "1,00", money.ErrSyntax},
		{"a short last group is a syntax error", "1,000,00", money.ErrSyntax},
		{"a long first group is a syntax error", "1000,000", money.ErrSyntax},
		{"a leading separator is a syntax error", ",100", money.ErrSyntax},
		{"a doubled separator is a syntax error", "1,,000", money.ErrSyntax},
		{"a zero first group is a syntax error", "0,500", money.ErrSyntax},
		{"a separator in the decimals is a syntax error", "1.000,5", money.ErrSyntax},
		{"an exponent is a syntax error", "$1e3", money.ErrSyntax},
		{"seven decimals are too precise", "$1.1234567", money.ErrPrecision},
		{"too many dollars are out of range", "$9,223,372,036,855", money.ErrRange},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.ParseInput(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseInput(%q) = %d, %v; want error %v", tt.in, got, err, tt.want)
			}
		})
	}
}
