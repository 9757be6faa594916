package recharge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
)

// Stripe's test card numbers, as the sandbox treats them.
const (
	cardOK           = "4242424242424242"
	cardDeclined     = "4000000000000341"
	cardInsufficient = "4000000000009995"
)

// start is the tests' time: mid-month, so a month boundary is a clock
// advance away.
var start = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

// recharged matches the balance transaction of an auto-recharge.
var recharged = regexp.MustCompile(`^Stripe Payment Intent pi_sandbox_[0-9a-f]+ via Auto Recharge call\.$`)

// clock is a test clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// countingProvider is the sandbox provider with every Charge counted and
// held for delay first, so that concurrent runs overlap a charge in flight.
type countingProvider struct {
	payments.Provider
	delay   time.Duration
	charges atomic.Int32
}

func (p *countingProvider) Charge(ctx context.Context, r payments.ChargeRequest) (payments.Payment, error) {
	p.charges.Add(1)
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return payments.Payment{}, ctx.Err()
	}
	return p.Provider.Charge(ctx, r)
}

// harness is the engine as production builds it — store, payments service
// on the sandbox provider, event bus — on an embedded DynamoDB.
type harness struct {
	t        *testing.T
	clock    *clock
	st       *store.Store
	sandbox  *sandbox.Provider
	provider *countingProvider
	pay      *payments.Service
	bus      *events.Bus
	engine   *recharge.Engine
	log      *slog.Logger
	// pause, when set, runs once at the next reading of the store's clock.
	pause atomic.Pointer[func()]
	// slowClock, when set, is how long every reading of the store's clock
	// takes.
	slowClock atomic.Int64
}

func newHarness(t *testing.T, chargeDelay time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: start}, log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	h.st = storetest.New(t).Store(func() time.Time {
		if f := h.pause.Swap(nil); f != nil {
			(*f)()
		}
		time.Sleep(time.Duration(h.slowClock.Load()))
		return h.clock.now()
	})
	h.sandbox = sandbox.New(h.st, h.clock.now, "/x/")
	h.provider = &countingProvider{Provider: h.sandbox, delay: chargeDelay}
	h.pay = payments.NewService(h.st, h.provider, h.clock.now, h.log)
	h.bus = events.NewBus(h.log)
	h.engine = recharge.New(h.st, h.pay, h.bus, h.clock.now, h.log)
	return h
}

// org creates an organisation with $10 of trial credits.
func (h *harness) org(id string) {
	h.t.Helper()
	err := h.st.CreateOrg(h.t.Context(), store.NewOrg{Org: billing.Org{ID: id, Name: "Org " + id, Created: h.clock.now()}, TrialCredits: money.Dollars(10)})
	if err != nil {
		h.t.Fatalf("create org %s: %v", id, err)
	}
}

// card saves a test card to the organisation's customer; the first card
// becomes the default.
func (h *harness) card(org, number string) payments.Card {
	h.t.Helper()
	customer, err := h.pay.Customer(h.t.Context(), org)
	if err != nil {
		h.t.Fatalf("customer of %s: %v", org, err)
	}
	c, err := h.sandbox.AddCard(h.t.Context(), customer, sandbox.NewCard{Number: number, ExpMonth: 12, ExpYear: 2030, CVC: "123", Name: "Jenny Rosen"})
	if err != nil {
		h.t.Fatalf("add card %s to %s: %v", number, org, err)
	}
	return c
}

func (h *harness) setDefault(org string, c payments.Card) {
	h.t.Helper()
	if err := h.pay.SetDefaultCard(h.t.Context(), org, c.ID); err != nil {
		h.t.Fatalf("default card of %s: %v", org, err)
	}
}

// enable turns auto-recharge on with dollar amounts; cap 0 is no cap.
func (h *harness) enable(org string, threshold, amount, monthlyCap int64) {
	h.t.Helper()
	err := h.st.SetAutoRecharge(h.t.Context(), org, billing.AutoRechargeSettings{
		Enabled: true, Threshold: money.Dollars(threshold), Amount: money.Dollars(amount), MonthlyCap: money.Dollars(monthlyCap),
	})
	if err != nil {
		h.t.Fatalf("enable auto-recharge for %s: %v", org, err)
	}
}

