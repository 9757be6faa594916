package html

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// ChartLine is a labelled horizontal line across the usage chart, such as
// the daily budget. A line of $0 or less is not drawn.
type ChartLine struct {
	Label  string // "Daily budget"
	Amount money.Money
	// Class styles the line: "chart-limit" (dashed, danger) or
	// "chart-threshold" (dotted, warning).
	Class string
}

// The usage chart's geometry, in CSS pixels: the SVG has no viewBox, so
// its text is drawn at its CSS size at every width (a scaled viewBox
// shrank the axis text to 6 px on a phone). Horizontal positions are
// percentages of the chart's width.
const (
	chartHeight = 200
	chartTop    = 22 // room for the peak's label above the plot
	chartBottom = 22 // room for the dates below it
	chartLabel  = 4  // the gap between a line and its label
)

// UsageChart is a server-rendered SVG bar chart of daily usage over the n
// days ending at last, with lines (the daily budget, the email threshold)
// drawn dashed across it and labelled with their names and amounts. Each
// day is a bar with a tooltip (its <title>) over the full height, so that
// days without usage have one too. The chart has a title and a
// description for screen readers, and needs no JavaScript.
func UsageChart(days map[string]money.Money, last time.Time, n int, lines ...ChartLine) Node {
	peak := maxDay(days, last, n)
	var total money.Money
	for i := range n {
		// Days are bounded by the usage API, so the sum cannot overflow;
		// a saturated total would still be ordered.
		if t, err := total.Add(days[billing.Day(last.AddDate(0, 0, i-n+1))]); err == nil {
			total = t
		}
	}
	desc := fmt.Sprintf("Daily credit usage for the %d days to %s: %s in total, at most %s in a day.",
		n, last.UTC().Format("Jan 2, 2006"), total.Display(), peak.Display())
	var shown []ChartLine
	for _, l := range lines {
		if l.Amount > 0 {
			shown = append(shown, l)
			peak = max(peak, l.Amount)
			desc += fmt.Sprintf(" A line marks the %s of %s.", strings.ToLower(l.Label), l.Amount.Display())
		}
	}
	if peak <= 0 {
		peak = money.Dollar
	}
	plotH := float64(chartHeight - chartTop - chartBottom)
	y := func(m money.Money) float64 { return chartTop + plotH - plotH*float64(m)/float64(peak) }
	slot := 100 / float64(n) // each day's share of the width, in percent
	bars := make([]Node, 0, n)
	for i := range n {
		day := last.AddDate(0, 0, i-n+1)
		u := days[billing.Day(day)]
		bars = append(bars, El("g", Class("chart-day"),
			El("title", Text(day.UTC().Format("Mon, Jan 2")+": "+u.Display())),
			El("rect", Class("chart-hit"), Attr("x", pct(float64(i)*slot)), Attr("y", "0"), Attr("width", pct(slot)), Attr("height", itoa(chartHeight-chartBottom))),
			El("rect", Class("chart-bar"), Attr("x", pct((float64(i)+0.15)*slot)), Attr("y", f(y(u))), Attr("width", pct(slot*0.7)),
				Attr("height", f(chartTop+plotH-y(u)))),
		))
	}
	return El("svg", Class("chart usage-chart"), Attr("width", "100%"), Attr("height", itoa(chartHeight)), Role("img"),
		Aria("labelledby", "usage-chart-title usage-chart-desc"),
		El("title", ID("usage-chart-title"), Text(fmt.Sprintf("Credit usage, last %d days", n))),
		El("desc", ID("usage-chart-desc"), Text(desc)),
		El("line", Class("chart-axis"), Attr("x1", "0"), Attr("x2", "100%"), Attr("y1", f(chartTop)), Attr("y2", f(chartTop))),
		El("text", Class("chart-axis"), Attr("x", "0"), Attr("y", f(chartTop-chartLabel)), Text(peak.Display())),
		El("line", Class("chart-axis"), Attr("x1", "0"), Attr("x2", "100%"), Attr("y1", f(chartTop+plotH)), Attr("y2", f(chartTop+plotH))),
		Group(bars),
		Group(chartLines(shown, y)),
		El("text", Class("chart-axis"), Attr("x", "0"), Attr("y", itoa(chartHeight-6)), Text(last.AddDate(0, 0, 1-n).UTC().Format("Jan 2"))),
		El("text", Class("chart-axis"), Attr("x", "50%"), Attr("y", itoa(chartHeight-6)), Attr("text-anchor", "middle"),
			Text(last.AddDate(0, 0, -n/2).UTC().Format("Jan 2"))),
		El("text", Class("chart-axis"), Attr("x", "100%"), Attr("y", itoa(chartHeight-6)), Attr("text-anchor", "end"), Text(last.UTC().Format("Jan 2"))),
	)
}

// chartLines draws each line with its label at the right end, above the
// line; a label that would overlap the one before it goes below its line.
func chartLines(lines []ChartLine, y func(money.Money) float64) []Node {
	var nodes []Node
	prev := -100.0 // the previous label's baseline
	for _, l := range lines {
		at := y(l.Amount)
		base := at - chartLabel
		if d := base - prev; d > -14 && d < 14 {
			base = at + 12 + chartLabel
		}
		prev = base
		nodes = append(nodes,
			El("line", Class(l.Class), Attr("x1", "0"), Attr("x2", "100%"), Attr("y1", f(at)), Attr("y2", f(at))),
			El("text", Class("chart-line-label "+l.Class+"-label"), Attr("x", "100%"), Attr("y", f(base)), Attr("text-anchor", "end"),
				Text(l.Label+" "+l.Amount.Display())),
		)
	}
	return nodes
}

// maxDay is the most used in one of the n days ending at last.
func maxDay(days map[string]money.Money, last time.Time, n int) money.Money {
	var m money.Money
	for i := range n {
		m = max(m, days[billing.Day(last.AddDate(0, 0, i-n+1))])
	}
	return m
}

// f is a length in CSS pixels for an SVG attribute.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// pct is a percentage of the chart's width for an SVG attribute.
func pct(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) + "%" }
