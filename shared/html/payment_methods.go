package html

import (
	"fmt"

	"github.com/acme/billing/shared/payments"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// PaymentMethodsProps is what the Payment Methods page shows.
type PaymentMethodsProps struct {
	Page  PageProps
	Cards []payments.Card
}

// PaymentMethodsPage lists the saved cards: type and last digits, name on
// card, expiry, the default card or a "Set as Default" button, and a
// delete icon.
func PaymentMethodsPage(p PaymentMethodsProps) Node {
	p.Page.Title = "Payment Methods"
	admin := p.Page.Session.Role.CanChange()
	var body Node
	if len(p.Cards) == 0 {
		body = Div(Class("empty"),
			H2(Text("No payment methods yet")),
			P(Text("Add a card to buy usage credits and to let auto-recharge keep your service running.")),
		)
	} else {
		body = Div(Class("table-wrap"), Table(Class("table table-stack"),
			Caption(Text("Your saved cards. The default card is charged for auto-recharge and invoices.")),
			THead(Tr(
				Th(Scope("col"), Text("Card")),
				Th(Scope("col"), Text("Name on card")),
				Th(Scope("col"), Text("Expires")),
				Th(Scope("col"), Text("Status")),
				Th(Scope("col"), Span(Class("sr-only"), Text("Actions"))),
			)),
			TBody(Map(p.Cards, func(c payments.Card) Node { return cardRow(c, admin) })),
		))
	}
	return Page(p.Page,
		pageHeader("Payment Methods", "The payment options linked to your account.",
			If(admin, A(Class("btn btn-primary"), Href("/billing/payment-methods/new"), Text("Add New Credit Card"))),
		),
		If(!admin, Div(Class("notice"), Text("Only admins can add, change or delete payment methods."))),
		body,
	)
}

// cardLabel names a card so that two cards of one brand and last four
// digits are told apart, wherever a card is chosen: "Visa •••• 4242 (exp
// 12/31)".
func cardLabel(c payments.Card) string {
	return fmt.Sprintf("%s (exp %02d/%02d)", payments.CardLabel(c), c.ExpMonth, c.ExpYear%100)
}

func cardRow(c payments.Card, admin bool) Node {
	label := cardLabel(c)
	var status Node = Span(Class("badge badge-black"), Text("Default Card"))
	if !c.Default {
		status = Text("")
		if admin {
			status = Form(Class("inline"), Method("post"), Action("/billing/payment-methods/default"),
				Input(Type("hidden"), Name("card"), Value(c.ID)),
				Button(Class("btn btn-secondary btn-sm"), Type("submit"), Aria("label", "Set as Default: "+label), Text("Set as Default")),
			)
		}
	}
	return Tr(
		labelled("Card", Text(payments.CardLabel(c))),
		labelled("Name on card", Text(c.Name)),
		labelled("Expires", Text(fmt.Sprintf("%02d/%d", c.ExpMonth, c.ExpYear))),
		labelled("Status", status),
		labelled("Actions", Class("num"), If(admin, A(Class("btn btn-icon"), Href("/billing/payment-methods/delete?card="+c.ID),
			Aria("label", "Delete "+label), TitleAttr("Delete "+label), trashIcon()))),
	)
}

// trashIcon is a small trash can, drawn inline (no icon font, no CDN).
func trashIcon() Node {
	return El("svg", Attr("viewBox", "0 0 24 24"), Attr("width", "18"), Attr("height", "18"), Aria("hidden", "true"), Attr("focusable", "false"),
		El("path", Attr("fill", "none"), Attr("stroke", "currentColor"), Attr("stroke-width", "2"), Attr("stroke-linecap", "round"),
			Attr("stroke-linejoin", "round"), Attr("d", "M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6")),
	)
}

// DeleteCardProps is the confirmation of a card's deletion.
type DeleteCardProps struct {
	Page  PageProps
	Card  payments.Card
	Cards int // how many cards the organisation has
}

// DeleteCardPage asks for confirmation, and says what deleting the
// default card means, or that another card must become the default first.
func DeleteCardPage(p DeleteCardProps) Node {
	label := cardLabel(p.Card)
	p.Page.Title = "Delete " + label
	var warning, action Node
	switch {
	case !p.Page.Session.Role.CanChange():
		warning = Div(Class("notice"), Text("Only admins can delete payment methods."))
		action = A(Class("btn btn-secondary"), Href("/billing/payment-methods"), Text("Back to Payment Methods"))
	case p.Card.Default && p.Cards > 1:
		warning = Div(Class("flash flash-error"), Role("alert"),
			Text("This is your default card. Set another card as default first, then delete this one."))
		action = A(Class("btn btn-primary"), Href("/billing/payment-methods"), Text("Choose another default"))
	case p.Card.Default:
		warning = Div(Class("notice"),
			Text("This is your only card. Without a card you cannot buy credits by card, and auto-recharge and invoices cannot be charged automatically."))
	}
	if action == nil {
		action = Form(Class("inline"), Method("post"), Action("/billing/payment-methods/delete"),
			Input(Type("hidden"), Name("card"), Value(p.Card.ID)),
			Button(Class("btn btn-danger"), Type("submit"), Text("Delete "+label)),
		)
	}
	return Page(p.Page,
		pageHeader("Delete "+label+"?", fmt.Sprintf("Name on card: %s. Expires %02d/%d.", p.Card.Name, p.Card.ExpMonth, p.Card.ExpYear)),
		warning,
		Div(Class("form-actions"), action, A(Class("btn btn-secondary"), Href("/billing/payment-methods"), Text("Keep this card"))),
	)
}

// AddCardProps is the "Add New Credit Card" page.
type AddCardProps struct {
	Page PageProps
	// Sandbox shows the local test-card form; otherwise Stripe Elements.
	Sandbox bool
	Values  map[string]string
	Errors  map[string]string
	// StripeKey and ClientSecret drive Stripe Elements (a SetupIntent).
	StripeKey    string
	ClientSecret string
}

// addCardReturn is where Add New Credit Card returns, saved or cancelled:
// Add Usage Credits when it came from there (next), else Payment Methods.
func addCardReturn(next string) string {
	if next == "/billing/credits" {
		return next
	}
	return "/billing/payment-methods"
}

// AddCardPage adds a card: Stripe Elements in Stripe mode (card data goes
// from the browser to Stripe, never to us), or the sandbox's form that
// accepts only Stripe's test numbers.
func AddCardPage(p AddCardProps) Node {
	p.Page.Title = "Add New Credit Card"
	if !p.Page.Session.Role.CanChange() {
		return Page(p.Page,
			pageHeader("Add New Credit Card", "The payment options linked to your account."),
			Div(Class("notice"), Text("Only admins can add payment methods.")),
		)
	}
	if !p.Sandbox {
		return Page(p.Page,
			pageHeader("Add New Credit Card", "Your card details go straight to Stripe, our payment processor; they never reach our servers."),
			Form(Class("form"), ID("card-form"), Data("stripe-key", p.StripeKey), Data("client-secret", p.ClientSecret),
				Data("return-url", addCardReturn(p.Values["next"])),
				Div(Class("field"), Label(For("card-name"), Text("Name on card")), Input(ID("card-name"), Name("name"), AutoComplete("cc-name"), Required())),
				Div(Class("field"), Label(ID("card-element-label"), Text("Card")), Div(ID("card-element"), Aria("labelledby", "card-element-label"))),
				P(Class("field-error"), ID("card-errors"), Role("alert")),
				Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Save card")),
					A(Class("btn btn-secondary"), Href(addCardReturn(p.Values["next"])), Text("Cancel"))),
			),
			Script(Src("https://js.stripe.com/v3/")),
			Script(Src("/static/stripe-card.js")),
		)
	}
	v, e := p.Values, p.Errors
	return Page(p.Page,
		pageHeader("Add New Credit Card", "Sandbox mode: no real card is charged. Use a Stripe test card."),
		Div(Class("notice"),
			P(Text("Test cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 is declined when saved; 4000 0000 0000 0341 is saved but its charges are declined; "+
				"4000 0000 0000 9995 fails for insufficient funds; 4000 0027 6000 3184 asks you to confirm each payment (3-D Secure). Any future expiry and any 3 digits.")),
		),
		Form(Class("form"), Method("post"), Action("/billing/payment-methods/new"), Attr("novalidate"), Data("busy", "Saving…"),
			errorSummary(e, "name", "number", "exp_month", "exp_year", "cvc"),
			formField("name", "Name on card", control(Input, "name", false, e, Value(v["name"]), AutoComplete("cc-name")), "", e),
			formField("number", "Card number", control(Input, "number", false, e, Value(v["number"]), Attr("inputmode", "numeric"), AutoComplete("cc-number")), "", e),
			Div(Class("field-row"),
				formField("exp_month", "Expiry month", control(Input, "exp_month", false, e, Value(v["exp_month"]), Attr("inputmode", "numeric"), Placeholder("MM"), AutoComplete("cc-exp-month")), "", e),
				formField("exp_year", "Expiry year", control(Input, "exp_year", false, e, Value(v["exp_year"]), Attr("inputmode", "numeric"), Placeholder("YYYY"), AutoComplete("cc-exp-year")), "", e),
				formField("cvc", "Security code", control(Input, "cvc", false, e, Attr("inputmode", "numeric"), AutoComplete("cc-csc")), "", e),
			),
			Input(Type("hidden"), Name("next"), Value(v["next"])),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Save card")),
				A(Class("btn btn-secondary"), Href(addCardReturn(v["next"])), Text("Cancel"))),
		),
	)
}