// use records usage now, lowering Remaining Credits by amount.
func (h *harness) use(org string, amount money.Money) {
	h.t.Helper()
	if err := h.st.AddUsage(h.t.Context(), org, h.clock.now(), amount); err != nil {
		h.t.Fatalf("add usage to %s: %v", org, err)
	}
}

func (h *harness) account(org string) billing.Account {
	h.t.Helper()
	a, err := h.st.Account(h.t.Context(), org, h.clock.now())
	if err != nil {
		h.t.Fatalf("account %s: %v", org, err)
	}
	return a
}

func (h *harness) remaining(org string) money.Money { return h.account(org).Figures().Remaining }

func (h *harness) state(org string) store.RechargeState {
	h.t.Helper()
	st, err := h.st.RechargeState(h.t.Context(), org)
	if err != nil {
		h.t.Fatalf("recharge state %s: %v", org, err)
	}
	return st
}

func (h *harness) attempts(org string) []store.RechargeAttempt {
	h.t.Helper()
	a, err := h.st.RechargeAttempts(h.t.Context(), org, 50)
	if err != nil {
		h.t.Fatalf("recharge attempts %s: %v", org, err)
	}
	return a
}

// recharges checks that the ledger equals the sum of the balance history
// and returns how many auto-recharges the history holds.
func (h *harness) recharges(org string) int {
	h.t.Helper()
	var sum money.Money
	n := 0
	err := h.st.EachTransaction(h.t.Context(), org, func(tx billing.Transaction) error {
		sum += tx.Amount
		if recharged.MatchString(tx.Description) {
			n++
			if tx.Amount <= 0 {
				h.t.Errorf("%s: recharge %q of %v", org, tx.Description, tx.Amount)
			}
		} else if strings.Contains(tx.Description, payments.PurposeAutoRecharge) {
			h.t.Errorf("%s: malformed recharge transaction %q", org, tx.Description)
		}
		return nil
	})
	if err != nil {
		h.t.Fatalf("history of %s: %v", org, err)
	}
	if ledger := h.account(org).Ledger; ledger != sum {
		h.t.Errorf("%s: ledger %v, history sums to %v", org, ledger, sum)
	}
	return n
}

func (h *harness) run(org string) recharge.Result {
	h.t.Helper()
	res, err := h.engine.Run(h.t.Context(), org)
	if err != nil {
		h.t.Fatalf("run %s: %v", org, err)
	}
	return res
}

// failureEvents returns the balance.recharge_failed events published for
// the organisation.
func (h *harness) failureEvents(org string) []events.Detail {
	h.t.Helper()
	var out []events.Detail
	for _, e := range h.bus.Published() {
		if e.DetailType != recharge.TypeRechargeFailed {
			continue
		}
		var d events.Detail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			h.t.Fatalf("event detail %s: %v", e.Detail, err)
		}
		if d.OrgID == org {
			out = append(out, d)
		}
	}
	return out
}

func (h *harness) charges() int { return int(h.provider.charges.Load()) }

func wantOutcome(t *testing.T, res recharge.Result, outcome, reason string) {
	t.Helper()
	if res.Outcome != outcome || !strings.Contains(res.Reason, reason) {
		t.Fatalf("result %s %q, want %s with %q", res.Outcome, res.Reason, outcome, reason)
	}
}

// lowBalanceEvent is the event EventBridge delivers to functions/auto-recharge
// when the organisation's Remaining Credits fall below its threshold.
func lowBalanceEvent(t *testing.T, org string) awsevents.EventBridgeEvent {
	t.Helper()
	raw := `{
  "version": "0",
  "id": "8d9e5a2c-5c1f-2b7e-1d0b-5f7a3c9e0b12",
  "detail-type": "balance.below_recharge_threshold",
  "source": "billing.usage",
  "account": "123456789012",
  "time": "2026-11-10T12:00:00Z",
  "region": "eu-west-1",
  "resources": [],
  "detail": {
    "id": "` + org + `:2026-11-10:recharge_10000000",
    "type": "balance.below_recharge_threshold",
    "org_id": "` + org + `",
    "day": "2026-11-10",
    "threshold": "5.00",
    "used_today": "8.00",
    "remaining": "2.00",
    "available": "2.00",
    "occurred_at": "2026-11-10T12:00:00Z"
  }
}`
	var e awsevents.EventBridgeEvent
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("low-balance event: %v", err)
	}
	return e
}

