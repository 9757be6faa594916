package billing_test

import (
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
)

var (
	plus10  = time.FixedZone("UTC+10", 10*60*60)
	minus5  = time.FixedZone("UTC-5", -5*60*60)
	plus545 = time.FixedZone("UTC+5:45", 5*60*60+45*60)
)

func TestDay(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"a UTC time is its own day", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), "2026-11-27"},
		{"the first instant of a UTC day belongs to that day", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), "2026-11-27"},
		{"the last instant of a UTC day belongs to that day", time.Date(2026, 11, 27, 23, 59, 59, 999_999_999, time.UTC), "2026-11-27"},
		{"late evening west of UTC is already the next UTC day", time.Date(2026, 11, 27, 23, 30, 0, 0, minus5), "2026-11-28"},
		{"early morning east of UTC is still the previous UTC day", time.Date(2026, 11, 28, 8, 0, 0, 0, plus10), "2026-11-27"},
		{"a half-hour zone crosses the UTC day at its own offset", time.Date(2026, 11, 28, 5, 44, 0, 0, plus545), "2026-11-27"},
		{"new year's morning east of UTC is still the old year", time.Date(2027, 1, 1, 9, 0, 0, 0, plus10), "2026-12-31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := billing.Day(tt.in); got != tt.want {
				t.Errorf("Day(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNextMidnight(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{
			name: "the middle of a day is followed by the next midnight",
			in:   time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
			want: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "a millisecond before midnight is followed by that midnight",
			in:   time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, time.UTC),
			want: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "exactly midnight is followed by the midnight a day later",
			in:   time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
			want: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "the last day of the year rolls into the new year",
			in:   time.Date(2026, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
			want: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "february 28th of a leap year rolls into february 29th",
			in:   time.Date(2028, 2, 28, 10, 0, 0, 0, time.UTC),
			want: time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "23:30 in UTC+10 is followed by the next UTC midnight, not local midnight",
			in:   time.Date(2026, 11, 27, 23, 30, 0, 0, plus10), // 13:30 UTC on the 27th
			want: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "local midnight in UTC+10 is followed by the UTC midnight ten hours later",
			in:   time.Date(2026, 11, 28, 0, 0, 0, 0, plus10), // 14:00 UTC on the 27th
			want: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "21:00 in UTC-5 is already the next UTC day",
			in:   time.Date(2026, 11, 27, 21, 0, 0, 0, minus5), // 02:00 UTC on the 28th
			want: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := billing.NextMidnight(tt.in)
			if !got.Equal(tt.want) {
				t.Errorf("NextMidnight(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("NextMidnight(%v) is in %v, want UTC", tt.in, got.Location())
			}
		})
	}
}

func TestPeriodStart(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{
			name: "the first instant of a month starts its own period",
			in:   time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "the middle of a month belongs to the period that began on the 1st",
			in:   time.Date(2026, 11, 15, 12, 30, 0, 0, time.UTC),
			want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "the last instant of december 31st belongs to the december period",
			in:   time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "the morning of the 1st east of UTC still belongs to the previous UTC month",
			in:   time.Date(2026, 12, 1, 8, 0, 0, 0, plus10), // 22:00 UTC on November 30th
			want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name: "the evening of december 31st west of UTC already belongs to the January UTC period",
			in:   time.Date(2026, 12, 31, 21, 0, 0, 0, minus5), // 02:00 UTC on January 1st
			want: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := billing.PeriodStart(tt.in)
			if !got.Equal(tt.want) {
				t.Errorf("PeriodStart(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("PeriodStart(%v) is in %v, want UTC", tt.in, got.Location())
			}
		})
	}
}
