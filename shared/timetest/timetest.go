// Package timetest holds a clock for tests: the code under test reads it
// (from any goroutine) through its Now method, and the test moves it.
package timetest

import (
	"sync"
	"time"
)

// Clock is a clock a test sets and advances. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass it where code takes a func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// LateInMonth returns 15:04:05 UTC on the 27th of the month, the first such
// instant at or after real (pass time.Now()): late in a billing period, at
// a fixed day and hour, and never in the past.
//
// Use it, not a fixed calendar date, for a clock that meets anything judging
// time by the real clock: a cookie jar or Chromium (cookie expiry), Stripe's
// signature tolerance, token expiry. Those reject only what is too old, so a
// test clock at or after the real time is safe on any date; one in the past
// expires what it issues the moment it is issued.
func LateInMonth(real time.Time) time.Time {
	real = real.UTC()
	t := time.Date(real.Year(), real.Month(), 27, 15, 4, 5, 0, time.UTC)
	if t.Before(real) {
		t = t.AddDate(0, 1, 0)
	}
	return t
}

// EarlyInMonth returns 09:00 UTC on the 2nd of the month after
// LateInMonth(real): a day after a cycle close, and never in the past.
func EarlyInMonth(real time.Time) time.Time {
	l := LateInMonth(real)
	return time.Date(l.Year(), l.Month()+1, 2, 9, 0, 0, 0, time.UTC)
}

// MaxBehindReal is how far a clock that meets the real clock may lag it:
// a session lasts longer, and a test run takes less.
const MaxBehindReal = time.Hour

// TB is the part of testing.TB RequireNotBehindReal uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// RequireNotBehindReal fails the test at once when the test clock at is
// more than MaxBehindReal behind real (pass time.Now()). Call it where a
// test clock meets something that reads the real clock: sessions issued at
// such a clock are dropped by the cookie jar or the browser, webhooks signed
// at it are refused as too old, and every check behind them silently stops
// running.
func RequireNotBehindReal(t TB, at, real time.Time) {
	t.Helper()
	if lag := real.Sub(at); lag > MaxBehindReal {
		t.Fatalf("the test clock %s is %s behind the real clock %s: cookie jars, browsers, Stripe's signature tolerance and token expiry judge by the real clock, so sessions and signatures made at this clock expire at once. Derive the clock from time.Now() (timetest.LateInMonth(time.Now())) instead of a fixed date",
			at.UTC().Format(time.RFC3339), lag.Round(time.Minute), real.UTC().Format(time.RFC3339))
	}
}
