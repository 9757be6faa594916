package timetest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/timetest"
)

// These tests are pure: they pass fixed "real" times to the functions and
// touch nothing that reads the real clock.

func TestLateInMonth(t *testing.T) {
	// Every hour of three years, leap day and month ends included.
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for real := from; real.Before(from.AddDate(3, 0, 0)); real = real.Add(time.Hour + 7*time.Minute) {
		late, early := timetest.LateInMonth(real), timetest.EarlyInMonth(real)
		if late.Before(real) || late.Sub(real) > 31*24*time.Hour {
			t.Fatalf("LateInMonth(%s) = %s, want at or after it, within 31 days", real, late)
		}
		if late.Day() != 27 || late.Hour() != 15 || late.Minute() != 4 || late.Second() != 5 || late.Location() != time.UTC {
			t.Fatalf("LateInMonth(%s) = %s, want 15:04:05 UTC on a 27th", real, late)
		}
		if early.Day() != 2 || early.Hour() != 9 || !early.After(late) || early.Sub(late) > 7*24*time.Hour {
			t.Fatalf("EarlyInMonth(%s) = %s, want 09:00 on the 2nd after %s", real, early, late)
		}
	}
	t.Run("on the 27th after 15:04:05 it is next month's 27th", func(t *testing.T) {
		real := time.Date(2026, 12, 27, 15, 4, 6, 0, time.UTC)
		if got, want := timetest.LateInMonth(real), time.Date(2027, 1, 27, 15, 4, 5, 0, time.UTC); !got.Equal(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("a real time in another zone is taken in UTC", func(t *testing.T) {
		real := time.Date(2026, 12, 28, 0, 30, 0, 0, time.FixedZone("CET", 3600)) // 23:30 UTC on the 27th
		if got, want := timetest.LateInMonth(real), time.Date(2027, 1, 27, 15, 4, 5, 0, time.UTC); !got.Equal(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

// recorder is a timetest.TB that records a failure instead of ending the test.
type recorder struct{ failed string }

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestRequireNotBehindReal(t *testing.T) {
	real := time.Date(2026, 12, 5, 16, 30, 0, 0, time.UTC)
	cases := []struct {
		name string
		at   time.Time
		fail bool
	}{
		{"the fixed clock that broke CI, 2026-11-27 15:04:05, fails on 2026-12-05", time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC), true},
		{"a clock more than an hour behind fails", real.Add(-timetest.MaxBehindReal - time.Second), true},
		{"a clock an hour behind passes: a test may run that long", real.Add(-timetest.MaxBehindReal), false},
		{"the real time passes", real, false},
		{"LateInMonth of the real time passes", timetest.LateInMonth(real), false},
		{"EarlyInMonth of the real time passes", timetest.EarlyInMonth(real), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r recorder
			timetest.RequireNotBehindReal(&r, c.at, real)
			if failed := r.failed != ""; failed != c.fail {
				t.Fatalf("failed = %v (%q), want %v", failed, r.failed, c.fail)
			}
			if c.fail && !strings.Contains(r.failed, "behind the real clock") || c.fail && !strings.Contains(r.failed, "timetest.LateInMonth(time.Now())") {
				t.Errorf("message %q does not say what is wrong and what to do", r.failed)
			}
		})
	}
}
