package notify_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	awsevents "github.com/aws/aws-lambda-go/events"
)

func TestHandleOncePerDay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(t *testing.T, e *env, ev awsevents.EventBridgeEvent)
	}{
		{"the same event handled twice sends one email and one webhook", func(t *testing.T, e *env, ev awsevents.EventBridgeEvent) {
			for range 2 {
				if err := e.notifier.Handle(t.Context(), ev); err != nil {
					t.Fatalf("handle: %v", err)
				}
			}
		}},
		{"the same event handled by ten invocations at once sends one email and one webhook", func(t *testing.T, e *env, ev awsevents.EventBridgeEvent) {
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					if err := e.notifier.Handle(t.Context(), ev); err != nil {
						t.Errorf("handle: %v", err)
					}
				})
			}
			wg.Wait()
		}},
		{"a second publication of the crossing, later and with other figures, sends nothing more", func(t *testing.T, e *env, ev awsevents.EventBridgeEvent) {
			if err := e.notifier.Handle(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			d := budgetReached("acme", start.Add(2*time.Minute))
			d.UsedToday = money.MustParse("1.50")
			e.clock.Advance(2 * time.Minute)
			if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
				t.Fatal(err)
			}
		}},
		{"retries running beside the handlers send nothing more", func(t *testing.T, e *env, ev awsevents.EventBridgeEvent) {
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if err := e.notifier.Handle(t.Context(), ev); err != nil {
						t.Errorf("handle: %v", err)
					}
				})
				wg.Go(func() {
					if err := e.notifier.RetryDue(t.Context()); err != nil {
						t.Errorf("retry: %v", err)
					}
				})
			}
			wg.Wait()
			e.clock.Advance(time.Hour)
			e.retry()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rcv := newReceiver(t, e.clock)
			e.setWebhook("acme", rcv.srv.URL)
			tc.handle(t, e, event(t, budgetReached("acme", start)))
			if n := len(e.emails()); n != 1 {
				t.Errorf("%d emails, want 1", n)
			}
			if n := len(rcv.requests()); n != 1 {
				t.Errorf("%d webhooks, want 1", n)
			}
			if ds := e.deliveries("acme"); len(ds) != 2 {
				t.Errorf("%d deliveries recorded, want 2 (email and webhook): %+v", len(ds), ds)
			}
		})
	}

	t.Run("the same crossing the next UTC day is notified again", func(t *testing.T) {
		e := newEnv(t)
		for _, at := range []time.Time{start, start.Add(24 * time.Hour)} {
			e.clock.Set(at)
			if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", at))); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(e.emails()); n != 2 {
			t.Errorf("%d emails over two days, want 2", n)
		}
	})
}

func TestHandle(t *testing.T) {
	t.Run("the event as EventBridge delivers it emails the billing email", func(t *testing.T) {
		e := newEnv(t)
		raw, err := os.ReadFile("testdata/spend-budget-reached.json")
		if err != nil {
			t.Fatal(err)
		}
		var ev awsevents.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if err := e.notifier.Handle(t.Context(), ev); err != nil {
			t.Fatalf("handle: %v", err)
		}
		sent := e.emails()
		if len(sent) != 1 {
			t.Fatalf("%d emails, want 1", len(sent))
		}
		m := sent[0]
		if m.To != "billing@acme.test" || m.Subject != "Daily budget reached: new calls are blocked until 00:00 UTC" || !m.Sent.Equal(start) {
			t.Errorf("email to %q, subject %q, sent %v", m.To, m.Subject, m.Sent)
		}
		for _, want := range []string{"$1.01", "daily budget of $1.00", "until 00:00 UTC (Saturday, 28 November 2026)", "Organisation: acme"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("the email does not say %q:\n%s", want, m.Text)
			}
		}
		if ds := e.deliveries("acme"); len(ds) != 1 || ds[0].Channel != notify.ChannelEmail || ds[0].Status != notify.StatusDelivered {
			t.Errorf("deliveries %+v, want one delivered email (no webhook URL is set)", ds)
		}
	})

	for _, tc := range []struct {
		name        string
		detail      events.Detail
		wantSubject string
		wantText    string
	}{
		{"the email threshold's email names the threshold", events.Detail{Type: notify.TypeSpendThreshold, Threshold: money.Dollars(15), UsedToday: money.MustParse("15.42")},
			"Your daily usage passed $15.00", "is $15.42, past your daily email notification threshold of $15.00"},
		{"the budget's email says new calls are blocked until midnight UTC", events.Detail{Type: notify.TypeSpendBudget, Threshold: money.Dollars(50), UsedToday: money.Dollars(50)},
			"Daily budget reached: new calls are blocked until 00:00 UTC", "New API calls and connections are rejected until 00:00 UTC"},
		{"a failed auto-recharge's email says the card was not charged", events.Detail{Type: notify.TypeRechargeFailed, Threshold: money.Dollars(5), Remaining: money.MustParse("4.20")},
			"Auto-recharge failed: your card was not charged", "Remaining Credits ($4.20) fell below your auto-recharge threshold of $5.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			d := tc.detail
			d.ID, d.OrgID, d.Day, d.OccurredAt = "acme:2026-11-27:x", "acme", "2026-11-27", start
			if err := e.notifier.Handle(t.Context(), event(t, d)); err != nil {
				t.Fatal(err)
			}
			sent := e.emails()
			if len(sent) != 1 || sent[0].Subject != tc.wantSubject || !strings.Contains(sent[0].Text, tc.wantText) {
				t.Errorf("emails %+v, want one with subject %q saying %q", sent, tc.wantSubject, tc.wantText)
			}
		})
	}

	t.Run("without a billing email the email is skipped with a log line and the webhook still goes", func(t *testing.T) {
		e := newEnv(t)
		e.createOrg("globex", "")
		rcv := newReceiver(t, e.clock)
		e.setWebhook("globex", rcv.srv.URL)
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("globex", start))); err != nil {
			t.Fatal(err)
		}
		if n := len(e.emails()); n != 0 {
			t.Errorf("%d emails, want none", n)
		}
		if !strings.Contains(e.logs.String(), "no billing email") {
			t.Errorf("no log line about the missing billing email:\n%s", e.logs.String())
		}
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("%d webhooks, want 1", n)
		}
	})

	t.Run("other detail types and unknown organisations send nothing and are not errors", func(t *testing.T) {
		e := newEnv(t)
		low := budgetReached("acme", start)
		low.Type, low.ID = events.TypeBalanceLow, "acme:2026-11-27:recharge_1"
		for _, ev := range []awsevents.EventBridgeEvent{event(t, low), event(t, budgetReached("initech", start))} {
			if err := e.notifier.Handle(t.Context(), ev); err != nil {
				t.Errorf("%s of %s: %v", ev.DetailType, ev.ID, err)
			}
		}
		if n := len(e.emails()); n != 0 {
			t.Errorf("%d emails, want none", n)
		}
	})

	t.Run("an event without an id is an error", func(t *testing.T) {
		e := newEnv(t)
		d := budgetReached("acme", start)
		d.ID = ""
		if err := e.notifier.Handle(t.Context(), event(t, d)); err == nil {
			t.Error("no error")
		}
	})
}

