package html

import (
	"net/url"

	"github.com/acme/billing/shared/billing"
	. "maragu.dev/gomponents"
	. "maragu.dev/gomponents/components"
	. "maragu.dev/gomponents/html"
)

// BalanceHistoryProps carries the layout props and the rows of one page.
type BalanceHistoryProps struct {
	PageProps
	Transactions billing.TransactionPage
	// FirstPage reports whether this is the newest page.
	FirstPage bool
}

// BalanceHistoryPage lists balance transactions, newest first: credits
// positive, debits negative.
func BalanceHistoryPage(p BalanceHistoryProps) Node {
	p.Title = "Balance History"
	rows := p.Transactions.Items
	var content Node
	if len(rows) == 0 {
		content = Div(Class("empty"),
			H2(Text("No balance transactions yet")),
			P(Text("Purchases, grants and credit applied to invoices will be listed here.")),
		)
	} else {
		content = Div(Class("table-wrap"),
			Table(Class("table table-stack"),
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
	return Page(p.PageProps,
		pageHeader("Balance History", "Every change to your balance: purchases, grants and credit applied to invoices.",
			A(Class("btn btn-secondary"), Href("/billing/balance-history.csv"), Download(""), Text("Download CSV")),
		),
		content,
		pagination(p.FirstPage, p.Transactions.Next),
	)
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

func pagination(first bool, next string) Node {
	if first && next == "" {
		return nil
	}
	return Nav(Class("pagination"), Aria("label", "Balance history pages"),
		If(!first, A(Class("btn btn-secondary"), Href("/billing/balance-history"), Text("Newest"))),
		If(next != "", A(Class("btn btn-secondary"), Href("/billing/balance-history?after="+url.QueryEscape(next)), Rel("next"), Text("Older"))),
	)
}
