package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/web"
)

// maxPageRoundTrips bounds the DynamoDB round trips of one page view,
// whatever the organisation's history (issue 14: every page bounded). The
// check of the session's record is not counted: a page view reads it at
// most once a minute per function instance (auth.RecheckAfter), and the
// warm-up view below makes it.
const maxPageRoundTrips = 2

// sandboxItems matches a request for the sandbox payment provider's own
// items (keys SB…): locally they stand in for Stripe's API, which in AWS
// is called instead, so they are not DynamoDB round trips of the page.
var sandboxItems = regexp.MustCompile(`"S":"SB[A-Z]*#`)

// TestEveryPageViewIsBounded views every page of the section, as acme's
// admin with a card, a tax registration, an open invoice and the demo's
// history, and counts the DynamoDB requests of each view, as the logging
// proxy of issue 14 did: with acme's usage counters in one shard, and in
// eight (a hot organisation's: every page reads them all in its one
// BatchGetItem).
func TestEveryPageViewIsBounded(t *testing.T) {
	for _, shards := range []int{1, 8} {
		t.Run(fmt.Sprintf("%d counter shards", shards), func(t *testing.T) { everyPageViewIsBounded(t, shards) })
	}
}

func everyPageViewIsBounded(t *testing.T, shards int) {
	e := newEnv(t, lateInMonth)
	e.seed()
	if _, err := e.store.SetCounterShards(t.Context(), demo.OrgID, shards); err != nil {
		t.Fatal(err)
	}
	admin := e.signIn(demo.OrgID, "you@acme.test", "admin")
	admin.addCard(t, "Acme Payer", "5555 5555 5555 4444", "12", expYear)
	admin.addTaxID(t, "DE", "eu_vat", "DE260543043")
	card := admin.cards(t)[0].id
	if err := e.store.AddUsage(t.Context(), demo.OrgID, lateInMonth, money.MustParse("400")); err != nil {
		t.Fatal(err)
	}
	admin.closeCycle(t)
	invs, err := e.store.Invoices(t.Context(), demo.OrgID)
	if err != nil || len(invs) == 0 {
		t.Fatalf("acme invoices %v, %v", invs, err)
	}
	inv := invs[0]
	orders, err := e.store.Orders(t.Context(), demo.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) == 0 {
		t.Fatal("acme has no orders")
	}

	var pages int
	for _, r := range web.Routes(web.Deps{}) {
		if r.Access != web.AccessSession || r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/dev/") {
			continue
		}
		paths := []string{r.Path}
		switch {
		case strings.HasSuffix(r.Path, "/{id}/pdf"), strings.HasSuffix(r.Path, "/invoices/{id}"):
			// An invoice, and a top-up's receipt.
			paths = []string{strings.ReplaceAll(r.Path, "{id}", url.PathEscape(inv.ID)), strings.ReplaceAll(r.Path, "{id}", url.PathEscape(orders[0].ID))}
		case strings.Contains(r.Path, "{id}"):
			continue // a tax registration's delete page: no reads of history
		case r.Path == "/billing/payment-methods/delete":
			paths[0] += "?card=" + url.QueryEscape(card)
		case r.Path == "/billing/credits/complete":
			// Not a page: the return from a card payment, which applies
			// the payment (once, invariant 4) and redirects to the form.
			continue
		}
		for _, path := range paths {
			pages++
			t.Run(path, func(t *testing.T) {
				view := func() {
					t.Helper()
					if res := admin.get(path); res.status != http.StatusOK {
						t.Fatalf("GET %s: %d", path, res.status)
					}
				}
				view()
				e.db.Reset()
				view()
				e.checkRoundTrips(t, "GET "+path)
			})
		}
	}
	if pages < 10 {
		t.Fatalf("only %d pages viewed", pages)
	}
}

// checkRoundTrips logs the DynamoDB requests made since the last
// e.db.Reset, by the page view named view, and fails the test above
// maxPageRoundTrips. Requests for the sandbox's items are listed, not
// counted.
func (e *env) checkRoundTrips(t *testing.T, view string) {
	t.Helper()
	var n int
	var ops []string
	for _, r := range e.db.Requests() {
		op := r.Op
		if sandboxItems.Match(r.Body) {
			op += " (sandbox)"
		} else {
			n++
		}
		ops = append(ops, op)
	}
	t.Logf("%s: %d DynamoDB round trips %v", view, n, ops)
	if n > maxPageRoundTrips {
		t.Errorf("%s made %d DynamoDB round trips %v, want at most %d", view, n, ops, maxPageRoundTrips)
	}
}

