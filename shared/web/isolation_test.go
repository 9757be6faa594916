package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/web"
)

// TestEveryRouteTakesTheOrganisationFromTheSession proves invariant 7 over
// the whole surface: every route a member's session reaches is called by
// acme's admin with another organisation named everywhere a careless
// handler might look (org and org_id in the query and in the form) and
// with that organisation's own ids in the path and the form. Nothing of
// globex shows, and none of globex's money or settings changes.
func TestEveryRouteTakesTheOrganisationFromTheSession(t *testing.T) {
	e := newEnv(t, lateInMonth)
	e.seed()
	ctx := t.Context()

	// globex: a card, a top-up, an invoice, a tax registration, an
	// address, a billing email, things only globex has.
	victim := e.signIn("globex", "you@globex.test", "admin")
	victim.addCard(t, "Globex Payer", "5555 5555 5555 4444", "12", expYear)
	card := victim.cards(t)[0].id
	token, _ := victim.creditsForm(t)
	victim.redirected(t, victim.payCredits(t, url.Values{"token": {token}, "amount": {"20"}, "method": {card}}), "/billing/credits", false)
	victim.redirected(t, victim.post(t, "/billing/address", url.Values{"company_name": {"Globex Corporation"}, "address1": {"1 Globex Way"},
		"city": {"Cypress Creek"}, "postal_code": {"90210"}, "country": {"US"}}), "/billing/address", false)
	victim.redirected(t, victim.post(t, "/billing/notifications", url.Values{"email": {"ap@globex.test"}}), "/billing/notifications", false)
	tax := victim.addTaxID(t, "DE", "eu_vat", "DE260543043")
	if err := e.store.AddUsage(ctx, "globex", lateInMonth, money.MustParse("40")); err != nil {
		t.Fatal(err)
	}
	victim.closeCycle(t)
	inv := e.onlyInvoice(t, "globex")
	orders, err := e.store.Orders(ctx, "globex")
	if err != nil || len(orders) == 0 {
		t.Fatalf("globex orders %v, %v", orders, err)
	}
	ids := []string{inv.ID, orders[0].ID, card, tax.id}

	// What globex has, read from the store.
	state := func() string {
		t.Helper()
		acct, err1 := e.store.Account(ctx, "globex", lateInMonth)
		profile, err2 := e.store.Profile(ctx, "globex")
		invoices, err3 := e.store.Invoices(ctx, "globex")
		orders, err4 := e.store.Orders(ctx, "globex")
		hook, err5 := e.store.Webhook(ctx, "globex")
		changes, err6 := e.store.RecentChanges(ctx, "globex", 100)
		for _, err := range []error{err1, err2, err3, err4, err5, err6} {
			if err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf("%+v\n%+v\n%+v\n%+v\n%+v\n%+v\n%+v\n%+v", acct, profile, invoices, orders, hook, changes, e.balance(t, "globex"), victim.taxIDs(t))
	}
	before := state()
	// Text only globex's pages hold.
	secrets := []string{"Globex Corporation", "1 Globex Way", "Globex Payer", "ap@globex.test", "DE260543043", "5555 5555 5555 4444"}

	attacker := e.signIn("acme", "eve@acme.test", "admin")
	var routes int
	for _, r := range web.Routes(web.Deps{}) {
		if r.Access != web.AccessSession {
			continue
		}
		routes++
		paths := []string{r.Path}
		if strings.Contains(r.Path, "{id}") {
			paths = nil
			for _, id := range ids {
				paths = append(paths, strings.ReplaceAll(r.Path, "{id}", url.PathEscape(id)))
			}
		}
		for _, p := range paths {
			target := p + "?" + url.Values{"org": {"globex"}, "org_id": {"globex"}, "card": {card}, "payment_intent": {orders[0].ID}}.Encode()
			t.Run(r.Method+" "+target, func(t *testing.T) {
				var res response
				if r.Method == http.MethodGet {
					res = attacker.get(target)
				} else {
					token, _ := attacker.creditsForm(t)
					res = attacker.post(t, target, url.Values{
						"org": {"globex"}, "org_id": {"globex"}, "token": {token}, "card": {card}, "method": {card}, "payment": {orders[0].ID},
						"amount": {"10"}, "threshold": {"10"}, "enabled": {"on"}, "email": {"eve@acme.test"}, "company_name": {"Eve"},
						"address1": {"1 Eve St"}, "city": {"Eveton"}, "postal_code": {"12345"}, "country": {"US"},
						"daily_budget": {"1"}, "webhook_url": {""}, "country_code": {"DE"}, "type": {"eu_vat"}, "value": {"DE987654321"},
					})
				}
				if res.status >= 500 {
					t.Errorf("status %d:\n%s", res.status, res.text())
				}
				for _, s := range secrets {
					if strings.Contains(res.body, s) || strings.Contains(res.header.Get("Location"), s) {
						t.Errorf("acme's admin sees globex's %q (status %d)", s, res.status)
					}
				}
			})
		}
	}
	if routes < 20 {
		t.Fatalf("only %d session routes: the route list is not what this test expects", routes)
	}
	if after := state(); after != before {
		t.Errorf("globex changed:\nbefore %s\nafter  %s", before, after)
	}
	if page := attacker.get("/billing/payment-methods"); strings.Contains(page.body, card) {
		t.Error("acme's payment methods list globex's card")
	}
}
