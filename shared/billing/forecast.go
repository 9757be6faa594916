package billing

import (
	"time"

	"github.com/acme/billing/shared/money"
)

// ForecastDays is the window of the Overview's forecast: the complete UTC
// days before today.
const ForecastDays = 7

// Forecast is how long the remaining credits last at the recent rate of
// usage.
type Forecast struct {
	// DailyAverage is the usage of the ForecastDays complete UTC days before
	// today divided by ForecastDays, rounded down to the micro-dollar.
	DailyAverage money.Money
	// Days is how many whole days Remaining Credits cover at DailyAverage;
	// Until is the UTC day they run out (today plus Days).
	Days  int64
	Until time.Time
	// Known reports whether there is a forecast: usage in the window and
	// credits left. Without either, the other fields are zero.
	Known bool
}

// ForecastAt forecasts remaining at now from daily, the usage of each UTC
// day by Day (days outside the window are ignored). There is no forecast
// when the window has no usage, when nothing remains, or when a sum would
// overflow.
func ForecastAt(remaining money.Money, daily map[string]money.Money, now time.Time) Forecast {
	today := NextMidnight(now).AddDate(0, 0, -1)
	var sum money.Money
	for i := 1; i <= ForecastDays; i++ {
		used := max(daily[Day(today.AddDate(0, 0, -i))], 0)
		var err error
		if sum, err = sum.Add(used); err != nil {
			return Forecast{}
		}
	}
	avg := sum / ForecastDays
	if avg <= 0 || remaining <= 0 {
		return Forecast{}
	}
	days := int64(remaining / avg)
	return Forecast{DailyAverage: avg, Days: days, Until: today.AddDate(0, 0, int(min(days, 100*366))), Known: true}
}

// OverageUsed is the part of the overage credit line in use: what
// Remaining Credits are below zero, up to the line.
func (f Figures) OverageUsed() money.Money {
	if f.Remaining >= 0 {
		return 0
	}
	if f.Remaining < -f.OverageLimit {
		return f.OverageLimit
	}
	return -f.Remaining
}
