package html

import (
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// AutoRechargeProps is the Auto Recharge page.
type AutoRechargeProps struct {
	Page     PageProps
	Settings billing.AutoRechargeSettings
	// Values and Errors are the form as typed, after an error.
	Values   map[string]string
	Errors   map[string]string
	Card     *payments.Card // the default card, if any
	Attempts []store.RechargeAttempt
	// PendingPayment is an auto-recharge payment the bank wants the
	// customer to confirm; "" when there is none.
	PendingPayment string
}

// AutoRechargeText is the page's explanation, from the product spec.
const AutoRechargeText = "Keep your service running by setting up auto-recharge. When your balance reaches a certain threshold, we will automatically charge your card."

// AutoRechargePage is the toggle, the threshold, the amount, an optional
// monthly cap, the card that will be charged, and the last attempts.
func AutoRechargePage(p AutoRechargeProps) Node {
	p.Page.Title = "Auto Recharge"
	v, e := p.Values, p.Errors
	admin := p.Page.Session.Role.CanChange()
	var card Node = P(Class("muted"), Text("No default card. "), A(Href("/billing/payment-methods/new?next=/billing/auto-recharge"), Text("Add a card")), Text(" before you turn on auto-recharge."))
	if p.Card != nil {
		card = P(Text("Charged to your default card, "+payments.CardLabel(*p.Card)+". "), A(Href("/billing/payment-methods"), Text("Change")))
	}
	return Page(p.Page,
		pageHeader("Auto Recharge", AutoRechargeText),
		If(p.Settings.DisabledReason != "", Div(Class("flash flash-error"), Role("alert"), Text(p.Settings.DisabledReason))),
		If(p.PendingPayment != "", Div(Class("notice"), ID("pending-payment"),
			P(Text("Your bank asks you to confirm the last auto-recharge payment ("), Span(Class("mono"), Text(p.PendingPayment)),
				Text("). Auto-recharge charges nothing more until it is confirmed.")),
			If(admin, Form(Class("inline"), Method("post"), Action("/billing/credits"),
				Input(Type("hidden"), Name("action"), Value("confirm")),
				Input(Type("hidden"), Name("payment"), Value(p.PendingPayment)),
				Button(Class("btn btn-primary"), Type("submit"), Text("Confirm payment")))),
			If(!admin, P(Text("An admin of your organisation can confirm it here."))),
		)),
		If(!admin, Div(Class("notice"), Text("Only admins can change auto-recharge."))),
		Form(Class("form"), Method("post"), Action("/billing/auto-recharge"), Attr("novalidate"), changeFields(admin,
			errorSummary(e, "enabled", "threshold", "amount", "monthly_cap"),
			Div(Class("field"),
				Label(Class("toggle"),
					control(Input, "enabled", false, e, Type("checkbox"), Value("on"), If(v["enabled"] == "on", Checked())),
					Span(Class("toggle-track"), Aria("hidden", "true")),
					Span(Class("toggle-label"), Text("Setting to Auto Recharge")),
				),
				If(e["enabled"] != "", P(Class("field-error"), ID("enabled-error"), Text(e["enabled"]))),
			),
			card,
			formField("threshold", "When Remaining Credits fall below", moneyInput("threshold", v["threshold"], e, "10.00"), "Between $5 and $5000.", e),
			formField("amount", "Add this amount", moneyInput("amount", v["amount"], e, "50.00"), "Between $5 and $5000, charged each time.", e),
			formField("monthly_cap", "Monthly cap (optional)", moneyInput("monthly_cap", v["monthly_cap"], e, ""),
				"The most auto-recharge charges in a calendar month (UTC). Leave empty for no cap.", e),
			Div(Class("form-actions"), Button(Class("btn btn-primary"), Type("submit"), Text("Save changes"))),
		)),
		H2(Text("Recent attempts")),
		rechargeAttempts(p.Attempts),
	)
}

// moneyInput is a dollar amount input with its "$" prefix, and attrs.
func moneyInput(id, value string, errs map[string]string, placeholder string, attrs ...Node) Node {
	return Div(Class("input-prefix"), Span(Class("prefix"), Aria("hidden", "true"), Text("$")),
		control(Input, id, true, errs, append([]Node{Value(value), Attr("inputmode", "decimal"), If(placeholder != "", Placeholder(placeholder))}, attrs...)...))
}

func rechargeAttempts(attempts []store.RechargeAttempt) Node {
	if len(attempts) == 0 {
		return Div(Class("empty"), P(Text("No auto-recharge attempts yet.")))
	}
	return Div(Class("table-wrap"), Table(Class("table table-stack"),
		Caption(Text("The last auto-recharge attempts, newest first. Times are UTC.")),
		THead(Tr(Th(Scope("col"), Text("Time")), Th(Scope("col"), Class("num"), Text("Amount")), Th(Scope("col"), Text("Status")),
			Th(Scope("col"), Text("Payment")), Th(Scope("col"), Text("Details")))),
		TBody(Map(attempts, func(a store.RechargeAttempt) Node {
			badge := "badge badge-green"
			if a.Status != "succeeded" {
				badge = "badge badge-red"
			}
			return Tr(labelled("Time", timestamp(a.Created)), labelled("Amount", Class("num"), Text(a.Amount.Display())), labelled("Status", Span(Class(badge), Text(a.Status))),
				labelled("Payment", Class("mono"), Text(a.PaymentID)), labelled("Details", Text(a.Message)))
		})),
	))
}
