package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// TestDefaultCard: the summary of the default card is written on the
// PROFILE item, leaves its other attributes as they are, and comes back
// with the Overview's one read; an organisation whose summary was never
// written knows nothing of its card.
func TestDefaultCard(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	s := storetest.New(t).Store(func() time.Time { return now })
	addr := billing.Address{CompanyName: "Acme Inc.", Address1: "1 Market Street", City: "San Francisco", PostalCode: "94105", Country: "US"}
	if err := s.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: "acme", Name: "Acme"},
		Profile: billing.Profile{Address: addr, BillingEmail: "billing@acme.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCustomerID(ctx, "acme", "cus_123"); err != nil {
		t.Fatal(err)
	}
	read := func(t *testing.T) store.DefaultCard {
		t.Helper()
		o, err := s.ReadOverview(ctx, "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		if o.Profile.Address != addr || o.Profile.BillingEmail != "billing@acme.test" || o.Profile.CustomerID != "cus_123" {
			t.Errorf("profile = %+v, want it unchanged", o.Profile)
		}
		return o.DefaultCard
	}

	if c := read(t); c.Known || c.None() || c.Expired(now) {
		t.Errorf("before any summary: %+v (none %v), want nothing known", c, c.None())
	}

	visa := store.DefaultCard{Label: "Visa •••• 4242", Last4: "4242", ExpMonth: 12, ExpYear: now.Year() + 3}
	if err := s.SetDefaultCard(ctx, "acme", visa); err != nil {
		t.Fatal(err)
	}
	visa.Known = true
	if c := read(t); c != visa || c.None() || c.Expired(now) {
		t.Errorf("after setting a card: %+v, want %+v, usable", c, visa)
	}

	if err := s.SetDefaultCard(ctx, "acme", store.DefaultCard{}); err != nil {
		t.Fatal(err)
	}
	if c := read(t); !c.None() || c.Expired(now) {
		t.Errorf("after clearing: %+v, want known none", c)
	}

	wantNotFound := billing.ErrorCode(s.SetDefaultCard(ctx, "nobody", visa))
	if wantNotFound != billing.ENOTFOUND {
		t.Errorf("an unknown organisation: %q, want ENOTFOUND", wantNotFound)
	}
}

// TestDefaultCardExpired: a card works through the last day of its expiry
// month, and has expired from the first day of the next.
func TestDefaultCardExpired(t *testing.T) {
	now := time.Now().UTC()
	y, m, _ := now.Date()
	thisMonth := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	last := thisMonth.AddDate(0, -1, 0)
	card := func(on time.Time) store.DefaultCard {
		return store.DefaultCard{Known: true, Label: "Visa •••• 4242", Last4: "4242", ExpMonth: int(on.Month()), ExpYear: on.Year()}
	}
	for _, c := range []struct {
		name    string
		card    store.DefaultCard
		expired bool
	}{
		{"expiring this month", card(thisMonth), false},
		{"expired last month", card(last), true},
		{"expired a year ago, later in the year", card(thisMonth.AddDate(-1, 1, 0)), true},
		{"expiring next year, earlier in the year", card(thisMonth.AddDate(1, -1, 0)), false},
		{"not known", store.DefaultCard{Label: "Visa •••• 4242", ExpMonth: 1, ExpYear: 2000}, false},
		{"none", store.DefaultCard{Known: true}, false},
	} {
		if got := c.card.Expired(now); got != c.expired {
			t.Errorf("%s (%02d/%d): expired %v, want %v", c.name, c.card.ExpMonth, c.card.ExpYear, got, c.expired)
		}
	}
}
