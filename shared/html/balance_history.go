package html

import (
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/components"
	. "maragu.dev/gomponents/html"
)

// BalanceHistoryProps carries the layout props and one page of rows.
type BalanceHistoryProps struct {
	PageProps
	Transactions store.TxPage
	// Kind is the kind of transaction shown, "" for all.
	Kind string
	// FirstPage reports whether this is the newest page.
	FirstPage bool
}

// txKinds are the filters of the balance history, in the order shown.
var txKinds = []struct{ kind, label string }{
	{store.TxAll, "All"},
	{store.TxCredits, "Credits"},
	{store.TxUsage, "Usage invoiced"},
	{store.TxRefunds, "Refunds"},
}

// BalanceHistoryPage lists balance transactions, newest first: credits
// positive, debits negative; filtered by kind, with Newer and Older pages
// and a CSV export of a date range.
func BalanceHistoryPage(p BalanceHistoryProps) Node {
	p.Title = "Balance History"
	rows := p.Transactions.Items
	var content Node
	switch {
	case len(rows) == 0 && p.Kind != "":
		content = Div(Class("empty"), ID("history-empty"),
			P(Text("No transactions of this kind on this page.")),
		)
	case len(rows) == 0:
		content = Div(Class("empty"), ID("history-empty"),
			H2(Text("No balance transactions yet")),
			P(Text("Purchases, grants and credit applied to invoices will be listed here.")),
		)
	default:
		content = Div(Class("table-wrap"),
			Table(Class("table table-stack"), ID("balance-history-table"),
				Caption(Text("Balance transactions, newest first. Credits are positive, debits negative. Times are UTC.")),
				THead(Tr(
					Th(Scope("col"), Text("Id")),
					Th(Scope("col"), Text("Description")),
					Th(Scope("col"), Text("Created Time")),
					Th(Scope("col"), Class("num"), Text("Amount (USD)")),
				)),
				TBody(Map(rows, transactionRow)),
			),
		)
	}
	const path = "/billing/balance-history"
	at := func(param, cursor string) string {
		if cursor == "" {
			return ""
		}
		return withQuery(path, "kind", p.Kind, param, cursor)
	}
	newest := ""
	if !p.FirstPage {
		newest = withQuery(path, "kind", p.Kind)
	}
	return Page(p.PageProps,
		pageHeader("Balance History", "Every change to your balance: purchases, grants, credit applied to invoices and refunds."),
		Nav(Class("filters"), Aria("label", "Kinds of transaction"),
			Map(txKinds, func(k struct{ kind, label string }) Node {
				return A(Classes{"btn btn-sm": true, "btn-primary": k.kind == p.Kind, "btn-secondary": k.kind != p.Kind},
					Href(withQuery(path, "kind", k.kind)), If(k.kind == p.Kind, Aria("current", "page")), Text(k.label))
			}),
		),
		content,
		pager("Balance history pages", newest, at("before", p.Transactions.Newer), at("after", p.Transactions.Older)),
		exportForm(),
	)
}

// exportForm downloads the balance history of a date range as CSV.
func exportForm() Node {
	return Section(Class("card"), Aria("labelledby", "export"),
		H2(ID("export"), Text("Download CSV")),
		P(Class("muted"), Text("Amounts at full precision, from the first day to the last, inclusive (UTC). Leave both dates empty for the whole history; a download holds up to 5 MB (about 60,000 transactions), so download a long history a few months at a time.")),
		Form(Class("inline"), Method("get"), Action("/billing/balance-history.csv"),
			dayInput("export-from", "from", "From"), Text(" "),
			dayInput("export-to", "to", "To"), Text(" "),
			Button(Class("btn btn-secondary"), Type("submit"), Text("Download CSV")),
		),
	)
}

// dayInput is a labelled text field for a UTC day, YYYY-MM-DD. (A date
// input would hold focus across its day, month and year.)
func dayInput(id, name, label string) Node {
	return Group{
		Label(For(id), Text(label+" (YYYY-MM-DD)")),
		Input(Type("text"), ID(id), Name(name), Placeholder("2026-11-01"), Pattern(`\d{4}-\d{2}-\d{2}`), Attr("inputmode", "numeric"), AutoComplete("off"), Attr("size", "10")),
	}
}

func transactionRow(tx billing.Transaction) Node {
	return Tr(
		labelled("Id", Class("mono"), Text(tx.ID)),
		labelled("Description", Text(tx.Description)),
		labelled("Created Time", timestamp(tx.Created)),
		labelled("Amount (USD)", Classes{"num": true, "amount-credit": tx.Amount > 0, "amount-debit": tx.Amount < 0},
			If(tx.Amount > 0, Span(Class("sr-only"), Text("credit "))),
			If(tx.Amount < 0, Span(Class("sr-only"), Text("debit "))),
			Text(tx.Amount.Display()),
		),
	)
}
