package html

import (
	"fmt"
	"strconv"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// UsageChart is a server-rendered SVG bar chart of daily usage over the
// days ending at Last, with the daily budget as a dashed line. It has a
// title and a description for screen readers, and needs no JavaScript.
func UsageChart(days map[string]money.Money, last time.Time, n int, budget money.Money) Node {
	const w, h, top, bottom, left = 600, 180, 10, 24, 48
	var peak money.Money = budget
	var total money.Money
	for i := range n {
		u := days[billing.Day(last.AddDate(0, 0, i-n+1))]
		peak = max(peak, u)
		total += u
	}
	if peak <= 0 {
		peak = money.Dollar
	}
	plotH := float64(h - top - bottom)
	barW := float64(w-left) / float64(n)
	y := func(m money.Money) float64 { return float64(top) + plotH - plotH*float64(m)/float64(peak) }
	desc := fmt.Sprintf("Daily credit usage for the %d days to %s: %s in total, at most %s in a day.",
		n, last.UTC().Format("Jan 2, 2006"), total.Display(), maxDay(days, last, n).Display())
	if budget > 0 {
		desc += " The dashed line is the daily budget of " + budget.Display() + "."
	}
	bars := make([]Node, 0, n)
	for i := range n {
		day := last.AddDate(0, 0, i-n+1)
		u := days[billing.Day(day)]
		x := float64(left) + float64(i)*barW
		bars = append(bars, El("rect", Class("chart-bar"), Attr("x", f(x+1)), Attr("y", f(y(u))), Attr("width", f(barW-2)),
			Attr("height", f(float64(top)+plotH-y(u))),
			El("title", Text(day.UTC().Format("Jan 2")+": "+u.Display()))))
	}
	return El("svg", Class("chart"), Attr("viewBox", fmt.Sprintf("0 0 %d %d", w, h)), Role("img"),
		Aria("labelledby", "usage-chart-title usage-chart-desc"),
		El("title", ID("usage-chart-title"), Text(fmt.Sprintf("Credit usage, last %d days", n))),
		El("desc", ID("usage-chart-desc"), Text(desc)),
		El("text", Class("chart-axis"), Attr("x", "0"), Attr("y", f(float64(top)+8)), Text(peak.Display())),
		El("text", Class("chart-axis"), Attr("x", "0"), Attr("y", f(float64(top)+plotH)), Text("$0")),
		El("text", Class("chart-axis"), Attr("x", strconv.Itoa(left)), Attr("y", strconv.Itoa(h-6)), Text(last.AddDate(0, 0, 1-n).UTC().Format("Jan 2"))),
		El("text", Class("chart-axis"), Attr("x", strconv.Itoa(w)), Attr("y", strconv.Itoa(h-6)), Attr("text-anchor", "end"), Text(last.UTC().Format("Jan 2"))),
		Group(bars),
		If(budget > 0, El("line", Class("chart-limit"), Attr("x1", strconv.Itoa(left)), Attr("x2", strconv.Itoa(w)),
			Attr("y1", f(y(budget))), Attr("y2", f(y(budget))))),
	)
}

func maxDay(days map[string]money.Money, last time.Time, n int) money.Money {
	var m money.Money
	for i := range n {
		m = max(m, days[billing.Day(last.AddDate(0, 0, i-n+1))])
	}
	return m
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
