package notify_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/web"
)

func TestRetryJob(t *testing.T) {
	e := newEnv(t)
	var job jobs.Job
	for _, j := range jobs.List(web.Deps{Notify: e.notifier}) {
		if j.Function == "notifier" {
			job = j
		}
	}
	if job.Run == nil {
		t.Fatal("no notifier job")
	}

	t.Run("a rule sends it every notification event", func(t *testing.T) {
		if !slices.Equal(job.DetailTypes, notify.Types) {
			t.Errorf("detail types %v, want %v", job.DetailTypes, notify.Types)
		}
	})

	t.Run("it runs every 5 minutes, on the 5-minute boundaries", func(t *testing.T) {
		if job.Schedule != "rate(5 minutes)" {
			t.Errorf("schedule %q", job.Schedule)
		}
		for from, want := range map[time.Time]time.Time{
			time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC):  time.Date(2026, 11, 27, 15, 5, 0, 0, time.UTC),
			time.Date(2026, 11, 27, 15, 5, 0, 0, time.UTC):  time.Date(2026, 11, 27, 15, 10, 0, 0, time.UTC),
			time.Date(2026, 11, 27, 23, 59, 0, 0, time.UTC): time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		} {
			if got := job.Next(from); !got.Equal(want) {
				t.Errorf("Next(%v) = %v, want %v", from, got, want)
			}
		}
	})

	t.Run("its scheduled event retries the deliveries that are due", func(t *testing.T) {
		rcv := newReceiver(t, e.clock, http.StatusBadGateway, http.StatusOK)
		e.setWebhook("acme", rcv.srv.URL)
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatal(err)
		}
		at := job.Next(e.clock.Now().Add(time.Minute))
		e.clock.Set(at)
		if err := job.Run(t.Context(), jobs.ScheduledEvent(at)); err != nil {
			t.Fatal(err)
		}
		if d := e.delivery("acme", notify.ChannelWebhook); d.Status != notify.StatusDelivered || d.Attempts != 2 {
			t.Errorf("delivery %+v, want delivered on the 2nd attempt", d)
		}
	})
}
