package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/acme/billing/infra/demo"
	"github.com/acme/billing/shared/money"
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
// proxy of issue 14 did.
func TestEveryPageViewIsBounded(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
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
				var reqs []string
				var ops []string
				for _, r := range e.db.Requests() {
					op := r.Op
					if sandboxItems.Match(r.Body) {
						op += " (sandbox)"
					} else {
						reqs = append(reqs, op)
					}
					ops = append(ops, op)
				}
				t.Logf("GET %s: %d DynamoDB round trips %v", path, len(reqs), ops)
				if len(reqs) > maxPageRoundTrips {
					t.Errorf("GET %s made %d DynamoDB round trips %v, want at most %d", path, len(reqs), ops, maxPageRoundTrips)
				}
			})
		}
	}
	if pages < 10 {
		t.Fatalf("only %d pages viewed", pages)
	}
}