// scheduledEvent is what the auto-recharge schedule delivers.
func scheduledEvent(t *testing.T) awsevents.EventBridgeEvent {
	t.Helper()
	raw := `{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2026-11-10T12:15:00Z",
  "region": "eu-west-1",
  "resources": ["arn:aws:events:eu-west-1:123456789012:rule/billing-auto-recharge-schedule"],
  "detail": {}
}`
	var e awsevents.EventBridgeEvent
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatalf("scheduled event: %v", err)
	}
	return e
}

// below sets up org with a working default card, auto-recharge on ($5
// threshold, $25 amount) and Remaining Credits at $2.
func (h *harness) below(org string) {
	h.t.Helper()
	h.org(org)
	h.card(org, cardOK)
	h.enable(org, 5, 25, 0)
	h.use(org, money.Dollars(8))
}

func TestConcurrentTriggersChargeOnce(t *testing.T) {
	t.Run("runs and low-balance events at once make exactly one charge", func(t *testing.T) {
		h := newHarness(t, 50*time.Millisecond)
		h.below("acme")
		ev := lowBalanceEvent(t, "acme")
		// Each run takes 20 ms between its first look at the balance and
		// its lock (the store's clock, read for the attempt id, is slow),
		// as a slow network or a paused Lambda would.
		h.slowClock.Store(int64(20 * time.Millisecond))

		// Half the triggers are direct runs, half are EventBridge
		// deliveries; they start together and keep arriving while the
		// first charge is in flight and just after it lands.
		const n = 16
		ready := make(chan struct{})
		results := make(chan recharge.Result, n)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-ready
				time.Sleep(time.Duration(i) * 6 * time.Millisecond)
				if i%2 == 0 {
					res, err := h.engine.Run(t.Context(), "acme")
					results <- res
					errs <- err
					return
				}
				errs <- h.engine.Handle(t.Context(), ev)
			})
		}
		close(ready)
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("trigger: %v", err)
			}
		}
		charged := 0
		for res := range results {
			switch {
			case res.Outcome == recharge.OutcomeCharged:
				charged++
			case res.Outcome == recharge.OutcomeSkipped &&
				(res.Reason == "a charge is already in flight" || res.Reason == "remaining credits are above the threshold"):
			default:
				t.Errorf("result %s %q, want one success and the rest skipped", res.Outcome, res.Reason)
			}
		}
		if charged > 1 {
			t.Errorf("%d runs charged, want at most one", charged)
		}
		if got := h.charges(); got != 1 {
			t.Errorf("%d charges reached the provider, want 1", got)
		}
		if got := h.recharges("acme"); got != 1 {
			t.Errorf("%d auto-recharges in the balance history, want 1", got)
		}
		if got := h.remaining("acme"); got != money.Dollars(27) {
			t.Errorf("Remaining Credits %v, want $27", got)
		}
		if a := h.attempts("acme"); len(a) != 1 || a[0].Status != recharge.OutcomeCharged || !strings.HasPrefix(a[0].PaymentID, "pi_") {
			t.Errorf("attempts = %+v, want one succeeded", a)
		}
	})

	for _, c := range []struct {
		name, card, first, late string
	}{
		{"a trigger that read the balance before another run credited it does not charge again", cardOK, recharge.OutcomeCharged, "remaining credits are above the threshold"},
		{"a trigger that read the state before another run's decline does not retry the card", cardDeclined, recharge.OutcomeFailed, "waiting after a failed charge"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, 0)
			h.org("acme")
			h.card("acme", c.card)
			h.enable("acme", 5, 25, 0)
			h.use("acme", money.Dollars(8))

			// The late run stops at its first reading of the store's clock
			// (the attempt id, taken after its first look and just before
			// the lock) while another run finishes an attempt.
			paused, resume := make(chan struct{}), make(chan struct{})
			hold := func() { close(paused); <-resume }
			h.pause.Store(&hold)
			type outcome struct {
				res recharge.Result
				err error
			}
			late := make(chan outcome, 1)
			go func() {
				res, err := h.engine.Run(context.Background(), "acme")
				late <- outcome{res, err}
			}()
			<-paused
			wantOutcome(t, h.run("acme"), c.first, "")
			close(resume)
			got := <-late
			if got.err != nil {
				t.Fatalf("late run: %v", got.err)
			}
			wantOutcome(t, got.res, recharge.OutcomeSkipped, c.late)
			if n := h.charges(); n != 1 {
				t.Errorf("%d charges, want 1", n)
			}
			if a := h.attempts("acme"); len(a) != 1 || a[0].Status != c.first {
				t.Errorf("attempts = %+v, want one %s", a, c.first)
			}
			h.recharges("acme") // the ledger still equals its history
			// The late run released the lock: the next one is not refused as in flight.
			if res := h.run("acme"); res.Reason == "a charge is already in flight" {
				t.Errorf("the lock was not released: %+v", res)
			}
		})
	}

	t.Run("a lock whose holder died expires and the next run charges", func(t *testing.T) {
		h := newHarness(t, 0)
		h.below("acme")
		ok, err := h.st.LockRecharge(t.Context(), "acme", "ra_dead", h.clock.now(), h.clock.now().Add(2*time.Minute))
		if err != nil || !ok {
			t.Fatalf("lock: %v, %v", ok, err)
		}
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "a charge is already in flight")
		h.clock.advance(3 * time.Minute)
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		if n := h.charges(); n != 1 {
			t.Errorf("%d charges, want 1", n)
		}
	})
}

