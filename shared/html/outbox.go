package html

import (
	"strings"
	"time"

	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// OutboxEmail is one email of the local outbox.
type OutboxEmail struct {
	To      string
	Subject string
	Text    string
	Sent    time.Time
}

// OutboxProps is the local outbox page.
type OutboxProps struct {
	PageProps
	// Emails are the newest emails, newest first.
	Emails []OutboxEmail
	// Limit is how many the page shows at most.
	Limit int
}

// OutboxPage lists the emails sent in local mode, for every organisation:
// a developer tool (Amazon SES sends them in AWS).
func OutboxPage(p OutboxProps) Node {
	p.Title = "Outbox"
	var content Node
	if len(p.Emails) == 0 {
		content = Div(Class("empty"),
			H2(Text("No emails yet")),
			P(Text("Notification emails sent in local mode appear here instead of being delivered.")),
		)
	} else {
		content = Group(Map(p.Emails, outboxEmail))
	}
	return Page(p.PageProps,
		pageHeader("Outbox", "Emails sent in local mode, for every organisation, newest first (at most "+itoa(p.Limit)+"). In AWS, Amazon SES delivers them."),
		content,
	)
}

func outboxEmail(e OutboxEmail) Node {
	return Article(Class("card"),
		H2(Class("card-title"), Text(e.Subject)),
		Dl(Class("kv"),
			Dt(Text("To")), Dd(Text(e.To)),
			Dt(Text("Sent")), Dd(timestamp(e.Sent)),
		),
		Div(Map(strings.Split(strings.TrimSpace(e.Text), "\n\n"), paragraph)),
	)
}

// paragraph is a paragraph of plain text, its line breaks kept.
func paragraph(text string) Node {
	var lines []Node
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			lines = append(lines, Br())
		}
		lines = append(lines, Text(line))
	}
	return P(lines...)
}
