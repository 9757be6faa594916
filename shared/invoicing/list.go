package invoicing

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// Kinds of an entry of the order and invoice history.
const (
	KindInvoice = "invoice"
	KindOrder   = "order" // a top-up of usage credits, paid when ordered
)

// Entry is one row of the order and invoice history.
type Entry struct {
	Kind string
	ID   string
	// Date is the invoice date, or when the order was placed.
	Date   time.Time
	PaidAt time.Time
	// Amount is what was paid in money: an invoice's amount due, an
	// order's amount.
	Amount money.Money
	Status string
	// Invoice is set for an invoice, Order for an order.
	Invoice store.Invoice
	Order   store.Order

	pos string // its place in the history, for cursors
}

// Lists are the two tables of the Invoices page.
type Lists struct {
	// Due are the unpaid invoices, oldest due date first.
	Due []store.Invoice
	// History is one page of the paid and void invoices and the paid
	// top-up orders, newest first. Periods closed with no usage are not
	// listed.
	History []Entry
	// Newer and Older are the cursors of the neighbouring pages of the
	// history, "" when there is none (Newer is "" on the first page).
	Newer, Older string
	// Top reports that the newer page asked for is the first page: show
	// that instead.
	Top bool
}

// cursor is a place in the order and invoice history: positions in its
// two runs, invoices and orders. Read older, a page lists what lies below
// both; read newer, what lies at or above them. "" is above the newest.
//
// It travels in the URL as base64 JSON. Positions name only sort keys:
// the organisation always comes from the session, so a cursor taken from
// another organisation reads this organisation's history and shows nothing
// of the other's.
type cursor struct {
	Invoice string `json:"i,omitempty"`
	Order   string `json:"o,omitempty"`
	Newer   bool   `json:"n,omitempty"`
}

func (c cursor) String() string {
	b, _ := json.Marshal(c) // a struct of strings always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || !store.ValidInvoicePos(c.Invoice) || !store.ValidOrderPos(c.Order) {
		return cursor{}, billing.FieldError("cursor", "That page link is not valid; start from the first page.")
	}
	return c, nil
}

// List returns the organisation's Payments Due and the page of its order
// and invoice history at page (a cursor of Lists.Newer or Lists.Older, ""
// for the newest), of at most size entries.
//
// It costs one round trip of two DynamoDB requests at once on every
// page: every invoice with its refunds (one a month; one request holds
// decades of them), and the page's orders with their adjustments, which
// sort next to them. It returns EINVALID for a cursor it did not make.
func (s *Service) List(ctx context.Context, orgID, page string, size int) (Lists, error) {
	c, err := parseCursor(page)
	if err != nil {
		return Lists{}, err
	}
	// The two reads at once: one round trip.
	var invoices []store.Invoice
	var invErr error
	var wg sync.WaitGroup
	wg.Go(func() { invoices, invErr = s.store.Invoices(ctx, orgID) })
	orders, err := s.store.OrdersAt(ctx, orgID, c.Order, c.Newer, size)
	wg.Wait()
	if err = cmp.Or(invErr, err); err != nil {
		return Lists{}, err
	}
	var l Lists
	var invs []Entry // newest first
	for _, inv := range invoices {
		switch {
		case inv.Unpaid():
			l.Due = append(l.Due, inv)
		case inv.Usage > 0:
			invs = append(invs, Entry{Kind: KindInvoice, ID: inv.ID, Date: inv.Created, PaidAt: inv.PaidAt,
				Amount: inv.Due, Status: inv.Status, Invoice: inv, pos: store.InvoicePos(inv)})
		}
	}
	slices.SortStableFunc(l.Due, func(a, b store.Invoice) int { return a.DueDate.Compare(b.DueDate) })
	ords := make([]Entry, len(orders.Orders))
	for i, o := range orders.Orders {
		ords[i] = Entry{Kind: KindOrder, ID: o.ID, Date: o.Created, PaidAt: o.PaidAt,
			Amount: o.Amount, Status: store.InvoicePaid, Order: o, pos: orders.Pos[i]}
	}
	if c.Newer {
		l.History, l.Newer, l.Older, l.Top = newerPage(invs, ords, orders.Beyond, c, size)
	} else {
		l.History, l.Newer, l.Older = olderPage(invs, ords, orders.More, c, size)
	}
	return l, nil
}

// newer orders entries newest first: by date, then id.
func newer(a, b Entry) int { return cmp.Or(b.Date.Compare(a.Date), cmp.Compare(b.ID, a.ID)) }

// olderPage merges the invoices (all, newest first) below c.Invoice with
// the orders read below c.Order (newest first; moreOrders when there are
// more) into a page of at most size entries, and the cursors around it.
func olderPage(invs, ords []Entry, moreOrders bool, c cursor, size int) (page []Entry, newerPage, olderCur string) {
	invs = slices.DeleteFunc(invs, func(e Entry) bool { return c.Invoice != "" && e.pos >= c.Invoice })
	next := cursor{Invoice: c.Invoice, Order: c.Order}
	i, j := 0, 0
	for len(page) < size && (i < len(invs) || j < len(ords)) {
		if j == len(ords) || (i < len(invs) && newer(invs[i], ords[j]) <= 0) {
			page, next.Invoice = append(page, invs[i]), invs[i].pos
			i++
		} else {
			page, next.Order = append(page, ords[j]), ords[j].pos
			j++
		}
	}
	if i < len(invs) || j < len(ords) || moreOrders {
		olderCur = next.String()
	}
	if c != (cursor{}) {
		newerPage = cursor{Invoice: c.Invoice, Order: c.Order, Newer: true}.String()
	}
	return page, newerPage, olderCur
}

// newerPage merges the invoices at or above c.Invoice with the orders read
// at or above c.Order (oldest first; beyond is the position of the next
// order when there are more) into
// the page of the size entries just above the cursor, newest first, and
// the cursors around it. top reports that fewer than a page lie above: the
// first page shows them.
func newerPage(invs, ords []Entry, beyond string, c cursor, size int) (page []Entry, newerCur, olderCur string, top bool) {
	invs = slices.DeleteFunc(invs, func(e Entry) bool { return c.Invoice == "" || e.pos < c.Invoice })
	slices.Reverse(invs) // oldest first
	if len(invs)+len(ords) <= size && beyond == "" {
		return nil, "", "", true
	}
	// The page starts at the cursor's positions (each names the lowest
	// entry of its run the page can list), so below it lies what lies
	// below them.
	older := cursor{Invoice: c.Invoice, Order: c.Order}
	above := cursor{Order: beyond, Newer: true}
	i, j := 0, 0
	for len(page) < size && (i < len(invs) || j < len(ords)) {
		if j == len(ords) || (i < len(invs) && newer(invs[i], ords[j]) >= 0) {
			page = append(page, invs[i])
			i++
		} else {
			page = append(page, ords[j])
			j++
		}
	}
	if i < len(invs) {
		above.Invoice = invs[i].pos
	}
	if j < len(ords) {
		above.Order = ords[j].pos
	}
	slices.Reverse(page)
	if above.Invoice == "" && above.Order == "" {
		return page, "", older.String(), false
	}
	return page, above.String(), older.String(), false
}
