package html

import (
	"github.com/acme/billing/shared/billing"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// AddressProps is the Invoice Address page.
type AddressProps struct {
	Page PageProps
	// Values are the form's fields by name (the stored address, or the
	// form as typed after an error); Errors the messages by field.
	Values    map[string]string
	Errors    map[string]string
	Countries []billing.Country
}

// AddressText is the page's purpose, from the product spec.
const AddressText = "The address details used for your invoices."

// AddressPage is the invoice address form: company name, address, postal
// code, region, country and purchase order number.
func AddressPage(p AddressProps) Node {
	p.Page.Title = "Invoice Address"
	v, e := p.Values, p.Errors
	admin := p.Page.Session.Role.CanChange()
	text := func(id, label, autocomplete string, maxLen int, hint string) Node {
		return formField(id, label, control(Input, id, hint != "", e, Type("text"), Value(v[id]),
			If(autocomplete != "", AutoComplete(autocomplete)), MaxLength(itoa(maxLen))), hint, e)
	}
	options := []Node{Option(Value(""), Text("Select a country"), If(v["country"] == "", Selected()))}
	for _, c := range p.Countries {
		options = append(options, Option(Value(c.Code), Text(c.Name), If(v["country"] == c.Code, Selected())))
	}
	return Page(p.Page,
		pageHeader("Invoice Address", AddressText),
		If(!admin, Div(Class("notice"), Text("Only admins can change the invoice address."))),
		Form(Class("form"), Method("post"), Action("/billing/address"), Attr("novalidate"), changeFields(admin,
			errorSummary(e, "company_name", "address1", "address2", "city", "postal_code", "region", "country", "po_number"),
			text("company_name", "Company Name", "organization", billing.MaxCompanyName, ""),
			text("address1", "Address 1", "address-line1", billing.MaxAddressLine, ""),
			text("address2", "Address 2", "address-line2", billing.MaxAddressLine, "Optional."),
			Div(Class("field-row"),
				text("city", "City", "address-level2", billing.MaxCity, ""),
				text("postal_code", "Postal code", "postal-code", billing.MaxPostalCode, ""),
			),
			text("region", "Region/Province", "address-level1", billing.MaxRegion, "Optional: a state, province or region."),
			formField("country", "Country", control(Select, "country", false, e, AutoComplete("country"), Group(options)), "", e),
			text("po_number", "Purchase order (PO) number", "", billing.MaxPONumber, "Optional. Shown on your invoices."),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Save changes"))),
		)),
	)
}