func TestNoChargeWhenOff(t *testing.T) {
	h := newHarness(t, 0)
	h.org("never")
	h.card("never", cardOK)
	h.use("never", money.Dollars(100))
	h.org("off")
	h.card("off", cardOK)
	h.enable("off", 5, 25, 0)
	if err := h.st.SetAutoRecharge(t.Context(), "off", billing.AutoRechargeSettings{}); err != nil {
		t.Fatal(err)
	}
	h.use("off", money.Dollars(100))
	h.org("above")
	h.card("above", cardOK)
	h.enable("above", 5, 25, 0)
	h.use("above", money.Dollars(5)) // Remaining $5: not below a $5 threshold

	for _, c := range []struct{ org, reason string }{
		{"never", "auto-recharge is off"},
		{"off", "auto-recharge is off"},
		{"above", "remaining credits are above the threshold"},
	} {
		t.Run(c.org+": nothing is charged", func(t *testing.T) {
			wantOutcome(t, h.run(c.org), recharge.OutcomeSkipped, c.reason)
			if err := h.engine.Handle(t.Context(), lowBalanceEvent(t, c.org)); err != nil {
				t.Fatal(err)
			}
			if n := h.recharges(c.org); n != 0 {
				t.Errorf("%d recharges", n)
			}
			if a := h.attempts(c.org); len(a) != 0 {
				t.Errorf("attempts = %+v, want none", a)
			}
		})
	}
	if err := h.engine.Handle(t.Context(), scheduledEvent(t)); err != nil {
		t.Fatal(err)
	}
	if n := h.charges(); n != 0 {
		t.Errorf("%d charges reached the provider, want none", n)
	}
}

