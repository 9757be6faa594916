package recharge_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/recharge"
)

// lostAnswer is a provider whose first successful Charge is made but its
// answer lost, as when the function dies between the charge and its
// record. It keeps every idempotency key it was sent.
type lostAnswer struct {
	payments.Provider
	lost atomic.Bool
	mu   sync.Mutex
	keys []string
}

func (p *lostAnswer) Charge(ctx context.Context, r payments.ChargeRequest) (payments.Payment, error) {
	p.mu.Lock()
	p.keys = append(p.keys, r.IdempotencyKey)
	p.mu.Unlock()
	pay, err := p.Provider.Charge(ctx, r)
	if err == nil && p.lost.CompareAndSwap(false, true) {
		return payments.Payment{}, errors.New("connection reset")
	}
	return pay, err
}

// withProvider rebuilds the harness's service and engine on p.
func (h *harness) withProvider(p payments.Provider) {
	h.pay = payments.NewService(h.st, p, h.clock.now, h.log)
	h.engine = recharge.New(h.st, h.pay, h.bus, h.clock.now, h.log)
}

func TestEpisodeKey(t *testing.T) {
	t.Run("a run that died after its charge reruns into the same payment once the lock expires: one credit", func(t *testing.T) {
		h := newHarness(t, 0)
		p := &lostAnswer{Provider: h.provider}
		h.withProvider(p)
		h.below("acme")
		before := h.account("acme").Ledger
		if _, err := h.engine.Run(t.Context(), "acme"); err == nil {
			t.Fatal("the run whose answer was lost reported no error")
		}
		// The lock outlives any function timeout (15 minutes at most).
		h.clock.advance(15 * time.Minute)
		wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "a charge is already in flight")
		h.clock.advance(2 * time.Minute)
		res := h.run("acme")
		wantOutcome(t, res, recharge.OutcomeCharged, "")
		if len(p.keys) != 2 || p.keys[0] != p.keys[1] || p.keys[0] == "" {
			t.Errorf("idempotency keys %q, want the same key twice", p.keys)
		}
		if n := h.recharges("acme"); n != 1 {
			t.Errorf("%d recharges, want 1", n)
		}
		if got := h.account("acme").Ledger; got != before+money.Dollars(25) {
			t.Errorf("ledger %v, want %v: the crashed charge must land once", got, before+money.Dollars(25))
		}
	})

	t.Run("each low-balance episode and each retry after a failure gets its own key", func(t *testing.T) {
		h := newHarness(t, 0)
		p := &lostAnswer{Provider: h.provider}
		p.lost.Store(true) // nothing lost
		h.withProvider(p)
		h.below("acme")
		declined := h.card("acme", cardDeclined)
		h.setDefault("acme", declined)
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		h.clock.advance(2 * time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeFailed, "Your card was declined.")
		good := h.card("acme", cardOK)
		h.setDefault("acme", good)
		h.clock.advance(7 * time.Hour)
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		h.use("acme", money.Dollars(25))
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		seen := map[string]bool{}
		for _, k := range p.keys {
			if seen[k] {
				t.Errorf("key %q used twice in %q", k, p.keys)
			}
			seen[k] = true
		}
		if len(p.keys) != 4 || h.recharges("acme") != 2 {
			t.Errorf("keys %q, %d recharges; want 4 charges and 2 recharges", p.keys, h.recharges("acme"))
		}
	})
}

// actionEvents returns the balance.recharge_action_required events
// published for the organisation.
func (h *harness) actionEvents(org string) []events.Detail {
	h.t.Helper()
	var out []events.Detail
	for _, e := range h.bus.Published() {
		if e.DetailType != recharge.TypeRechargeActionRequired {
			continue
		}
		var d events.Detail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			h.t.Fatal(err)
		}
		if d.OrgID == org {
			out = append(out, d)
		}
	}
	return out
}

