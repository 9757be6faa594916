package html

import (
	"net/url"
	"strings"
	"time"

	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"
)

// InvoicesProps is what the Invoices page shows.
type InvoicesProps struct {
	Page PageProps
	Due  []store.Invoice
	// History is one page of the order and invoice history; Newer and
	// Older are the cursors of its neighbours ("" for none).
	History      []invoicing.Entry
	Newer, Older string
	// Token is the one-time token of the page's payment forms.
	Token string
	// Local offers the local-only "Close billing cycle now".
	Local bool
}

// InvoicesPage shows Payments Due (Invoice Date, Invoice ID, Due Date,
// Amount, and Actions: Pay now, which asks for confirmation, and Download)
// and one page of the Order and invoice history (Invoice Date, Invoice ID,
// Payment date, Amount, and Actions: View and Download PDF), top-ups
// included as paid orders, with Newer and Older links.
func InvoicesPage(p InvoicesProps) Node {
	p.Page.Title = "Invoices"
	admin := p.Page.Session.Role.CanChange()
	return Page(p.Page,
		pageHeader("Invoices", "Your payments due and your order and invoice history."),
		Section(Aria("labelledby", "payments-due"),
			H2(ID("payments-due"), Text("Payments Due")),
			paymentsDue(p, admin),
		),
		Section(Aria("labelledby", "history"),
			H2(ID("history"), Text("Order and invoice history")),
			history(p.History),
			invoicesPager(p.Newer, p.Older),
		),
		If(p.Local && admin, Section(Class("notice"), Aria("labelledby", "dev-close"),
			H2(ID("dev-close"), Text("Local mode: close the billing cycle")),
			P(Text("Cycles close on the 1st of each month at 00:00 UTC. Close this month's cycle now to see its invoice; the month's later usage goes on the next invoice.")),
			Form(Class("inline"), Method("post"), Action("/dev/close-cycle"),
				Button(Class("btn btn-secondary btn-sm"), Type("submit"), Text("Close billing cycle now")),
			),
		)),
	)
}

// pager links the newest, the newer and the older page of a list; an
// empty href leaves its link out, and with no newer or older page there is
// no pager.
func pager(label, newest, newer, older string) Node {
	if newer == "" && older == "" {
		return nil
	}
	return Nav(Class("pagination"), Aria("label", label),
		If(newest != "", A(Class("btn btn-secondary"), Href(newest), Text("Newest"))),
		If(newer != "", A(Class("btn btn-secondary"), Href(newer), Rel("prev"), Text("Newer"))),
		If(older != "", A(Class("btn btn-secondary"), Href(older), Rel("next"), Text("Older"))),
	)
}

// withQuery returns path with the query parameters kv (name, value, …)
// that have a value.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func invoicesPager(newer, older string) Node {
	at := func(cursor string) string {
		if cursor == "" {
			return ""
		}
		return withQuery("/billing/invoices", "page", cursor) + "#history"
	}
	newest := ""
	if newer != "" {
		newest = "/billing/invoices#history"
	}
	return pager("Order and invoice history pages", newest, at(newer), at(older))
}

func paymentsDue(p InvoicesProps, admin bool) Node {
	if len(p.Due) == 0 {
		return Div(Class("empty"), ID("payments-due-empty"),
			P(Text("No payments due. When a monthly billing cycle closes with usage your credit balance does not cover, and your default card is not charged automatically or is declined, the invoice waits here until it is paid.")),
		)
	}
	return Div(Class("table-wrap"), Table(Class("table table-stack"), ID("payments-due-table"),
		Caption(Text("Invoices waiting for payment. Dates are UTC.")),
		THead(Tr(
			Th(Scope("col"), Text("Invoice Date")),
			Th(Scope("col"), Text("Invoice ID")),
			Th(Scope("col"), Text("Due Date")),
			Th(Scope("col"), Class("num"), Text("Amount")),
			Th(Scope("col"), Text("Actions")),
		)),
		TBody(Map(p.Due, func(inv store.Invoice) Node { return dueRow(inv, p, admin) })),
	))
}