func TestDeclinedCard(t *testing.T) {
	for _, c := range []struct{ number, message string }{
		{cardDeclined, "Your card was declined."},
		{cardInsufficient, "Your card has insufficient funds."},
	} {
		t.Run("card "+c.number+" fails with the provider's message and credits nothing", func(t *testing.T) {
			h := newHarness(t, 0)
			h.org("acme")
			h.card("acme", c.number)
			h.enable("acme", 5, 25, 0)
			h.use("acme", money.Dollars(8))
			before := h.account("acme").Ledger

			res := h.run("acme")
			wantOutcome(t, res, recharge.OutcomeFailed, c.message)
			if res.Payment.Status != payments.StatusFailed {
				t.Errorf("payment status %q", res.Payment.Status)
			}
			if got := h.account("acme").Ledger; got != before || h.recharges("acme") != 0 {
				t.Errorf("ledger %v → %v", before, got)
			}
			ev := h.failureEvents("acme")
			if len(ev) != 1 || ev[0].Type != recharge.TypeRechargeFailed || ev[0].Threshold != money.Dollars(5) || ev[0].Remaining != money.Dollars(2) {
				t.Errorf("failure events = %+v, want one balance.recharge_failed", ev)
			}
			a := h.attempts("acme")
			if len(a) != 1 || a[0].Status != recharge.OutcomeFailed || a[0].Message != c.message || a[0].Amount != money.Dollars(25) {
				t.Errorf("attempts = %+v, want one failed", a)
			}
		})
	}

	t.Run("a failing card backs off, turns auto-recharge off after 3 failures and is not retried", func(t *testing.T) {
		h := newHarness(t, 0)
		h.org("acme")
		declined := h.card("acme", cardDeclined)
		h.enable("acme", 5, 25, 0)
		h.use("acme", money.Dollars(8))

		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		if st := h.state("acme"); st.Failures != 1 || !st.NextAttempt.Equal(start.Add(time.Hour)) {
			t.Errorf("state = %+v, want 1 failure and a retry in an hour", st)
		}
		// Triggers during the back-off do not reach the card.
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "waiting after a failed charge")
		if err := h.engine.Handle(t.Context(), lowBalanceEvent(t, "acme")); err != nil {
			t.Fatal(err)
		}
		h.clock.advance(59 * time.Minute)
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "waiting after a failed charge")
		if n := h.charges(); n != 1 {
			t.Fatalf("%d charges during the back-off, want 1", n)
		}

		h.clock.advance(time.Minute)
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		if st := h.state("acme"); st.Failures != 2 || !st.NextAttempt.Equal(h.clock.now().Add(6*time.Hour)) {
			t.Errorf("state = %+v, want 2 failures and a retry in 6 hours", st)
		}
		h.clock.advance(5 * time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "waiting after a failed charge")
		h.clock.advance(time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		if n := h.charges(); n != 3 {
			t.Fatalf("%d charges, want 3", n)
		}

		acct := h.account("acme")
		st := h.state("acme")
		if acct.AutoRecharge.Enabled {
			t.Error("auto-recharge is still on after 3 failures")
		}
		if st.Failures != recharge.MaxFailures || !strings.Contains(st.DisabledReason, "3 failed charges") || !strings.Contains(st.DisabledReason, "Your card was declined.") {
			t.Errorf("state = %+v, want the reason it turned off", st)
		}
		changes, err := h.st.RecentChanges(t.Context(), "acme", 5)
		if err != nil || len(changes) != 1 || changes[0].Actor != recharge.AuditActor || !strings.Contains(changes[0].Summary(), "turned itself off after 3 failed charges") {
			t.Errorf("Recent changes %+v (%v), want the engine turning auto-recharge off", changes, err)
		}
		overview, _, err := h.st.Overview(t.Context(), "acme", h.clock.now())
		if err != nil || overview.AutoRecharge.DisabledReason != st.DisabledReason {
			t.Errorf("Overview's reason = %q (%v), want %q", overview.AutoRecharge.DisabledReason, err, st.DisabledReason)
		}
		if ev := h.failureEvents("acme"); len(ev) != 3 {
			t.Errorf("%d failure events, want 3", len(ev))
		}

		// Off now: no trigger reaches the card, however long it waits.
		for range 3 {
			h.clock.advance(24 * time.Hour)
			wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "auto-recharge is off")
			if err := h.engine.Handle(t.Context(), scheduledEvent(t)); err != nil {
				t.Fatal(err)
			}
		}
		if n := h.charges(); n != 3 {
			t.Fatalf("%d charges after auto-recharge turned off, want 3", n)
		}
		a := h.attempts("acme")
		if len(a) != 3 || slices.ContainsFunc(a, func(a store.RechargeAttempt) bool { return a.Status != recharge.OutcomeFailed }) {
			t.Errorf("attempts = %+v, want 3 failed", a)
		}

		// Turning it on again clears the reason and the count.
		h.enable("acme", 5, 25, 0)
		if st := h.state("acme"); st.Failures != 0 || st.DisabledReason != "" || !st.NextAttempt.IsZero() {
			t.Errorf("state after turning on = %+v, want cleared", st)
		}
		if o, _, _ := h.st.Overview(t.Context(), "acme", h.clock.now()); o.AutoRecharge.DisabledReason != "" || !o.AutoRecharge.Enabled {
			t.Errorf("Overview after turning on: %+v", o.AutoRecharge)
		}

		// A success resets the count: two more failures after it do not
		// turn auto-recharge off.
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		good := h.card("acme", cardOK)
		h.setDefault("acme", good)
		h.clock.advance(time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		if st := h.state("acme"); st.Failures != 0 || !st.NextAttempt.IsZero() {
			t.Errorf("state after a success = %+v, want no failures", st)
		}
		h.setDefault("acme", declined)
		h.use("acme", money.Dollars(25))
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		h.clock.advance(time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		if st := h.state("acme"); st.Failures != 2 || !h.account("acme").AutoRecharge.Enabled {
			t.Errorf("state = %+v, enabled %v; want 2 failures and still on", st, h.account("acme").AutoRecharge.Enabled)
		}
		if n := h.recharges("acme"); n != 1 {
			t.Errorf("%d recharges, want 1", n)
		}
	})
}

