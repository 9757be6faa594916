package jobs_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/web"
)

func TestInvoicingJob(t *testing.T) {
	closeJob := job(t, jobs.List(web.Deps{}), "invoicing")

	t.Run("the cycle close is scheduled at 00:00 UTC on the 1st of each month", func(t *testing.T) {
		if closeJob.Schedule != "cron(0 0 1 * ? *)" {
			t.Errorf("schedule %q, want cron(0 0 1 * ? *)", closeJob.Schedule)
		}
		for from, want := range map[time.Time]time.Time{
			time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC):                   time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC):                     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 31, 23, 59, 59, 999, time.UTC):               time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC):                    time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)): time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		} {
			if got := closeJob.Next(from); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("Next(%v) = %v, want %v in UTC", from, got, want)
			}
		}
	})

	t.Run("its scheduled event closes every organisation's period that just ended", func(t *testing.T) {
		at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { return at }
		log := slog.New(slog.DiscardHandler)
		st := storetest.New(t).Store(clock)
		pay := payments.NewService(st, sandbox.New(st, clock, "/checkout/"), clock, log)
		deps := web.Deps{Store: st, Now: clock, Log: log, Payments: pay, Invoicing: invoicing.New(st, pay, clock, log)}
		for org, trial := range map[string]money.Money{"acme": money.Dollars(100), "globex": 0} {
			if err := st.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: org, Name: org}, TrialCredits: trial}); err != nil {
				t.Fatal(err)
			}
			if err := st.AddUsage(t.Context(), org, at.Add(-time.Hour), money.MustParse("12.345678")); err != nil {
				t.Fatal(err)
			}
		}
		if err := job(t, jobs.List(deps), "invoicing").Run(t.Context(), jobs.ScheduledEvent(at)); err != nil {
			t.Fatalf("run: %v", err)
		}
		november := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for org, want := range map[string]store.Invoice{
			"acme":   {Usage: money.MustParse("12.345678"), Applied: money.MustParse("12.345678"), Status: store.InvoicePaid},
			"globex": {Usage: money.MustParse("12.34"), Due: money.MustParse("12.34"), Carried: money.MustParse("0.005678"), Status: store.InvoiceOpen},
		} {
			inv, err := st.InvoiceOfPeriod(t.Context(), org, november)
			if err != nil {
				t.Fatalf("%s: %v", org, err)
			}
			if inv.Usage != want.Usage || inv.Applied != want.Applied || inv.Due != want.Due || inv.Carried != want.Carried || inv.Status != want.Status {
				t.Errorf("%s: invoice %+v, want %+v", org, inv, want)
			}
		}
		// A repeated delivery of the event changes nothing.
		if err := job(t, jobs.List(deps), "invoicing").Run(t.Context(), jobs.ScheduledEvent(at)); err != nil {
			t.Fatal(err)
		}
		invs, err := st.Invoices(t.Context(), "globex")
		if err != nil || len(invs) != 1 {
			t.Errorf("globex has %d invoices (%v) after a repeated run, want 1", len(invs), err)
		}
	})
}
