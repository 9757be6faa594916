package html

import (
	"time"

	"github.com/acme/billing/shared/money"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// amount shows m in dollars with two decimals; negative amounts are marked.
func amount(m money.Money) Node {
	return Span(If(m < 0, Class("negative")), Text(m.Display()))
}

// timestamp shows t in UTC, machine-readable in its datetime attribute.
func timestamp(t time.Time) Node {
	t = t.UTC()
	return Time(DateTime(t.Format(time.RFC3339)), Text(t.Format("Jan 2, 2006 15:04 UTC")))
}
