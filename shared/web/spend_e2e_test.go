package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
)

// spendE2E is the local server in a test: newEnvWith's handler, with the
// usage service, the notifier (and its outbox) and the recharge engine on
// a clock the test moves, and the bus's rules wired as infra/local wires
// them: every job with detail types gets those events.
type spendE2E struct {
	*env
	clock  *timetest.Clock
	deps   web.Deps
	outbox *notify.Outbox
}

func newSpendE2E(t *testing.T, start time.Time) *spendE2E {
	t.Helper()
	s := &spendE2E{clock: timetest.NewClock(start)}
	s.env = newEnvWith(t, start, func(d *web.Deps) {
		now := s.clock.Now
		bus := events.NewBus(d.Log)
		s.outbox = notify.NewOutbox(d.Store, now)
		d.Now = now
		d.Usage = usage.NewService(d.Store, bus, now, d.Log)
		d.Notify = notify.New(d.Store, s.outbox, nil, now, d.Log, true)
		d.Recharge = recharge.New(d.Store, d.Payments, bus, now, d.Log)
		for _, j := range jobs.List(*d) {
			if len(j.DetailTypes) > 0 {
				bus.Subscribe(j.Function, j.DetailTypes, j.Run)
			}
		}
		s.deps = *d
	})
	return s
}

// recordUsage posts one usage event of amount for org, at the clock's
// time, to the usage API, and checks it is accepted.
func (s *spendE2E) recordUsage(t *testing.T, id, org, amount string) {
	t.Helper()
	if err := s.postUsage(t, id, org, amount); err != nil {
		t.Fatal(err)
	}
}

// postUsage is recordUsage returning its failure, for other goroutines.
func (s *spendE2E) postUsage(t *testing.T, id, org, amount string) error {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.srv.URL+"/v1/usage",
		strings.NewReader(usageBody(s.clock.Now(), [3]string{id, org, amount})))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+testUsageKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.srv.Client().Do(req)
	if err != nil {
		return fmt.Errorf("POST /v1/usage: %w", err)
	}
	defer res.Body.Close()
	var answer usageAnswer
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil || res.StatusCode != http.StatusOK || answer.Accepted != 1 {
		return fmt.Errorf("POST /v1/usage %s %s: status %d, %+v (%v); want it accepted", id, amount, res.StatusCode, answer, err)
	}
	return nil
}

// allowanceAnswer is the JSON of GET /v1/allowance.
type allowanceAnswer struct {
	Allowed   bool   `json:"allowed"`
	Available string `json:"available"`
	Reason    string `json:"reason"`
	ResetsAt  string `json:"resets_at"`
}

func (s *spendE2E) allowance(t *testing.T, org string) allowanceAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.srv.URL+"/v1/allowance?org_id="+org, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testUsageKey)
	res, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET /v1/allowance: %v", err)
	}
	defer res.Body.Close()
	var a allowanceAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/allowance: status %d, %v", res.StatusCode, err)
	}
	return a
}

func (s *spendE2E) emails(t *testing.T) []notify.SentEmail {
	t.Helper()
	sent, err := s.outbox.List(t.Context(), 100)
	if err != nil {
		t.Fatalf("outbox: %v", err)
	}
	return sent
}

// runJob runs the named job on its scheduled event at the clock's time.
func (s *spendE2E) runJob(t *testing.T, function string) {
	t.Helper()
	for _, j := range jobs.List(s.deps) {
		if j.Function == function {
			if err := j.Run(t.Context(), jobs.ScheduledEvent(s.clock.Now())); err != nil {
				t.Fatalf("%s: %v", function, err)
			}
			return
		}
	}
	t.Fatalf("no job %s", function)
}

// wantBudgetNotices checks the outbox holds one budget email to the billing
// email per day of days, and the receiver got one webhook per day, each
// signed with secret at the time it was sent, newest last.
func (s *spendE2E) wantBudgetNotices(t *testing.T, rcv *hookReceiver, org, billingEmail, secret string, days ...string) {
	t.Helper()
	sent := s.emails(t)
	if len(sent) != len(days) {
		t.Errorf("%d emails in the outbox, want %d (one per day of %v): %+v", len(sent), len(days), days, sent)
	}
	for i, m := range sent {
		day := days[max(0, len(days)-1-i)] // the outbox lists newest first
		if m.To != billingEmail || m.Subject != "Daily budget reached: new calls are blocked until 00:00 UTC" || !strings.Contains(m.Text, "today ("+day+", UTC)") {
			t.Errorf("email %d: to %s, %q:\n%s\nwant the budget email of %s to %s", i, m.To, m.Subject, m.Text, day, billingEmail)
		}
	}
	reqs := rcv.requests()
	if len(reqs) != len(days) {
		t.Fatalf("the receiver got %d webhooks, want %d (one per day of %v)", len(reqs), len(days), days)
	}
	for i, r := range reqs {
		d := r.detail(t)
		if d["type"] != events.TypeSpendBudget || d["org_id"] != org || d["day"] != days[i] || d["threshold"] != "1.00" {
			t.Errorf("webhook %d: %s, want spend.budget_reached for %s on %s with the threshold 1.00", i, r.body, org, days[i])
		}
		if id := r.header.Get("webhook-id"); id != org+":"+days[i]+":budget" {
			t.Errorf("webhook %d: webhook-id %q", i, id)
		}
		at, err := time.Parse(time.RFC3339, fmt.Sprint(d["occurred_at"]))
		if err != nil {
			t.Fatalf("webhook %d: occurred_at: %v", i, err)
		}
		if err := verifyWebhook(secret, r.header, r.body, at); err != nil {
			t.Errorf("webhook %d: %v", i, err)
		}
	}
}

