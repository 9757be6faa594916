package html

import (
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// NotificationsProps is the Invoice Notifications page.
type NotificationsProps struct {
	Page PageProps
	// Values and Errors are the form: the stored email, or the form as
	// typed after an error.
	Values map[string]string
	Errors map[string]string
}

// NotificationsText is the note under the "Billing email" heading, from the
// product spec.
const NotificationsText = "Invoices and other billing notifications will be sent here"

// NotificationsPage is the billing email form.
func NotificationsPage(p NotificationsProps) Node {
	p.Page.Title = "Invoice Notifications"
	v, e := p.Values, p.Errors
	admin := p.Page.Session.Role.CanChange()
	return Page(p.Page,
		pageHeader("Invoice Notifications", "Where your billing communications are sent."),
		If(!admin, Div(Class("notice"), Text("Only admins can change the billing email."))),
		Section(Class("card"), Aria("labelledby", "billing-email-heading"),
			H2(Class("card-title"), ID("billing-email-heading"), Text("Billing email")),
			P(Class("card-help"), ID("billing-email-note"), Text(NotificationsText)),
			Form(Class("form"), Method("post"), Action("/billing/notifications"), Attr("novalidate"), changeFields(admin,
				errorSummary(e, "email"),
				formField("email", "Email", control(Input, "email", false, e, Type("email"), Value(v["email"]),
					AutoComplete("email"), MaxLength("254")), "", e),
				Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Updates"))),
			)),
		),
	)
}
