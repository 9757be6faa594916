package html

import (
	"strconv"

	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// ErrorProps describes an error page. Message is customer-safe text.
type ErrorProps struct {
	Page    PageProps
	Status  int
	Heading string
	Message string
	// SignedIn shows the page inside the Billing layout.
	SignedIn bool
}

// ErrorPage explains what went wrong and where to go next.
func ErrorPage(p ErrorProps) Node {
	body := Div(Class("error-page"),
		P(Class("muted"), Text("Error "+strconv.Itoa(p.Status))),
		H1(Text(p.Heading)),
		P(Text(p.Message)),
		P(A(Class("btn btn-secondary"), Href("/billing"), Text("Back to Billing Overview"))),
	)
	if p.SignedIn {
		p.Page.Title = p.Heading
		return Page(p.Page, body)
	}
	return document(p.Heading, Main(Class("auth"), ID("main"), body))
}
