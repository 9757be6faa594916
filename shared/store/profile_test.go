package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

func TestSetAddress(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*store.Store, billing.Address) {
		t.Helper()
		s := storetest.New(t).Store(clock)
		old := billing.Address{CompanyName: "Acme Inc.", Address1: "1 Market Street", City: "San Francisco", PostalCode: "94105", Country: "US"}
		err := s.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: "acme", Name: "Acme"},
			Profile: billing.Profile{Address: old, BillingEmail: "billing@acme.test"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetCustomerID(ctx, "acme", "cus_123"); err != nil {
			t.Fatal(err)
		}
		return s, old
	}
	entry := func(cs billing.Changes) billing.AuditEntry {
		return billing.AuditEntry{Actor: "you@acme.test", Page: "Invoice Address", Changes: cs}
	}

	t.Run("sets only the address: the billing email and the payment customer stay", func(t *testing.T) {
		s, old := setup(t)
		new := billing.Address{CompanyName: "Acme GmbH", Address1: "Unter den Linden 1", City: "Berlin", PostalCode: "10117", Country: "DE", PONumber: "PO-1"}
		if err := s.SetAddress(ctx, "acme", old, new, entry(billing.AddressChanges(old, new))); err != nil {
			t.Fatal(err)
		}
		p, err := s.Profile(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		want := billing.Profile{Address: new, BillingEmail: "billing@acme.test", CustomerID: "cus_123"}
		if p != want {
			t.Errorf("profile %+v, want %+v", p, want)
		}
		if org, err := s.OrgByCustomer(ctx, "cus_123"); err != nil || org != "acme" {
			t.Errorf("OrgByCustomer = %q, %v; want acme", org, err)
		}
	})

	t.Run("records the change in the same write, who, when and what", func(t *testing.T) {
		s, old := setup(t)
		new := old
		new.City = "Oakland"
		if err := s.SetAddress(ctx, "acme", old, new, entry(billing.AddressChanges(old, new))); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecentChanges(ctx, "acme", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Actor != "you@acme.test" || got[0].Page != "Invoice Address" || !got[0].Time.Equal(now) ||
			got[0].Summary() != `City: "San Francisco" → "Oakland"` || got[0].ID == "" {
			t.Errorf("audit %+v", got)
		}
	})

	t.Run("a save computed from a stale address writes nothing and is a conflict", func(t *testing.T) {
		s, old := setup(t)
		mid := old
		mid.City = "Oakland"
		if err := s.SetAddress(ctx, "acme", old, mid, entry(billing.AddressChanges(old, mid))); err != nil {
			t.Fatal(err)
		}
		late := old
		late.City = "Berkeley"
		err := s.SetAddress(ctx, "acme", old, late, entry(billing.AddressChanges(old, late)))
		if billing.ErrorCode(err) != billing.ECONFLICT {
			t.Fatalf("error %v, want ECONFLICT", err)
		}
		if p, _ := s.Profile(ctx, "acme"); p.Address != mid {
			t.Errorf("address %+v, want %+v", p.Address, mid)
		}
		if got, _ := s.RecentChanges(ctx, "acme", 5); len(got) != 1 {
			t.Errorf("%d audit entries, want 1 (the conflict recorded nothing)", len(got))
		}
	})

	t.Run("an unknown organisation is not found", func(t *testing.T) {
		s, old := setup(t)
		err := s.SetAddress(ctx, "nobody", old, old, entry(nil))
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("error %v, want ENOTFOUND", err)
		}
	})

	t.Run("the billing email is set alone, with its audit entry", func(t *testing.T) {
		s, old := setup(t)
		var cs billing.Changes
		cs.Field("Billing email", "billing@acme.test", "ap@acme.test")
		if err := s.SetBillingEmail(ctx, "acme", "billing@acme.test", "ap@acme.test", billing.AuditEntry{Actor: "you@acme.test", Page: "Invoice Notifications", Changes: cs}); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Profile(ctx, "acme")
		if want := (billing.Profile{Address: old, BillingEmail: "ap@acme.test", CustomerID: "cus_123"}); p != want {
			t.Errorf("profile %+v, want %+v", p, want)
		}
		err := s.SetBillingEmail(ctx, "acme", "billing@acme.test", "x@acme.test", billing.AuditEntry{})
		if billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("a stale save: error %v, want ECONFLICT", err)
		}
	})
}

func TestRecentChanges(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	s := db.Store(clock)
	for _, org := range []string{"acme", "other"} {
		newOrg(t, s, org, 0)
	}
	for i := range 7 {
		e := billing.AuditEntry{Time: now.Add(time.Duration(i) * time.Minute), Actor: "you@acme.test", Page: "Spend Management",
			Changes: billing.Changes{{What: fmt.Sprintf("change %d", i)}}}
		if err := s.AddAudit(ctx, "acme", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddAudit(ctx, "acme", billing.AuditEntry{Actor: "you@acme.test", Page: "Spend Management"}); err != nil {
		t.Fatal(err)
	}

	t.Run("lists the last n, newest first, in one request", func(t *testing.T) {
		db.Reset()
		got, err := s.RecentChanges(ctx, "acme", 5)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(db.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if len(got) != 5 {
			t.Fatalf("%d entries, want 5", len(got))
		}
		for i, e := range got {
			if want := fmt.Sprintf("change %d", 6-i); e.Summary() != want {
				t.Errorf("entry %d is %q, want %q", i, e.Summary(), want)
			}
		}
	})
	t.Run("an entry without changes is not recorded", func(t *testing.T) {
		got, _ := s.RecentChanges(ctx, "acme", 10)
		if len(got) != 7 {
			t.Errorf("%d entries, want 7", len(got))
		}
	})
	t.Run("another organisation's trail is its own", func(t *testing.T) {
		got, err := s.RecentChanges(ctx, "other", 5)
		if err != nil || len(got) != 0 {
			t.Errorf("other's changes %v, %v; want none", got, err)
		}
	})
}