func dueRow(inv store.Invoice, p InvoicesProps, admin bool) Node {
	pay := Node(Span(Class("muted"), Text("Only admins can pay.")))
	if admin {
		// The card is chosen on the confirmation, which reads the cards.
		pay = Form(Class("inline"), Method("post"), Action("/billing/invoices/"+inv.ID+"/pay"),
			Input(Type("hidden"), Name("token"), Value(p.Token)),
			Button(Class("btn btn-primary btn-sm"), Type("submit"), Aria("label", "Pay now: invoice "+inv.ID), Text("Pay now")),
		)
	}
	return Tr(
		labelled("Invoice Date", date(inv.Created)),
		labelled("Invoice ID", Class("mono"), A(Href("/billing/invoices/"+inv.ID), Text(inv.ID))),
		labelled("Due Date", date(inv.DueDate)),
		labelled("Amount", Class("num"), amount(inv.Due), If(inv.LastError != "", P(Class("field-error"), Text(inv.LastError)))),
		labelled("Actions", pay, Text(" "), A(Class("btn btn-secondary btn-sm"), Href(pdfHref(inv.ID, inv.PDFURL)), Aria("label", "Download invoice "+inv.ID), Text("Download"))),
	)
}

func history(entries []invoicing.Entry) Node {
	if len(entries) == 0 {
		return Div(Class("empty"), ID("history-empty"),
			P(Text("No orders or invoices yet. Each purchase of usage credits is listed here as a paid order, and so is the invoice of each billing cycle, closed on the 1st of each month at 00:00 UTC.")),
		)
	}
	return Div(Class("table-wrap"), Table(Class("table table-stack"), ID("history-table"),
		Caption(Text("Paid orders and closed invoices, newest first. Amount is what was paid in money; credit applied from your balance is shown below it. Dates are UTC.")),
		THead(Tr(
			Th(Scope("col"), Text("Invoice Date")),
			Th(Scope("col"), Text("Invoice ID")),
			Th(Scope("col"), Text("Payment date")),
			Th(Scope("col"), Class("num"), Text("Amount")),
			Th(Scope("col"), Text("Actions")),
		)),
		TBody(Map(entries, historyRow)),
	))
}

func historyRow(e invoicing.Entry) Node {
	var kind, detail Node
	pdf := pdfHref(e.ID, "")
	if e.Kind == invoicing.KindOrder {
		kind = Span(Class("badge badge-gray"), Text("Top-up"))
		var notes Group
		if e.Order.Method != "" {
			notes = append(notes, P(Class("muted"), Text(e.Order.Method)))
		}
		if r := e.Order.Refunded(); r > 0 {
			kind = Group{kind, Text(" "), Span(Class("badge badge-red"), Text("Refunded"))}
			notes = append(notes, P(Class("muted"), ID("refunded-"+e.ID), Text("Refunded "+r.Display()+", debited from your balance")))
		}
		if d := e.Order.Disputed(); d > 0 {
			kind = Group{kind, Text(" "), Span(Class("badge badge-red"), Text("Disputed"))}
			notes = append(notes, P(Class("muted"), ID("disputed-"+e.ID), Text("Disputed "+d.Display()+", debited from your balance")))
		}
		detail = notes
	} else {
		kind = Span(Class("badge badge-gray"), Text("Invoice"))
		if e.Status != store.InvoicePaid {
			kind = Group{kind, Text(" "), Span(Class("badge badge-red"), Text(e.Status))}
		}
		detail = P(Class("muted"), Text("Usage "+e.Invoice.Usage.Display()+", credit applied "+(-e.Invoice.Applied).Display()))
		if r := e.Invoice.Refunded; r > 0 {
			kind = Group{kind, Text(" "), Span(Class("badge badge-red"), Text("Refunded"))}
			detail = Group{detail, P(Class("muted"), ID("refunded-"+e.ID), Text("Refunded "+r.Display()+" to your card"))}
		}
		pdf = pdfHref(e.ID, e.Invoice.PDFURL)
	}
	return Tr(
		labelled("Invoice Date", date(e.Date)),
		labelled("Invoice ID", Class("mono"), Text(e.ID), Text(" "), kind),
		labelled("Payment date", date(e.PaidAt)),
		labelled("Amount", Class("num"), amount(e.Amount), detail),
		labelled("Actions",
			A(Class("btn btn-secondary btn-sm"), Href("/billing/invoices/"+e.ID), Aria("label", "View "+e.ID), Text("View")), Text(" "),
			A(Class("btn btn-secondary btn-sm"), Href(pdf), Aria("label", "Download PDF of "+e.ID), Text("Download PDF")),
		),
	)
}

// PayInvoiceProps is the confirmation of "Pay now".
type PayInvoiceProps struct {
	Page  PageProps
	Quote invoicing.Quote
	// Token is the one-time token of the payment: the same on the
	// confirmation as on the form that asked for it.
	Token string
}

