package html

import (
	"net/url"
	"strconv"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// CreditsProps is the Add Usage Credits form.
type CreditsProps struct {
	Page  PageProps
	Cards []payments.Card
	// Amount and Method are the values to show (after an error, what was
	// typed); Token is the form's one-time token.
	Amount string
	Method string
	Token  string
	Errors map[string]string
	// Crypto offers Cryptocurrency: only when the payment account can take
	// it (Stripe must have approved the account for crypto payments).
	Crypto bool
}

// CreditsPage asks "How much would you like to add to your balance?": the
// amount, a payment method (saved cards or Cryptocurrency), a link to add
// a card, and "Add to my balance".
func CreditsPage(p CreditsProps) Node {
	p.Page.Title = "Add Usage Credits"
	e := p.Errors
	admin := p.Page.Session.Role.CanChange()
	options := []Node{Option(Value(""), Text("Select Method"), If(p.Method == "", Selected()))}
	for _, c := range p.Cards {
		label := cardLabel(c)
		if c.Default {
			label += ", default"
		}
		options = append(options, Option(Value(c.ID), Text(label), If(p.Method == c.ID, Selected())))
	}
	if p.Crypto {
		options = append(options, Option(Value("crypto"), Text("Cryptocurrency"), If(p.Method == "crypto", Selected())))
	}
	return Page(p.Page,
		pageHeader("Add Usage Credits", "How much would you like to add to your balance?"),
		If(!admin, Div(Class("notice"), Text("Only admins can add usage credits."))),
		Form(Class("form"), Method("post"), Action("/billing/credits"), Attr("novalidate"), Data("busy", "Checking…"), changeFields(admin,
			errorSummary(e, "amount", "method"),
			Input(Type("hidden"), Name("token"), Value(p.Token)),
			formField("amount", "Payment amount",
				Div(Class("input-prefix"), Span(Class("prefix"), Aria("hidden", "true"), Text("$")),
					control(Input, "amount", true, e, Value(p.Amount), Attr("inputmode", "decimal"), Placeholder("25.00"))),
				"Enter an amount between $5 and $5000.", e),
			Div(Class("presets"), Aria("label", "Preset amounts"), Role("group"),
				Map([]int64{25, 50, 100, 500}, func(d int64) Node {
					return A(Class("btn btn-secondary btn-sm"), Href("/billing/credits?amount="+strconv.FormatInt(d, 10)),
						Aria("label", "Add "+money.Dollars(d).Display()), Text(money.Dollars(d).Display()))
				})),
			formField("method", "Select a payment method", control(Select, "method", false, e, Group(options)), "", e),
			If(admin, P(A(Href("/billing/payment-methods/new?next=/billing/credits"), Text("Add new payment method +")))),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Add to my balance"))),
		)),
	)
}

// CreditsConfirmProps is the step of Add Usage Credits that asks before
// anything is charged.
type CreditsConfirmProps struct {
	Page   PageProps
	Amount money.Money
	// Card is the card to charge; nil for Cryptocurrency.
	Card *payments.Card
	// Token is the form's one-time token, carried to the charge.
	Token string
	// Remaining is Remaining Credits now; After is it once this payment
	// is added.
	Remaining, After money.Money
}

// CreditsConfirmPage asks "Charge $5,000.00 to Visa •••• 4242 (exp
// 12/31)?" (or "Pay $40.00 with crypto?") with Remaining Credits now and
// after. "Confirm and pay" posts the same amount, method and token with
// confirm=yes, which charges; Back returns to the form with the values
// kept, charging nothing.
func CreditsConfirmPage(p CreditsConfirmProps) Node {
	p.Page.Title = "Confirm your payment · Add Usage Credits"
	// What the page says of the method: Cryptocurrency, or the card.
	type methodCopy struct{ id, name, question, busy, note string }
	m := methodCopy{"crypto", "Cryptocurrency", "Pay " + p.Amount.Display() + " with crypto?", "Opening checkout…",
		"Next you pay on Stripe's hosted crypto checkout; the credits are added once the payment completes there."}
	if p.Card != nil {
		name := cardLabel(*p.Card)
		m = methodCopy{p.Card.ID, name, "Charge " + p.Amount.Display() + " to " + name + "?", "Charging…", "Nothing is charged until you confirm."}
	}
	back := "/billing/credits?" + url.Values{"amount": {p.Amount.String()}, "method": {m.id}}.Encode()
	return Page(p.Page,
		pageHeader("Add Usage Credits", "Check your payment, then confirm it."),
		Section(Class("card confirm-payment"), Aria("labelledby", "confirm-question"),
			H2(ID("confirm-question"), Text(m.question)),
			Dl(Class("kv"),
				Dt(Text("Amount")), Dd(ID("confirm-amount"), Text(p.Amount.Display())),
				Dt(Text("Payment method")), Dd(Text(m.name)),
				Dt(Text("Remaining Credits now")), Dd(ID("remaining-now"), Text(p.Remaining.Display())),
				Dt(Text("Remaining Credits after")), Dd(ID("remaining-after"), Text(p.After.Display())),
			),
			P(Class("muted"), Text(m.note)),
			Form(Class("form"), Method("post"), Action("/billing/credits"), Data("busy", m.busy),
				Input(Type("hidden"), Name("amount"), Value(p.Amount.String())),
				Input(Type("hidden"), Name("method"), Value(m.id)),
				Input(Type("hidden"), Name("token"), Value(p.Token)),
				Input(Type("hidden"), Name("confirm"), Value("yes")),
				Div(Class("form-actions"),
					Button(Class("btn btn-primary"), Type("submit"), Text("Confirm and pay")),
					A(Class("btn btn-secondary"), Href(back), Text("Back")),
				),
			),
		),
	)
}

// ConfirmPaymentProps is a card payment waiting for 3-D Secure.
type ConfirmPaymentProps struct {
	Page         PageProps
	StripeKey    string
	ClientSecret string
	Amount       money.Money
}

// ConfirmPaymentPage lets Stripe.js run the bank's 3-D Secure check, then
// returns to /billing/credits/complete, which credits the payment.
func ConfirmPaymentPage(p ConfirmPaymentProps) Node {
	p.Page.Title = "Confirm your payment"
	return Page(p.Page,
		pageHeader("Confirm your payment", "Your bank asks you to confirm this payment of "+p.Amount.Display()+"."),
		Div(ID("confirm-payment"), Data("stripe-key", p.StripeKey), Data("client-secret", p.ClientSecret),
			Data("return-url", "/billing/credits/complete"),
			P(Class("muted"), Text("Opening your bank's confirmation…")),
			P(Class("field-error"), ID("payment-errors"), Role("alert")),
		),
		Script(Src("https://js.stripe.com/v3/")),
		Script(Src("/static/stripe-confirm.js")),
	)
}

// AuthenticateProps is the sandbox's stand-in for the bank's 3-D Secure
// check of a payment.
type AuthenticateProps struct {
	Page      PageProps
	PaymentID string
	Amount    money.Money
}

// AuthenticatePage stands in, in sandbox mode, for the bank's check that
// Stripe.js shows: complete or fail the authentication.
func AuthenticatePage(p AuthenticateProps) Node {
	p.Page.Title = "Confirm your payment"
	form := func(action, label, class string) Node {
		return Form(Class("inline"), Method("post"), Action("/billing/credits"),
			Input(Type("hidden"), Name("action"), Value(action)),
			Input(Type("hidden"), Name("payment"), Value(p.PaymentID)),
			Button(Class("btn "+class), Type("submit"), Text(label)))
	}
	return Page(p.Page,
		pageHeader("Confirm your payment (sandbox)", "Your bank asks you to confirm this payment of "+p.Amount.Display()+". A simulated 3-D Secure check: no real bank is asked."),
		Section(Class("card"),
			Dl(Class("kv"), Dt(Text("Amount")), Dd(Text(p.Amount.Display())), Dt(Text("Payment")), Dd(Class("mono"), Text(p.PaymentID))),
			Div(Class("card-footer"), form("authenticate", "Complete authentication", "btn-primary"), form("fail-authentication", "Fail authentication", "btn-secondary")),
		),
	)
}

// CheckoutProps is the sandbox's simulated hosted crypto checkout.
type CheckoutProps struct {
	Page   PageProps
	ID     string
	Amount money.Money
	Status string
}

// CheckoutPage stands in for Stripe's hosted crypto checkout in sandbox
// mode: pay (simulated) or cancel.
func CheckoutPage(p CheckoutProps) Node {
	p.Page.Title = "Crypto checkout"
	return Page(p.Page,
		pageHeader("Crypto checkout (sandbox)", "A simulated hosted checkout: no real cryptocurrency moves."),
		Section(Class("card"),
			Dl(Class("kv"), Dt(Text("Amount")), Dd(Text(p.Amount.Display()+" USD")), Dt(Text("Checkout")), Dd(Class("mono"), Text(p.ID))),
			If(!p.Page.Session.Role.CanChange(), P(Class("notice"), Text("Only admins can pay."))),
			Iff(p.Page.Session.Role.CanChange(), func() Node {
				return Div(Class("card-footer"),
					Form(Class("inline"), Method("post"), Action("/billing/credits/checkout/"+p.ID),
						Input(Type("hidden"), Name("action"), Value("pay")),
						Button(Class("btn btn-primary"), Type("submit"), Text("Pay "+p.Amount.Display()+" with crypto"))),
					Form(Class("inline"), Method("post"), Action("/billing/credits/checkout/"+p.ID),
						Input(Type("hidden"), Name("action"), Value("cancel")),
						Button(Class("btn btn-secondary"), Type("submit"), Text("Cancel"))),
				)
			}),
		),
	)
}