// TestSpendManagementDoneWhen is the "Done when", end to end
// through the real handler: with spend management on and a $1 budget,
// recording $1.01 blocks the allowance, puts one email in the outbox and
// sends one signed webhook to a local receiver; the next UTC day it is
// unblocked, by the clock and after the daily reset.
func TestSpendManagementDoneWhen(t *testing.T) {
	s := newSpendE2E(t, lateInMonth)
	const org, billingEmail = "globex", "accounts@globex.test"
	err := s.store.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: org, Name: "Globex"},
		TrialCredits: money.Dollars(10), OverageLimit: money.Dollars(25), Profile: billing.Profile{BillingEmail: billingEmail}})
	if err != nil {
		t.Fatal(err)
	}
	admin := s.signIn(org, "you@globex.test", "admin")
	rcv := newHookReceiver(t, s.clock.Now)
	secret := admin.saveWebhook(t, billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(1)}, rcv.url())
	rcv.setSecret(secret)
	if a := s.allowance(t, org); !a.Allowed || a.Available != "1.00" {
		t.Fatalf("before any usage the allowance is %+v, want allowed with the $1 budget available", a)
	}

	t.Run("recording $1.01 blocks the allowance, puts one email in the outbox and sends one signed webhook", func(t *testing.T) {
		s.recordUsage(t, "call-1", org, "1.01")
		want := allowanceAnswer{Allowed: false, Available: "0.00", Reason: billing.ReasonDailyLimitReached, ResetsAt: dayAfter(lateInMonth, 1).Format(time.RFC3339)}
		if a := s.allowance(t, org); a != want {
			t.Errorf("allowance %+v, want %+v", a, want)
		}
		s.wantBudgetNotices(t, rcv, org, billingEmail, secret, billing.Day(lateInMonth))
		if d := rcv.requests()[0].detail(t); d["used_today"] != "1.01" || d["available"] != "0.00" || d["occurred_at"] != lateInMonth.Format(time.RFC3339) {
			t.Errorf("webhook amounts %s, want used_today 1.01 and available 0.00 as decimal strings, at the recording", rcv.requests()[0].body)
		}

		outbox := admin.get("/dev/outbox").text()
		if !strings.Contains(outbox, billingEmail) || strings.Count(outbox, "Daily budget reached") != 1 {
			t.Errorf("/dev/outbox does not list the one budget email to %s:\n%s", billingEmail, outbox)
		}
		page := admin.get(spendPath)
		if got, _ := element(page.body, "consumed-today"); got != "$1.01" {
			t.Errorf("Credits Consumed Today %q, want $1.01", got)
		}
		at := lateInMonth.Format(time.RFC3339)
		rows := deliveryRows(page.body)
		if len(rows) != 2 {
			t.Fatalf("Recent deliveries %+v, want the email and the webhook", rows)
		}
		for _, want := range []deliveryRow{
			{at, events.TypeSpendBudget, "email", "badge badge-green", "delivered", "", "1"},
			{at, events.TypeSpendBudget, "webhook", "badge badge-green", "delivered", "200", "1"},
		} {
			if rows[0] != want && rows[1] != want {
				t.Errorf("Recent deliveries %+v lack %+v", rows, want)
			}
		}
	})

	t.Run("more usage that day is recorded and stays blocked, but notifies no more", func(t *testing.T) {
		s.clock.Advance(time.Hour)
		s.recordUsage(t, "call-2", org, "0.50")
		s.clock.Advance(10 * time.Minute)
		s.runJob(t, "notifier") // the retrier finds nothing due
		if a := s.allowance(t, org); a.Allowed || a.Reason != billing.ReasonDailyLimitReached {
			t.Errorf("allowance %+v, want still blocked", a)
		}
		s.wantBudgetNotices(t, rcv, org, billingEmail, secret, billing.Day(lateInMonth))
	})

	t.Run("the next UTC day the clock alone unblocks it", func(t *testing.T) {
		s.clock.Set(dayAfter(lateInMonth, 1))
		want := allowanceAnswer{Allowed: true, Available: "1.00"}
		if a := s.allowance(t, org); a != want {
			t.Errorf("allowance %+v, want %+v", a, want)
		}
	})

	t.Run("the daily reset keeps it unblocked and sends nothing again", func(t *testing.T) {
		s.runJob(t, "daily-reset")
		want := allowanceAnswer{Allowed: true, Available: "1.00"}
		if a := s.allowance(t, org); a != want {
			t.Errorf("allowance %+v, want %+v", a, want)
		}
		s.wantBudgetNotices(t, rcv, org, billingEmail, secret, billing.Day(lateInMonth))
		page := admin.get(spendPath)
		if today, _ := element(page.body, "consumed-today"); today != "$0.00" {
			t.Errorf("Credits Consumed Today %q, want $0.00", today)
		}
		if yesterday, _ := element(page.body, "consumed-yesterday"); yesterday != "$1.51" {
			t.Errorf("Credits Consumed Yesterday %q, want $1.51", yesterday)
		}
	})

	t.Run("crossing again that day, by concurrent recordings, notifies once more", func(t *testing.T) {
		s.clock.Advance(9 * time.Hour)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if err := s.postUsage(t, fmt.Sprintf("day2-%d", i), org, "0.20"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if a := s.allowance(t, org); a.Allowed || a.Reason != billing.ReasonDailyLimitReached || a.ResetsAt != dayAfter(lateInMonth, 2).Format(time.RFC3339) {
			t.Errorf("allowance %+v, want blocked until %s", a, billing.Day(dayAfter(lateInMonth, 2)))
		}
		s.wantBudgetNotices(t, rcv, org, billingEmail, secret, billing.Day(lateInMonth), billing.Day(dayAfter(lateInMonth, 1)))
	})
}