// PayInvoicePage asks before charging an invoice: "Charge $X to Visa ••••
// 4242 (exp 12/31)?", with the invoice, its amount and a choice of card.
// Only its Pay button (confirm=yes) charges.
func PayInvoicePage(p PayInvoiceProps) Node {
	q := p.Quote
	inv := q.Invoice
	p.Page.Title = "Pay invoice " + inv.ID
	action := "/billing/invoices/" + inv.ID + "/pay"
	facts := Dl(Class("kv"),
		kv("Invoice", A(Class("mono"), Href("/billing/invoices/"+inv.ID), Text(inv.ID))),
		kv("Invoice Date", date(inv.Created)),
		kv("Due Date", date(inv.DueDate)),
		kv("Amount", Span(ID("pay-amount"), amount(inv.Due))),
	)
	cancel := A(Class("btn btn-secondary"), Href("/billing/invoices"), Text("Cancel"))
	if q.Card.ID == "" {
		return Page(p.Page,
			pageHeader("Pay invoice "+inv.ID, "Add a card to pay this invoice."),
			Section(Class("card"), Aria("label", "Payment"), facts,
				P(ID("pay-no-card"), Text("You have no card on file, so nothing can be charged yet.")),
				Div(Class("actions"),
					A(Class("btn btn-primary"), Href("/billing/payment-methods/new?next=/billing/invoices"), Text("Add a card to pay")), Text(" "), cancel),
			),
		)
	}
	hidden := func(name, value string) Node { return Input(Type("hidden"), Name(name), Value(value)) }
	return Page(p.Page,
		pageHeader("Pay invoice "+inv.ID, "Check the payment: nothing is charged until you confirm."),
		Section(Class("card"), Aria("labelledby", "pay-confirm"),
			H2(ID("pay-confirm"), Text("Charge "+inv.Due.Display()+" to "+cardLabel(q.Card)+"?")),
			facts,
			Form(Method("post"), Action(action), Data("busy", "Charging…"),
				hidden("token", p.Token), hidden("card", q.Card.ID), hidden("confirm", "yes"),
				Div(Class("actions"),
					Button(Class("btn btn-primary"), Type("submit"), Text("Pay "+inv.Due.Display()+" now")), Text(" "), cancel),
			),
			If(len(q.Cards) > 1, Form(Method("post"), Action(action), Class("pay-other-card"),
				hidden("token", p.Token),
				Label(For("pay-card"), Text("Pay with another card")),
				Select(ID("pay-card"), Name("card"), Map(q.Cards, func(c payments.Card) Node {
					return Option(Value(c.ID), If(c.ID == q.Card.ID, Selected()), Text(cardLabel(c)))
				})),
				Text(" "),
				Button(Class("btn btn-secondary"), Type("submit"), Text("Use this card")),
			)),
		),
	)
}

// pdfHref is the PDF of a document: the provider's own (Stripe's hosted
// invoice PDF) when it has one, else ours.
func pdfHref(id, providerPDF string) string {
	if providerPDF != "" {
		return providerPDF
	}
	return "/billing/invoices/" + id + "/pdf"
}

// date shows the UTC day of t, machine-readable; a dash for no time.
func date(t time.Time) Node {
	if t.IsZero() {
		return Span(Class("muted"), Text("—"))
	}
	t = t.UTC()
	return Time(DateTime(t.Format(time.RFC3339)), Text(t.Format("Jan 2, 2006")))
}

// InvoiceDocumentProps is an invoice or receipt to show.
type InvoiceDocumentProps struct {
	Page PageProps
	Doc  invoicing.Document
}