// TestLaterInvoicePagesAreBounded walks the Invoices page's history of 68
// entries (4 pages) Older to the end and Newer back to the top, with
// refunds and disputes of top-ups on every page, and counts the DynamoDB
// requests of each view: the later pages are bounded like the first.
func TestLaterInvoicePagesAreBounded(t *testing.T) {
	e := newEnv(t, lateInMonth)
	b := e.signIn("pager", "you@pager.test", "admin")
	want := e.seedHistory(t, "pager")
	// notes are the adjusted top-ups, on every page of the history, and
	// the note each shows on its row: seedHistory refunded the newest and
	// pi_pager062, on the last page; the middle pages get disputes and
	// refunds here.
	notes := map[string]string{want[0]: "refunded-", "pi_pager062": "refunded-"}
	for _, a := range []struct {
		order, kind string
		amount      int64
	}{
		{want[25], store.AdjustDispute, -3},
		{want[25], store.AdjustRefund, -1},
		{want[45], store.AdjustDispute, -4},
		{want[45], store.AdjustDisputeWon, 4},
		{want[46], store.AdjustDispute, -2},
	} {
		if !strings.HasPrefix(a.order, "pi_") {
			t.Fatalf("entry %s is not a top-up", a.order)
		}
		if _, err := e.store.AdjustPayment(t.Context(), "pager", store.Adjustment{Key: a.kind + ":" + a.order, PaymentID: a.order,
			Kind: a.kind, Amount: money.Dollars(a.amount), Description: "Adjusted " + a.order}); err != nil {
			t.Fatal(err)
		}
	}
	notes[want[25]], notes[want[46]], notes[want[45]] = "disputed-", "disputed-", "" // want[45]'s dispute was won back

	// shown counts the views that listed each adjusted top-up, walking
	// Older and walking Newer.
	shown := map[string]int{}
	walk := "Older"
	view := func(name, path string) response {
		t.Helper()
		e.db.Reset()
		res := b.get(path)
		if res.status != http.StatusOK && res.status != http.StatusSeeOther {
			t.Fatalf("GET %s: status %d\n%s", path, res.status, res.text())
		}
		e.checkRoundTrips(t, name)
		ids := historyIDs(t, res.body)
		for id, note := range notes {
			if !slices.Contains(ids, id) {
				continue
			}
			shown[walk+" "+id]++
			switch {
			case note != "" && !strings.Contains(res.body, `id="`+note+id+`"`):
				t.Errorf("GET %s lists %s without its %s note", path, id, strings.TrimSuffix(note, "-"))
			case note == "" && strings.Contains(res.body, `id="disputed-`+id+`"`):
				t.Errorf("GET %s shows %s as disputed, though the dispute was won back", path, id)
			}
		}
		return res
	}

	b.get("/billing/invoices") // warm-up: the session's record is read at most once a minute
	var pages int
	var last string
	for path := "/billing/invoices"; path != ""; {
		if pages++; pages > 5 {
			t.Fatal("Older never reaches the oldest page")
		}
		last = path
		path = pageLink(view(fmt.Sprintf("Invoices page %d", pages), path).body, olderPageLink)
	}
	if pages != 4 {
		t.Errorf("Older walked %d pages, want 4", pages)
	}
	walk = "Newer"
	for path, n := pageLink(b.get(last).body, newerPageLink), 1; path != ""; n++ {
		if n > 5 {
			t.Fatal("Newer never reaches the newest page")
		}
		name := fmt.Sprintf("Invoices, Newer %d from page %d", n, pages)
		res := view(name, path)
		if res.status == http.StatusSeeOther {
			res = view(name+", the newest page it redirects to", res.header.Get("Location"))
		}
		path = pageLink(res.body, newerPageLink)
	}
	for _, seen := range []string{"Older " + want[0], "Older pi_pager062", "Older " + want[25], "Older " + want[45], "Older " + want[46],
		"Newer " + want[0], "Newer " + want[25], "Newer " + want[45], "Newer " + want[46]} {
		if shown[seen] == 0 {
			t.Errorf("walking %s lists no page with it", seen)
		}
	}
}