func TestMonthlyCap(t *testing.T) {
	h := newHarness(t, 0)
	h.org("acme")
	h.card("acme", cardOK)
	h.enable("acme", 5, 25, 50)
	h.use("acme", money.Dollars(8))

	t.Run("two $25 recharges fit a $50 cap, the third is skipped", func(t *testing.T) {
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		h.use("acme", money.Dollars(25))
		h.clock.advance(time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		h.use("acme", money.Dollars(25))
		h.clock.advance(time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "the monthly cap of $50.00 is reached")
		if st := h.state("acme"); st.Month != "2026-11" || st.MonthTotal != money.Dollars(50) {
			t.Errorf("state = %+v, want $50 in 2026-11", st)
		}
		if n, c := h.recharges("acme"), h.charges(); n != 2 || c != 2 {
			t.Errorf("%d recharges, %d charges; want 2", n, c)
		}
	})

	t.Run("the month is the UTC one", func(t *testing.T) {
		// December already in Tokyo, still November in UTC.
		h.clock.set(time.Date(2026, 12, 1, 8, 30, 0, 0, time.FixedZone("JST", 9*3600)))
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "the monthly cap")
	})

	t.Run("the next calendar month charges again", func(t *testing.T) {
		h.clock.set(time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC))
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		if st := h.state("acme"); st.Month != "2026-12" || st.MonthTotal != money.Dollars(25) {
			t.Errorf("state = %+v, want $25 in 2026-12", st)
		}
		if n := h.recharges("acme"); n != 3 {
			t.Errorf("%d recharges, want 3", n)
		}
	})
}

// TestMonthlyCapBoundary: a recharge is charged only when it fits whole
// under the cap (month total + amount ≤ cap), with caps that are not a
// multiple of the amount.
func TestMonthlyCapBoundary(t *testing.T) {
	for _, c := range []struct {
		cap     int64
		charged int
	}{
		{cap: 60, charged: 2}, // a third $25 would make $75
		{cap: 74, charged: 2},
		{cap: 75, charged: 3}, // exactly fits
		{cap: 99, charged: 3},
	} {
		t.Run(fmt.Sprintf("a $%d cap takes %d recharges of $25", c.cap, c.charged), func(t *testing.T) {
			h := newHarness(t, 0)
			h.org("acme")
			h.card("acme", cardOK)
			h.enable("acme", 5, 25, c.cap)
			h.use("acme", money.Dollars(8))
			for i := range c.charged + 1 {
				want, why := recharge.OutcomeCharged, ""
				if i == c.charged {
					want, why = recharge.OutcomeSkipped, "the monthly cap"
				}
				wantOutcome(t, h.run("acme"), want, why)
				h.use("acme", money.Dollars(25))
				h.clock.advance(time.Hour)
			}
			if st := h.state("acme"); st.MonthTotal != money.Dollars(25*int64(c.charged)) {
				t.Errorf("month total %v, want $%d", st.MonthTotal, 25*c.charged)
			}
		})
	}
}

func TestNoDefaultCard(t *testing.T) {
	h := newHarness(t, 0)
	h.org("acme")
	h.enable("acme", 5, 25, 0) // the page refuses this; the engine must cope
	h.use("acme", money.Dollars(8))

	wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "there is no default card")
	if st := h.state("acme"); st.Failures != 1 {
		t.Errorf("state = %+v, want 1 failure", st)
	}
	if a := h.attempts("acme"); len(a) != 1 || a[0].Status != recharge.OutcomeFailed || a[0].Message != "there is no default card" {
		t.Errorf("attempts = %+v", a)
	}
	if ev := h.failureEvents("acme"); len(ev) != 1 {
		t.Errorf("%d failure events, want 1", len(ev))
	}
	h.clock.advance(time.Hour)
	wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "there is no default card")
	h.clock.advance(6 * time.Hour)
	wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "there is no default card")
	if h.account("acme").AutoRecharge.Enabled || !strings.Contains(h.state("acme").DisabledReason, "there is no default card") {
		t.Errorf("after 3 failures: enabled %v, reason %q", h.account("acme").AutoRecharge.Enabled, h.state("acme").DisabledReason)
	}
	if n := h.charges(); n != 0 {
		t.Errorf("%d charges reached the provider, want none", n)
	}
}

