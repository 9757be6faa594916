package html

import (
	"strings"

	"github.com/acme/billing/shared/payments"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// TaxSettingsText is the page's purpose, from the product spec.
const TaxSettingsText = "Configure your tax information for accurate billing and compliance."

// TaxSettingsProps is what the Tax Settings page shows.
type TaxSettingsProps struct {
	Page   PageProps
	TaxIDs []payments.TaxID
	// CanVerify offers the sandbox's local "Mark verified" action.
	CanVerify bool
}

// TaxStatusClass is the badge of a tax ID's status: red for unverified,
// black for verified, amber for pending, gray for anything else.
func TaxStatusClass(s payments.TaxIDStatus) string {
	switch s {
	case payments.TaxIDUnverified:
		return "badge badge-red"
	case payments.TaxIDVerified:
		return "badge badge-black"
	case payments.TaxIDPending:
		return "badge badge-amber"
	}
	return "badge badge-gray"
}

// taxIDLabel names a tax ID for people: "European VAT number DE123456789".
func taxIDLabel(t payments.TaxID) string {
	return payments.TaxIDDescription(t.Type) + " " + t.Value
}

// TaxSettingsPage is the "Add Tax Registration" button and the table of
// registrations: Id, Country, Description, Value, Status, and a delete
// icon per row.
func TaxSettingsPage(p TaxSettingsProps) Node {
	p.Page.Title = "Tax Settings"
	admin := p.Page.Session.Role.CanChange()
	var body Node
	if len(p.TaxIDs) == 0 {
		body = Div(Class("empty"),
			H2(Text("No tax registrations yet")),
			P(Text("Add your VAT, GST or other tax ID so that it appears on your invoices and tax is applied correctly. "+
				"Without one, you are billed as a business without a tax registration.")),
		)
	} else {
		body = Div(Class("table-wrap"), Table(Class("table table-stack"), ID("tax-ids"),
			Caption(Text("Your tax registrations. They appear on your invoices.")),
			THead(Tr(
				Th(Scope("col"), Text("Id")),
				Th(Scope("col"), Text("Country")),
				Th(Scope("col"), Text("Description")),
				Th(Scope("col"), Text("Value")),
				Th(Scope("col"), Text("Status")),
				Th(Scope("col"), Span(Class("sr-only"), Text("Actions"))),
			)),
			TBody(Map(p.TaxIDs, func(t payments.TaxID) Node { return taxIDRow(t, admin, p.CanVerify) })),
		))
	}
	return Page(p.Page,
		pageHeader("Tax Settings", TaxSettingsText,
			If(admin, A(Class("btn btn-primary"), Href("/billing/tax/new"), Text("Add Tax Registration"))),
		),
		If(!admin, Div(Class("notice"), Text("Only admins can add or delete tax registrations."))),
		body,
	)
}

func taxIDRow(t payments.TaxID, admin, canVerify bool) Node {
	label := taxIDLabel(t)
	return Tr(ID("tax-"+t.ID),
		labelled("Id", Class("mono"), Text(t.ID)),
		labelled("Country", Text(payments.TaxCountryName(t.Country))),
		labelled("Description", Text(payments.TaxIDDescription(t.Type))),
		labelled("Value", Class("mono"), Text(t.Value)),
		labelled("Status", Span(Class(TaxStatusClass(t.Status)), Text(string(t.Status)))),
		labelled("Actions", Class("num"),
			If(admin && canVerify && t.Status != payments.TaxIDVerified,
				Form(Class("inline"), Method("post"), Action("/billing/tax/"+t.ID+"/verify"),
					Button(Class("btn btn-secondary btn-sm"), Type("submit"), Aria("label", "Mark verified: "+label+" (sandbox)"),
						TitleAttr("Sandbox only: stands in for Stripe's verification"), Text("Mark verified")),
				)),
			If(admin, A(Class("btn btn-icon"), Href("/billing/tax/"+t.ID+"/delete"),
				Aria("label", "Delete "+label), TitleAttr("Delete "+label), trashIcon())),
		),
	)
}

// AddTaxIDProps is the "Add Tax Registration" form.
type AddTaxIDProps struct {
	Page PageProps
	// Values and Errors are the form as typed, after an error.
	Values map[string]string
	Errors map[string]string
}

// AddTaxIDPage is the form: the country, the type among Stripe's tax ID
// types, and the value, with the accepted formats listed.
func AddTaxIDPage(p AddTaxIDProps) Node {
	p.Page.Title = "Add Tax Registration"
	if !p.Page.Session.Role.CanChange() {
		return Page(p.Page,
			pageHeader("Add Tax Registration", TaxSettingsText),
			Div(Class("notice"), Text("Only admins can add tax registrations.")),
			A(Class("btn btn-secondary"), Href("/billing/tax"), Text("Back to Tax Settings")),
		)
	}
	v, e := p.Values, p.Errors
	return Page(p.Page,
		pageHeader("Add Tax Registration", "Your tax ID appears on your invoices. It is checked against the format of its type."),
		Form(Class("form"), Method("post"), Action("/billing/tax/new"), Attr("novalidate"),
			errorSummary(e, "country", "type", "value"),
			formField("country", "Country", control(Select, "country", false, e,
				Option(Value(""), Text("Choose a country")),
				Map(payments.TaxCountries(), func(c payments.TaxCountry) Node {
					return Option(Value(c.Code), If(v["country"] == c.Code, Selected()), Text(c.Name))
				}),
			), "", e),
			formField("type", "Type", control(Select, "type", true, e,
				Option(Value(""), Text("Choose a type")),
				Map(payments.TaxIDTypes, func(t payments.TaxIDType) Node {
					return Option(Value(t.Code), If(v["type"] == t.Code, Selected()), Text(t.Description+" ("+strings.Join(countryCodes(t), ", ")+")"))
				}),
			), "The countries each type is issued in are in brackets.", e),
			formField("value", "Value", control(Input, "value", true, e, Value(v["value"]), AutoComplete("off"), Attr("spellcheck", "false"),
				Placeholder("DE123456789")),
				"As on your registration, e.g. DE123456789 for a German VAT number. Spaces, dots and dashes are ignored.", e),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Add Tax Registration")),
				A(Class("btn btn-secondary"), Href("/billing/tax"), Text("Cancel"))),
		),
		taxFormats(),
	)
}

