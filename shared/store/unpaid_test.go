package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// TestUnpaidInvoices: the ACCOUNT item carries the oldest unpaid invoice's
// due date and what the unpaid invoices owe, so one read answers whether
// an organisation is past due; concurrent payments and closes leave it
// exact.
func TestUnpaidInvoices(t *testing.T) {
	m := money.MustParse
	s := storetest.New(t).Store(clock)
	newOrg(t, s, "acme", 0)
	ctx := t.Context()
	due := func(i int) time.Time { return time.Date(2026, 9+time.Month(i), 15, 0, 0, 0, 0, time.UTC) }
	var ids []string
	for i := range 4 {
		if err := s.AddUsage(ctx, "acme", now, m("7")); err != nil {
			t.Fatal(err)
		}
		inv, _, err := s.CloseCycle(ctx, store.Invoice{OrgID: "acme", Period: time.Date(2026, 8+time.Month(i), 1, 0, 0, 0, 0, time.UTC),
			Usage: m("7"), Due: m("7"), Status: store.InvoiceOpen, DueDate: due(i)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	unpaid := func(t *testing.T) (time.Time, money.Money) {
		t.Helper()
		a, err := s.Account(ctx, "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		return a.OldestDue, a.UnpaidDue
	}
	if oldest, total := unpaid(t); !oldest.Equal(due(0)) || total != m("28") {
		t.Fatalf("after four closes: oldest due %v, unpaid %v; want %v and $28", oldest, total, due(0))
	}

	t.Run("paying the oldest moves the oldest due date to the next", func(t *testing.T) {
		if changed, err := s.ChangeInvoice(ctx, "acme", ids[0], store.InvoiceChange{Status: store.InvoicePaid, PaidAt: now}); err != nil || !changed {
			t.Fatalf("pay: %v, %v", changed, err)
		}
		if oldest, total := unpaid(t); !oldest.Equal(due(1)) || total != m("21") {
			t.Errorf("oldest due %v, unpaid %v; want %v and $21", oldest, total, due(1))
		}
	})

	t.Run("the rest paid at once, each twice, leave nothing unpaid", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, id := range append(ids[1:], ids[1:]...) {
			wg.Go(func() {
				if _, err := s.ChangeInvoice(ctx, "acme", id, store.InvoiceChange{Status: store.InvoicePaid, PaidAt: now}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if oldest, total := unpaid(t); !oldest.IsZero() || total != 0 {
			t.Errorf("oldest due %v, unpaid %v; want none", oldest, total)
		}
	})
}
