package html

import (
	"github.com/acme/billing/shared/billing"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// recentChanges is the Overview's short list of the last settings
// changes: when, who, and what.
func recentChanges(entries []billing.AuditEntry) Node {
	var body Node = P(Class("muted"), Text("No settings have been changed yet."))
	if len(entries) > 0 {
		body = Div(Class("table-wrap"), Table(Class("table table-stack"),
			Caption(Class("sr-only"), Text("The last changes of billing settings, newest first. Times are UTC.")),
			THead(Tr(Th(Scope("col"), Text("When")), Th(Scope("col"), Text("Who")), Th(Scope("col"), Text("What")))),
			TBody(Map(entries, func(e billing.AuditEntry) Node {
				return Tr(labelled("When", timestamp(e.Time)), labelled("Who", Text(e.Actor)), labelled("What", Strong(Text(e.Page+": ")), Text(e.Summary())))
			})),
		))
	}
	return Section(Class("card"), Aria("labelledby", "recent-changes"),
		H2(Class("card-title"), ID("recent-changes"), Text("Recent changes")),
		Div(ID("recent-changes-list"), body),
	)
}