// countryCodes lists a type's countries, "EU" standing for all member
// states of the European VAT number.
func countryCodes(t payments.TaxIDType) []string {
	if t.Code == "eu_vat" {
		return []string{"EU"}
	}
	return t.Countries()
}

// taxFormats lists each type with an example value per country.
func taxFormats() Node {
	return Details(Class("tax-formats"),
		Summary(Text("Accepted types and formats")),
		Div(Class("table-wrap"), Table(Class("table table-stack"),
			THead(Tr(Th(Scope("col"), Text("Type")), Th(Scope("col"), Text("Country")), Th(Scope("col"), Text("Example")))),
			TBody(Map(payments.TaxIDTypes, func(t payments.TaxIDType) Node {
				return Group(Map(t.Countries(), func(c string) Node {
					return Tr(labelled("Type", Text(t.Description)), labelled("Country", Text(payments.TaxCountryName(c))), labelled("Example", Class("mono"), Text(t.Example(c))))
				}))
			})),
		)),
	)
}

// DeleteTaxIDProps is the confirmation of a tax registration's deletion.
type DeleteTaxIDProps struct {
	Page  PageProps
	TaxID payments.TaxID
}

// DeleteTaxIDPage asks before a tax registration is deleted.
func DeleteTaxIDPage(p DeleteTaxIDProps) Node {
	label := taxIDLabel(p.TaxID)
	p.Page.Title = "Delete " + label
	var action Node = Form(Class("inline"), Method("post"), Action("/billing/tax/"+p.TaxID.ID+"/delete"),
		Button(Class("btn btn-danger"), Type("submit"), Text("Delete tax registration")),
	)
	var warning Node
	if !p.Page.Session.Role.CanChange() {
		warning = Div(Class("notice"), Text("Only admins can delete tax registrations."))
		action = nil
	}
	return Page(p.Page,
		pageHeader("Delete "+label+"?", payments.TaxCountryName(p.TaxID.Country)+", "+string(p.TaxID.Status)+
			". It will no longer appear on new invoices; invoices already issued keep it."),
		warning,
		Div(Class("form-actions"), action, A(Class("btn btn-secondary"), Href("/billing/tax"), Text("Keep it"))),
	)
}
