package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
)

// dueOrgs returns the organisations DueOrgs lists for d, sorted.
func dueOrgs(t *testing.T, s *store.Store, d store.Due) []string {
	t.Helper()
	var ids []string
	if err := s.DueOrgs(t.Context(), d, func(page []string) error {
		ids = append(ids, page...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func TestDueOrgs(t *testing.T) {
	db := storetest.New(t)
	s := db.Store(clock)
	today := now.UTC()
	yesterday := today.AddDate(0, 0, -1)
	var orgs []string
	for i := range 12 {
		id := fmt.Sprintf("org%02d", i)
		orgs = append(orgs, id)
		newOrg(t, s, id, money.Dollars(10))
	}
	// Even organisations used something yesterday, those divisible by
	// three today; org00 and org06 on both days.
	var wantYesterday, wantToday []string
	for i, id := range orgs {
		if i%2 == 0 {
			wantYesterday = append(wantYesterday, id)
			if err := s.AddUsage(t.Context(), id, yesterday, money.MustParse("0.01")); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, id := range orgs {
		if i%3 == 0 {
			wantToday = append(wantToday, id)
			ev := billing.UsageEvent{ID: "e-" + id, OrgID: id, Amount: money.MustParse("0.02"), Time: today}
			if _, err := s.RecordUsage(t.Context(), id, today, []billing.UsageEvent{ev}); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("the organisations with usage on a day are listed for that day, whatever they used the next", func(t *testing.T) {
		if got := dueOrgs(t, s, store.DueUsageOn(yesterday)); !slices.Equal(got, wantYesterday) {
			t.Errorf("due yesterday %v, want %v", got, wantYesterday)
		}
		if got := dueOrgs(t, s, store.DueUsageOn(today)); !slices.Equal(got, wantToday) {
			t.Errorf("due today %v, want %v", got, wantToday)
		}
		if got := dueOrgs(t, s, store.DueUsageOn(today.AddDate(0, 0, -2))); len(got) != 0 {
			t.Errorf("due the day before yesterday %v, want none", got)
		}
	})

	t.Run("the organisations with usage in a month are listed for that month", func(t *testing.T) {
		var want []string
		for i, id := range orgs {
			if i%2 == 0 || i%3 == 0 {
				want = append(want, id)
			}
		}
		if got := dueOrgs(t, s, store.DueUsageIn(today)); !slices.Equal(got, want) {
			t.Errorf("due this month %v, want %v", got, want)
		}
	})

	t.Run("usage of a month written in the next is listed for both months' closes", func(t *testing.T) {
		// Written at 00:00:30 on the 1st, usage of the last second of
		// the month before: that month's close cuts it if it has not run
		// yet, the next month's if it has.
		first := time.Date(2031, 3, 1, 0, 0, 30, 0, time.UTC)
		db := storetest.New(t)
		s := db.Store(func() time.Time { return first })
		newOrg(t, s, "late", money.Dollars(10))
		if err := s.AddUsage(t.Context(), "late", first.Add(-31*time.Second), money.MustParse("0.01")); err != nil {
			t.Fatal(err)
		}
		for _, month := range []time.Time{first.AddDate(0, -1, 0), first} {
			if got := dueOrgs(t, s, store.DueUsageIn(month)); !slices.Equal(got, []string{"late"}) {
				t.Errorf("due in %s: %v, want [late]", month.Format("2006-01"), got)
			}
		}
	})

	t.Run("the recharge list holds the organisations added until they are dropped", func(t *testing.T) {
		for _, id := range []string{"org01", "org02", "org03", "org02"} {
			if err := s.AddRechargeDue(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DropRechargeDue(t.Context(), "org03"); err != nil {
			t.Fatal(err)
		}
		if got, want := dueOrgs(t, s, store.DueRecharge()), []string{"org01", "org02"}; !slices.Equal(got, want) {
			t.Errorf("recharge due %v, want %v", got, want)
		}
	})
}
