package invoicing_test

import (
	"slices"
	"testing"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// TestCloseUsed is the scheduled close's step: the due index lists some
// organisations with nothing to invoice (usage written in the last minutes
// of the month before, which that month's close already cut), and those
// get no $0 invoice; what a close carries (below the minimum charge) is
// listed for the next month's close, or it would wait for new usage.
func TestCloseUsed(t *testing.T) {
	t.Run("an organisation with nothing in Usage This Period gets no invoice", func(t *testing.T) {
		e := newEnv(t)
		e.org("idle", money.Dollars(10))
		inv, closed, err := e.svc.CloseUsed(t.Context(), "idle", november)
		if err != nil || closed || inv.ID != "" {
			t.Fatalf("CloseUsed: %+v, closed %v, %v; want nothing closed", inv, closed, err)
		}
		if invs := e.invoices("idle"); len(invs) != 0 {
			t.Errorf("invoices %+v, want none", invs)
		}
	})

	t.Run("an organisation with usage is closed as by Close", func(t *testing.T) {
		e := newEnv(t)
		e.org("busy", money.Dollars(10))
		e.usage("busy", money.MustParse("3.25"))
		inv, closed, err := e.svc.CloseUsed(t.Context(), "busy", november)
		if err != nil || !closed || inv.Usage != money.MustParse("3.25") {
			t.Fatalf("CloseUsed: %+v, closed %v, %v; want November's 3.25 invoiced", inv, closed, err)
		}
	})

	t.Run("a carried remainder is listed for the next month's close", func(t *testing.T) {
		e := newEnv(t)
		e.org("small", 0)
		e.setNow(november.AddDate(0, 0, 2))       // written in November: listed for November only
		e.usage("small", money.MustParse("0.30")) // below the minimum charge: carried
		e.setNow(closeAt)
		inv, closed, err := e.svc.CloseUsed(t.Context(), "small", november)
		if err != nil || !closed || inv.Carried != money.MustParse("0.30") {
			t.Fatalf("CloseUsed: %+v, closed %v, %v; want 0.30 carried", inv, closed, err)
		}
		var due []string
		if err := e.store.DueOrgs(t.Context(), store.DueUsageIn(closeAt), func(ids []string) error {
			due = append(due, ids...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(due, "small") {
			t.Errorf("due for the close of December: %v, want small (0.30 carried)", due)
		}
	})
}