func TestDeliveries(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, e.clock)
	e.setWebhook("acme", rcv.srv.URL)
	// Five days of budget crossings, the last in the next month.
	for i := range 5 {
		at := time.Date(2026, 11, 28+i, 10, 0, 0, 0, time.UTC)
		e.clock.Set(at)
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", at))); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("the last n deliveries are listed newest first, across months", func(t *testing.T) {
		ds, err := e.notifier.Deliveries(t.Context(), "acme", 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 3 {
			t.Fatalf("%d deliveries, want 3", len(ds))
		}
		if ds[0].ID != "acme:2026-12-02:budget" || ds[2].ID != "acme:2026-12-01:budget" {
			t.Errorf("ids %s, %s, %s; want the two of 2026-12-02 then one of 2026-12-01", ds[0].ID, ds[1].ID, ds[2].ID)
		}
		for i := 1; i < len(ds); i++ {
			if ds[i].Created.After(ds[i-1].Created) {
				t.Errorf("delivery %d is newer than the one before it", i)
			}
		}
	})

	t.Run("each delivery has its status, status code and time", func(t *testing.T) {
		for _, d := range e.deliveries("acme") {
			if d.Status != notify.StatusDelivered || d.Updated.IsZero() || (d.Channel == notify.ChannelWebhook && d.StatusCode != 200) {
				t.Errorf("delivery %+v", d)
			}
		}
		if n := len(e.deliveries("acme")); n != 10 {
			t.Errorf("%d deliveries, want 10", n)
		}
	})

	t.Run("another organisation's deliveries are not listed", func(t *testing.T) {
		e.createOrg("globex", "billing@globex.test")
		if ds := e.deliveries("globex"); len(ds) != 0 {
			t.Errorf("globex has %d deliveries, want none", len(ds))
		}
	})
}

func TestSendTest(t *testing.T) {
	t.Run("a test event is posted signed now and recorded", func(t *testing.T) {
		e := newEnv(t)
		rcv := newReceiver(t, e.clock)
		secret := e.setWebhook("acme", rcv.srv.URL)
		d, err := e.notifier.SendTest(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != notify.StatusDelivered || d.StatusCode != 200 || d.Type != notify.TypeTest || d.Channel != notify.ChannelWebhook {
			t.Errorf("delivery %+v, want a delivered webhook.test", d)
		}
		reqs := rcv.requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests, want 1", len(reqs))
		}
		if err := verify(secret, reqs[0].header, reqs[0].body, e.clock.Now()); err != nil {
			t.Errorf("verify: %v", err)
		}
		if !strings.Contains(string(reqs[0].body), `"type":"webhook.test"`) {
			t.Errorf("body %s", reqs[0].body)
		}
		if ds := e.deliveries("acme"); len(ds) != 1 || ds[0].ID != d.ID {
			t.Errorf("deliveries %+v, want the test", ds)
		}
		if n := len(e.emails()); n != 0 {
			t.Errorf("a test sent %d emails", n)
		}
	})

	t.Run("a failing test is recorded as failed with its status code and not retried", func(t *testing.T) {
		e := newEnv(t)
		rcv := newReceiver(t, e.clock, http.StatusNotFound)
		e.setWebhook("acme", rcv.srv.URL)
		d, err := e.notifier.SendTest(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != notify.StatusFailed || d.StatusCode != 404 || d.Error != "The endpoint answered 404 Not Found." {
			t.Errorf("delivery %+v", d)
		}
		e.clock.Advance(time.Hour)
		e.retry()
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})

	t.Run("without a webhook URL the form says to set one", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.notifier.SendTest(t.Context(), "acme")
		if be, ok := err.(*billing.Error); !ok || be.Field != "webhook_url" {
			t.Errorf("error %v, want a field error on webhook_url", err)
		}
	})
}
