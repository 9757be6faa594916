package notify_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/notify"
	"github.com/truora/minidyn/server"
)

func TestRetry(t *testing.T) {
	t.Run("a webhook answered 500 is retried a minute later and then delivered", func(t *testing.T) {
		e := newEnv(t)
		rcv := newReceiver(t, e.clock, http.StatusInternalServerError, http.StatusOK)
		secret := e.setWebhook("acme", rcv.srv.URL)
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatalf("handle: %v", err)
		}
		d := e.delivery("acme", notify.ChannelWebhook)
		if d.Status != notify.StatusPending || d.Attempts != 1 || d.StatusCode != 500 || !strings.Contains(d.Error, "500") ||
			!d.NextAttempt.Equal(start.Add(time.Minute)) {
			t.Fatalf("after a 500: %+v, want pending after 1 attempt with 500, next at %v", d, start.Add(time.Minute))
		}

		e.clock.Advance(59 * time.Second)
		e.retry()
		if n := len(rcv.requests()); n != 1 {
			t.Fatalf("%d requests before the retry is due, want 1", n)
		}

		e.clock.Advance(time.Second)
		e.retry()
		reqs := rcv.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests after the retry, want 2", len(reqs))
		}
		d = e.delivery("acme", notify.ChannelWebhook)
		if d.Status != notify.StatusDelivered || d.Attempts != 2 || d.StatusCode != 200 || d.Error != "" || !d.Updated.Equal(start.Add(time.Minute)) {
			t.Errorf("after the retry: %+v, want delivered after 2 attempts with 200", d)
		}
		if reqs[0].header.Get("webhook-id") != reqs[1].header.Get("webhook-id") || !bytes.Equal(reqs[0].body, reqs[1].body) {
			t.Error("the retry has another webhook-id or body than the first attempt")
		}
		if err := verify(secret, reqs[1].header, reqs[1].body, reqs[1].at); err != nil {
			t.Errorf("the retry's signature: %v", err)
		}
		if ts := reqs[1].header.Get("webhook-timestamp"); ts == reqs[0].header.Get("webhook-timestamp") {
			t.Error("the retry carries the first attempt's timestamp, not its own")
		}

		e.clock.Advance(time.Hour)
		e.retry()
		if n := len(rcv.requests()); n != 2 {
			t.Errorf("%d requests after delivery, want 2", n)
		}
		if n := len(e.emails()); n != 1 {
			t.Errorf("%d emails, want 1 (the email was delivered at once)", n)
		}
	})

	t.Run("a webhook failing for 24 hours is retried with growing waits and then marked failed", func(t *testing.T) {
		e := newEnv(t)
		rcv := newReceiver(t, e.clock, http.StatusInternalServerError)
		e.setWebhook("acme", rcv.srv.URL)
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatalf("handle: %v", err)
		}
		for range 20 {
			d := e.delivery("acme", notify.ChannelWebhook)
			if d.Status != notify.StatusPending {
				break
			}
			e.clock.Set(d.NextAttempt)
			e.retry()
		}
		d := e.delivery("acme", notify.ChannelWebhook)
		if d.Status != notify.StatusFailed || d.StatusCode != 500 || !d.NextAttempt.IsZero() {
			t.Fatalf("after a day of 500s: %+v, want failed with 500", d)
		}
		reqs := rcv.requests()
		if d.Attempts != len(reqs) {
			t.Errorf("%d attempts recorded, %d requests made", d.Attempts, len(reqs))
		}
		var waits []time.Duration
		for i := 1; i < len(reqs); i++ {
			waits = append(waits, reqs[i].at.Sub(reqs[i-1].at))
		}
		want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 3*time.Hour + 24*time.Minute}
		if !slices.Equal(waits, want) {
			t.Errorf("waits between attempts %v, want %v", waits, want)
		}
		if span := reqs[len(reqs)-1].at.Sub(reqs[0].at); span < 24*time.Hour {
			t.Errorf("retried for %v, want at least 24 h", span)
		}

		e.clock.Advance(48 * time.Hour)
		e.retry()
		if n := len(rcv.requests()); n != len(reqs) {
			t.Errorf("a failed delivery was tried again: %d requests, want %d", n, len(reqs))
		}
	})

	t.Run("a delivery whose outcome could not be recorded is sent again with the same webhook-id", func(t *testing.T) {
		e := newEnv(t)
		rcv := newReceiver(t, e.clock, http.StatusOK)
		e.setWebhook("acme", rcv.srv.URL)
		e.db.Server.EmulateFailure(server.FailureConditionNone)
		rcv.setOnRequest(func() { e.db.Server.EmulateFailure(server.FailureConditionInternalServerError) })
		err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start)))
		e.db.Server.EmulateFailure(server.FailureConditionNone)
		rcv.setOnRequest(nil)
		if err == nil {
			t.Fatal("Handle reported no error although the outcome could not be written")
		}
		// The email went first, before the table failed.
		if d := e.delivery("acme", notify.ChannelEmail); d.Status != notify.StatusDelivered {
			t.Errorf("email %+v, want delivered", d)
		}
		d := e.delivery("acme", notify.ChannelWebhook)
		if d.Status != notify.StatusPending || d.Attempts != 1 {
			t.Fatalf("webhook %+v, want pending after its 1st attempt", d)
		}

		e.clock.Set(d.NextAttempt)
		e.retry()
		reqs := rcv.requests()
		if len(reqs) != 2 || reqs[0].header.Get("webhook-id") != reqs[1].header.Get("webhook-id") {
			t.Fatalf("%d requests, want 2 with one webhook-id (the receiver drops the repeat)", len(reqs))
		}
		if d := e.delivery("acme", notify.ChannelWebhook); d.Status != notify.StatusDelivered || d.Attempts != 2 {
			t.Errorf("webhook %+v, want delivered after 2 attempts", d)
		}
	})

	t.Run("an email the mailer refused is retried", func(t *testing.T) {
		e := newEnv(t)
		flaky := &flakyMailer{fails: 1, next: e.outbox}
		n := notify.New(e.store, flaky, nil, e.clock.Now, nil, true)
		if err := n.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatalf("handle: %v", err)
		}
		d := e.delivery("acme", notify.ChannelEmail)
		if d.Status != notify.StatusPending || d.Error != "The email could not be sent." {
			t.Fatalf("email %+v, want pending with the failure", d)
		}
		e.clock.Set(d.NextAttempt)
		if err := n.RetryDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d := e.delivery("acme", notify.ChannelEmail); d.Status != notify.StatusDelivered || d.Attempts != 2 {
			t.Errorf("email %+v, want delivered after 2 attempts", d)
		}
		if n := len(e.emails()); n != 1 {
			t.Errorf("%d emails in the outbox, want 1", n)
		}
	})

	t.Run("a retrier stopped for hours catches up on the next run", func(t *testing.T) {
		e := newEnv(t)
		rcv := newReceiver(t, e.clock, http.StatusServiceUnavailable, http.StatusOK)
		e.setWebhook("acme", rcv.srv.URL)
		e.retry() // sets the cursor
		if err := e.notifier.Handle(t.Context(), event(t, budgetReached("acme", start))); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(7 * time.Hour)
		e.retry()
		if d := e.delivery("acme", notify.ChannelWebhook); d.Status != notify.StatusDelivered {
			t.Errorf("webhook %+v, want delivered", d)
		}
	})
}
