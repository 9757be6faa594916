package billing

import "time"

// DayLayout is the format of a UTC day key, e.g. "2026-11-27".
const DayLayout = "2006-01-02"

// Day returns the UTC day of t as a key like "2026-11-27". Daily usage and
// the daily hard limit count per UTC day, whatever the customer's zone.
func Day(t time.Time) string { return t.UTC().Format(DayLayout) }

// NextMidnight returns the start of the UTC day after t: when a daily limit
// reached at t resets.
func NextMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// PeriodStart returns the start of the monthly billing period containing t:
// the first day of its UTC month at 00:00.
func PeriodStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}
