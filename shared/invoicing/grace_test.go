package invoicing_test

import (
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// An invoice keeps the grace period it was issued with: a shorter one
// configured later (PAST_DUE_GRACE_DAYS) applies to the invoices issued
// after it, and the organisation is past due from the earliest time any
// unpaid invoice's grace ends.
func TestPastDueGraceIsATermOfTheInvoice(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.org("acme", money.Dollars(0))
	if err := e.store.AddUsage(ctx, "acme", november.AddDate(0, 0, 3), money.Dollars(30)); err != nil {
		t.Fatal(err)
	}
	first, err := e.svc.Close(ctx, "acme", november)
	if err != nil {
		t.Fatal(err)
	}
	if want := first.DueDate.Add(billing.DefaultPastDueGrace); !first.PastDueAt.Equal(want) {
		t.Fatalf("the first invoice is past due at %v, want its due date + the default 7 days (%v)", first.PastDueAt, want)
	}

	// December's usage, invoiced with a 2-day grace configured meanwhile.
	december := november.AddDate(0, 1, 0)
	e.setNow(december.AddDate(0, 1, 0))
	if err := e.store.AddUsage(ctx, "acme", december.AddDate(0, 0, 3), money.Dollars(5)); err != nil {
		t.Fatal(err)
	}
	second, err := e.svc.WithPastDueGrace(2*24*time.Hour).Close(ctx, "acme", december)
	if err != nil {
		t.Fatal(err)
	}
	if want := second.DueDate.Add(2 * 24 * time.Hour); !second.PastDueAt.Equal(want) {
		t.Fatalf("the second invoice is past due at %v, want its due date + 2 days (%v)", second.PastDueAt, want)
	}
	again, err := e.store.Invoice(ctx, "acme", first.ID)
	if err != nil || !again.PastDueAt.Equal(first.PastDueAt) {
		t.Fatalf("the first invoice now says past due at %v (%v), want it unchanged at %v", again.PastDueAt, err, first.PastDueAt)
	}

	acct, err := e.store.Account(ctx, "acme", e.clock())
	if err != nil {
		t.Fatal(err)
	}
	earliest := min(first.PastDueAt.Unix(), second.PastDueAt.Unix())
	if acct.PastDueFrom.Unix() != earliest || !acct.OldestDue.Equal(first.DueDate) {
		t.Errorf("the account is past due from %v (oldest due %v), want the earlier of the two invoices' times (%v), oldest due %v",
			acct.PastDueFrom, acct.OldestDue, time.Unix(earliest, 0).UTC(), first.DueDate)
	}
	if acct.UnpaidDue != first.Due+second.Due {
		t.Errorf("unpaid %v, want %v + %v", acct.UnpaidDue, first.Due, second.Due)
	}
}