func TestAuthenticationRequired(t *testing.T) {
	const card3DS = "4000002760003184"
	setup := func(t *testing.T) (*harness, recharge.Result) {
		h := newHarness(t, 0)
		h.org("acme")
		h.card("acme", card3DS)
		h.enable("acme", 5, 25, 0)
		h.use("acme", money.Dollars(8))
		res := h.run("acme")
		wantOutcome(t, res, recharge.OutcomeActionRequired, "your bank asks you to confirm this payment")
		return h, res
	}

	t.Run("is not a decline: no failure counted, one notice, and no retry off-session while the customer has not confirmed", func(t *testing.T) {
		h, res := setup(t)
		st := h.state("acme")
		if st.PendingPayment != res.Payment.ID || st.Failures != 0 || !st.NextAttempt.IsZero() {
			t.Errorf("state %+v, want the payment pending and no failure", st)
		}
		for range 3 {
			h.clock.advance(7 * time.Hour)
			res := h.run("acme")
			wantOutcome(t, res, recharge.OutcomeSkipped, "waiting for the customer to confirm payment "+st.PendingPayment)
		}
		if n := h.charges(); n != 1 {
			t.Errorf("%d charges, want 1: the card was retried off-session", n)
		}
		if ev := h.actionEvents("acme"); len(ev) != 1 || len(h.failureEvents("acme")) != 0 {
			t.Errorf("%d action-required and %d failure events, want 1 and 0", len(ev), len(h.failureEvents("acme")))
		}
		if !h.account("acme").AutoRecharge.Enabled || h.recharges("acme") != 0 {
			t.Error("auto-recharge turned off, or something was credited")
		}
	})

	t.Run("once the customer confirms on-session the credit lands exactly once, whoever sees the success first", func(t *testing.T) {
		for _, first := range []string{"the return page", "the engine"} {
			h, res := setup(t)
			ctx := t.Context()
			before := h.account("acme").Ledger
			pay, err := h.pay.ConfirmPayment(ctx, "acme", res.Payment.ID, "")
			if err != nil || pay.Status != payments.StatusRequiresAction {
				t.Fatalf("%s: confirm = %+v, %v; want requires_action", first, pay, err)
			}
			if _, err := h.sandbox.Authenticate(ctx, pay.ID, true); err != nil {
				t.Fatal(err)
			}
			if first == "the engine" {
				wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "confirmed by the customer")
			}
			for range 2 {
				if got, err := h.pay.ConfirmReturn(ctx, "acme", pay.ID); err != nil || got.Status != payments.StatusSucceeded {
					t.Fatalf("%s: return = %+v, %v", first, got, err)
				}
			}
			if first == "the return page" {
				wantOutcome(t, h.run("acme"), recharge.OutcomeSkipped, "remaining credits are above the threshold")
			}
			if got := h.account("acme").Ledger; got != before+money.Dollars(25) || h.recharges("acme") != 1 {
				t.Errorf("%s first: ledger %v, want %v with one recharge", first, got, before+money.Dollars(25))
			}
			if n := h.charges(); n != 1 {
				t.Errorf("%s first: %d charges, want 1", first, n)
			}
		}
	})

	t.Run("a failed authentication counts as a failed charge and the next run tries again", func(t *testing.T) {
		h, res := setup(t)
		ctx := t.Context()
		if _, err := h.pay.ConfirmPayment(ctx, "acme", res.Payment.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := h.sandbox.Authenticate(ctx, res.Payment.ID, false); err != nil {
			t.Fatal(err)
		}
		good := h.card("acme", cardOK)
		h.setDefault("acme", good)
		wantOutcome(t, h.run("acme"), recharge.OutcomeCharged, "")
		if st := h.state("acme"); st.PendingPayment != "" || st.Failures != 0 {
			t.Errorf("state %+v, want nothing pending", st)
		}
		if h.recharges("acme") != 1 {
			t.Errorf("%d recharges, want 1", h.recharges("acme"))
		}
	})
}

// ConfirmOnSession passes through to the sandbox.
func (p *countingProvider) ConfirmOnSession(ctx context.Context, paymentID, returnURL string) (payments.Payment, error) {
	return p.Provider.(payments.Confirmer).ConfirmOnSession(ctx, paymentID, returnURL)
}