func TestSchedule(t *testing.T) {
	h := newHarness(t, 0)
	h.below("alpha")
	h.below("beta")
	h.org("gamma")
	h.card("gamma", cardOK)
	h.enable("gamma", 5, 25, 0)
	h.org("delta")
	h.card("delta", cardOK)
	h.use("delta", money.Dollars(8))

	t.Run("the scheduled event recharges every organisation below its threshold once", func(t *testing.T) {
		for range 2 {
			if err := h.engine.Handle(t.Context(), scheduledEvent(t)); err != nil {
				t.Fatal(err)
			}
		}
		for org, want := range map[string]int{"alpha": 1, "beta": 1, "gamma": 0, "delta": 0} {
			if n := h.recharges(org); n != want {
				t.Errorf("%s: %d recharges, want %d", org, n, want)
			}
		}
		if n := h.charges(); n != 2 {
			t.Errorf("%d charges, want 2", n)
		}
	})

	t.Run("the auto-recharge job runs on the schedule and on the low-balance rule", func(t *testing.T) {
		job := autoRechargeJob(t, h)
		if !slices.Equal(job.DetailTypes, []string{events.TypeBalanceLow}) {
			t.Errorf("DetailTypes = %q, want the low-balance event", job.DetailTypes)
		}
		if err := job.Run(t.Context(), jobs.ScheduledEvent(h.clock.now())); err != nil {
			t.Fatal(err)
		}
		h.use("gamma", money.Dollars(8))
		if err := job.Run(t.Context(), lowBalanceEvent(t, "gamma")); err != nil {
			t.Fatal(err)
		}
		if n := h.recharges("gamma"); n != 1 {
			t.Errorf("gamma: %d recharges, want 1", n)
		}
	})
}

func autoRechargeJob(t *testing.T, h *harness) jobs.Job {
	t.Helper()
	for _, j := range jobs.List(web.Deps{Recharge: h.engine}) {
		if j.Function == "auto-recharge" {
			return j
		}
	}
	t.Fatal("no auto-recharge job")
	return jobs.Job{}
}

func TestUsageTriggersRecharge(t *testing.T) {
	h := newHarness(t, 0)
	h.org("acme")
	h.card("acme", cardOK)
	h.enable("acme", 5, 25, 0)
	job := autoRechargeJob(t, h)
	h.bus.Subscribe("auto-recharge", job.DetailTypes, job.Run)
	svc := usage.NewService(h.st, h.bus, h.clock.now, h.log)
	record := func(id string, dollars int64) {
		t.Helper()
		res, err := svc.Record(t.Context(), []usage.Input{{Event: billing.UsageEvent{
			ID: id, OrgID: "acme", Amount: money.Dollars(dollars), Description: "API call", Time: h.clock.now(),
		}}})
		if err != nil || res[0].Status != usage.StatusAccepted {
			t.Fatalf("record %s: %+v, %v", id, res, err)
		}
	}

	t.Run("usage that leaves Remaining Credits below the threshold tops up exactly once", func(t *testing.T) {
		record("u1", 4) // Remaining $6: above the threshold
		if n := h.recharges("acme"); n != 0 {
			t.Fatalf("%d recharges above the threshold", n)
		}
		record("u2", 2) // Remaining $4: recharged to $29
		record("u3", 1) // Remaining $28: nothing more
		if n := h.recharges("acme"); n != 1 {
			t.Errorf("%d recharges, want 1", n)
		}
		if got := h.remaining("acme"); got != money.Dollars(28) {
			t.Errorf("Remaining Credits %v, want $28", got)
		}
	})

	t.Run("falling below again after the top-up recharges again", func(t *testing.T) {
		record("u4", 24) // Remaining $4
		if n := h.recharges("acme"); n != 2 {
			t.Errorf("%d recharges, want 2", n)
		}
	})
}
