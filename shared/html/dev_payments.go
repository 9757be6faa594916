package html

import (
	"github.com/acme/billing/shared/money"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// DevPayment is one sandbox card payment an operator may refund or
// dispute.
type DevPayment struct {
	ID       string
	What     string // "Top-up Visa •••• 4242", "Invoice in_…"
	Amount   money.Money
	Refunded money.Money
	Disputed money.Money
}

// DevPaymentsProps is the local operator page of sandbox payments.
type DevPaymentsProps struct {
	Page     PageProps
	Payments []DevPayment
}

// DevPaymentsPage lets an operator refund or dispute a sandbox payment
// locally, as Stripe's Dashboard does; the Billing section applies it as
// it applies Stripe's events.
func DevPaymentsPage(p DevPaymentsProps) Node {
	p.Page.Title = "Sandbox payments"
	rows := Map(p.Payments, func(d DevPayment) Node {
		form := func(path string, fields ...Node) Node {
			return Form(Class("inline"), Method("post"), Action("/dev/payments/"+d.ID+path), Group(fields))
		}
		return Tr(
			Td(Class("mono"), Text(d.ID)),
			Td(Text(d.What)),
			Td(Class("num"), Text(d.Amount.Display())),
			Td(Class("num"), Text(d.Refunded.Display())),
			Td(Class("num"), Text(d.Disputed.Display())),
			Td(
				form("/refund", Label(Class("sr-only"), For("refund-"+d.ID), Text("Amount to refund")),
					Input(ID("refund-"+d.ID), Name("amount"), Attr("inputmode", "decimal"), Placeholder("10.00"), Attr("size", "7")),
					Button(Class("btn btn-secondary btn-sm"), Type("submit"), Text("Refund"))), Text(" "),
				form("/dispute", Button(Class("btn btn-secondary btn-sm"), Type("submit"), Text("Open dispute"))), Text(" "),
				form("/dispute", Input(Type("hidden"), Name("outcome"), Value("won")), Button(Class("btn btn-secondary btn-sm"), Type("submit"), Text("Dispute won"))), Text(" "),
				form("/dispute", Input(Type("hidden"), Name("outcome"), Value("lost")), Button(Class("btn btn-secondary btn-sm"), Type("submit"), Text("Dispute lost"))),
			),
		)
	})
	return Page(p.Page,
		pageHeader("Sandbox payments", "Local mode only: refund or dispute a sandbox card payment as an operator would in Stripe's Dashboard. The balance changes as Stripe's events would change it."),
		If(len(p.Payments) == 0, P(Class("empty"), Text("No sandbox card payments yet."))),
		If(len(p.Payments) > 0, Div(Class("table-wrap"), Table(Class("table"), ID("dev-payments"),
			THead(Tr(Th(Scope("col"), Text("Payment")), Th(Scope("col"), Text("What")), Th(Scope("col"), Class("num"), Text("Amount")),
				Th(Scope("col"), Class("num"), Text("Refunded")), Th(Scope("col"), Class("num"), Text("Disputed")), Th(Scope("col"), Text("Actions")))),
			TBody(rows),
		))),
	)
}