// InvoiceDocumentPage is the printable invoice or receipt: the seller, the
// buyer (invoice address, PO number, tax registrations), the lines, the
// credit applied, the amount due and the status.
func InvoiceDocumentPage(p InvoiceDocumentProps) Node {
	d := p.Doc
	title := d.Kind + " " + d.Number
	p.Page.Title = title
	facts := []Node{kv("Number", Span(Class("mono"), Text(d.Number))), kv("Date", date(d.Date)), kv("Status", docStatus(d.Status))}
	if !d.DueDate.IsZero() {
		facts = append(facts, kv("Due date", date(d.DueDate)))
	}
	if !d.PaidAt.IsZero() {
		facts = append(facts, kv("Paid", date(d.PaidAt)))
	}
	if d.PaidWith != "" {
		facts = append(facts, kv("Paid with", Text(d.PaidWith)))
	}
	if d.Refunded > 0 {
		facts = append(facts, kv("Refunded", Span(ID("doc-refunded"), Text(d.Refunded.Display()))))
	}
	if d.Disputed > 0 {
		facts = append(facts, kv("Disputed", Span(ID("doc-disputed"), Text(d.Disputed.Display()))))
	}
	totals := []Node{totalRow("Subtotal", d.Subtotal, "subtotal")}
	if d.Kind == invoicing.DocInvoice {
		totals = append(totals, totalRow("Applied credit balance", -d.CreditApplied, "credit-applied"),
			totalRow("Amount due", d.AmountDue, "amount-due"))
	}
	totals = append(totals, totalRow("Amount paid", d.AmountPaid, "amount-paid"))
	tax := Node(P(Class("muted"), ID("tax-registrations"), Text("None on file.")))
	switch {
	case d.Unrecorded:
		tax = P(Class("muted"), ID("tax-registrations"), Text("Not recorded on this document when it was issued."))
	case len(d.TaxRegistrations) > 0:
		tax = Ul(ID("tax-registrations"), Map(d.TaxRegistrations, func(s string) Node { return Li(Text(s)) }))
	}
	po := Node(Dl(Class("kv"), kv("Purchase order (PO) number", Span(ID("po-number"), Text(orNone(d.PONumber))))))
	buyer := party("Bill to", "buyer", d.Buyer)
	if d.BuyerUnrecorded() {
		buyer, po = Div(H3(Text("Bill to")), P(Class("muted"), ID("buyer"), Text("Not recorded on this receipt when it was issued."))), nil
	}
	return Page(p.Page,
		Link(Rel("stylesheet"), Href("/static/invoice.css")),
		pageHeader(title, "A printable copy: use your browser's Print to print it or save it as PDF.",
			A(Class("btn btn-primary"), Href(pdfHref(d.Number, d.ProviderPDF)), Text("Download PDF")),
			If(d.HostedURL != "" && d.Status == store.InvoiceOpen, A(Class("btn btn-secondary"), Href(d.HostedURL), Text("Pay on Stripe"))),
			A(Class("btn btn-secondary"), Href("/billing/invoices"), Text("Back to Invoices")),
		),
		Article(Class("card invoice-doc"), ID("invoice-document"), Aria("label", title),
			Div(Class("invoice-parties"),
				party("From", "seller", d.Seller),
				Div(buyer, po, H3(Text("Tax registrations")), tax),
			),
			Dl(Class("kv invoice-facts"), Group(facts)),
			Table(Class("table"), ID("invoice-lines"),
				Caption(Text("Amounts in US dollars.")),
				THead(Tr(Th(Scope("col"), Text("Description")), Th(Scope("col"), Class("num"), Text("Amount (USD)")))),
				TBody(Map(d.Lines, func(l invoicing.Line) Node {
					return Tr(Td(Text(l.Description)), Td(Class("num"), amount(l.Amount)))
				})),
				TFoot(Group(totals)),
			),
			If(d.Carried > 0, P(Class("muted"), ID("carried"),
				Text("A further $"+d.Carried.String()+" of this period's usage (under one cent, or an amount due below the $"+
					invoicing.MinimumCharge.String()+" minimum charge) is carried into your next invoice."))),
			P(Class("muted"), Text("Usage is metered in millionths of a dollar; amounts shown are rounded to whole cents.")),
		),
	)
}

func party(heading, id string, p invoicing.Party) Node {
	name := p.Name
	if name == "" {
		name = "No invoice address on file."
	}
	lines := append([]string{name}, p.Address...)
	if p.Email != "" {
		lines = append(lines, p.Email)
	}
	if p.TaxID != "" {
		lines = append(lines, p.TaxID)
	}
	return Div(
		H3(Text(heading)),
		Address(ID(id), Map(lines, func(l string) Node { return Group{Text(l), Br()} })),
	)
}

func kv(label string, value Node) Node {
	return Group{Dt(Text(label)), Dd(value)}
}

func totalRow(label string, m money.Money, id string) Node {
	return Tr(Th(Scope("row"), Class("num"), Text(label)), Td(Class("num"), ID(id), amount(m)))
}

func docStatus(s string) Node {
	class := "badge badge-gray"
	switch s {
	case store.InvoicePaid:
		class = "badge badge-green"
	case store.InvoiceOpen, store.InvoiceUncollectible:
		class = "badge badge-amber"
	}
	return Span(Class(class), ID("status"), Text(strings.ToUpper(s[:min(1, len(s))])+s[min(1, len(s)):]))
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
