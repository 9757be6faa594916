// Package recharge is the auto-recharge engine: when Remaining Credits
// fall below the organisation's threshold it charges the default card,
// off-session, and credits the balance. At most one charge is in flight
// per organisation (a lock in the table that expires), none while
// auto-recharge is off, the monthly cap holds, and a failing card is not
// retried in a loop: failures back off, and after three in a row
// auto-recharge turns itself off and says why.
package recharge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/store"
	awsevents "github.com/aws/aws-lambda-go/events"
)

// Publisher publishes billing events (the failure notification).
type Publisher interface {
	Publish(ctx context.Context, details ...events.Detail) error
}

// TypeRechargeFailed is the detail type of a failed auto-recharge, for the
// notifier (email to the billing email, the customer's webhook).
const TypeRechargeFailed = "balance.recharge_failed"

// TypeRechargeActionRequired is the detail type of an auto-recharge the
// customer's bank wants confirmed (authentication_required): the notifier
// emails the billing email and calls the webhook with a link to the Auto
// Recharge page, where the customer completes the payment.
const TypeRechargeActionRequired = "balance.recharge_action_required"

// AuditActor is who Recent changes names for what the engine changes.
const AuditActor = "auto-recharge"

// MaxFailures is how many consecutive failures turn auto-recharge off.
const MaxFailures = 3

// lockFor is how long a run holds the organisation's lock at most. It
// outlives any Lambda function's timeout (15 minutes at most), so a run
// that is still charging never loses the lock to another: only a run that
// died lets it expire.
const lockFor = 16 * time.Minute

// backoff is the wait after the n-th consecutive failure.
func backoff(n int) time.Duration {
	switch n {
	case 1:
		return time.Hour
	default:
		return 6 * time.Hour
	}
}

// Engine runs auto-recharge.
type Engine struct {
	store    *store.Store
	payments *payments.Service
	events   Publisher
	now      func() time.Time
	log      *slog.Logger
}

// New returns the engine.
func New(st *store.Store, p *payments.Service, pub Publisher, now func() time.Time, log *slog.Logger) *Engine {
	return &Engine{store: st, payments: p, events: pub, now: now, log: log}
}

// Outcome of a run.
const (
	OutcomeCharged = "succeeded"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped" // nothing to do, or not allowed now
	// OutcomeActionRequired is a charge the bank wants the customer to
	// confirm: not a decline, and not retried off-session.
	OutcomeActionRequired = "action_required"
)

// Result is what one run did.
type Result struct {
	Outcome string
	Reason  string // why it skipped or failed
	Payment payments.Payment
}

// Handle is the EventBridge target: the low-balance event names its
// organisation. A scheduled event ("Scheduled Event") sweeps every
// organisation with auto-recharge on, one after the other; the scheduled
// job fans the sweep out to its workers instead (EachDue and Sweep, from
// shared/jobs).
func (e *Engine) Handle(ctx context.Context, ev awsevents.EventBridgeEvent) error {
	if ev.DetailType == "Scheduled Event" {
		var errs []error
		err := e.EachDue(ctx, func(orgIDs []string) error {
			for _, id := range orgIDs {
				if err := e.Sweep(ctx, id); err != nil {
					errs = append(errs, err)
				}
			}
			return ctx.Err()
		})
		return errors.Join(append(errs, err)...)
	}
	var d events.Detail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return fmt.Errorf("recharge: event detail: %w", err)
	}
	_, err := e.Run(ctx, d.OrgID)
	return err
}

// EachDue calls fn with the organisations the sweep visits, a page at a
// time: those with auto-recharge on (store.DueRecharge), and some that
// turned it off since, which Sweep takes off the list. The sweep retries
// after a back-off and catches a missed low-balance event.
func (e *Engine) EachDue(ctx context.Context, fn func(orgIDs []string) error) error {
	return e.store.DueOrgs(ctx, store.DueRecharge(), fn)
}

// Sweep is the sweep's step for one organisation: Run, and when
// auto-recharge is off or the organisation is gone, taking it off the
// sweep's list. It is idempotent.
func (e *Engine) Sweep(ctx context.Context, orgID string) error {
	res, err := e.Run(ctx, orgID)
	if err == nil && res.Reason == reasonOff || billing.ErrorCode(err) == billing.ENOTFOUND {
		return e.store.DropRechargeDue(ctx, orgID)
	}
	if err != nil {
		return fmt.Errorf("recharge sweep %s: %w", orgID, err)
	}
	return nil
}

// Run recharges the organisation if it needs and may. It returns an error
// only when the state could not be read or saved; a declined card is a
// Result with OutcomeFailed.
func (e *Engine) Run(ctx context.Context, orgID string) (Result, error) {
	now := e.now()
	// A first look without the lock: most triggers find nothing to do.
	acct, err := e.store.Account(ctx, orgID, now)
	if err != nil {
		return Result{}, err
	}
	if skip := needed(acct); skip != "" {
		return Result{Outcome: OutcomeSkipped, Reason: skip}, nil
	}
	st, err := e.store.RechargeState(ctx, orgID)
	if err != nil {
		return Result{}, err
	}
	if skip := allowed(acct.AutoRecharge, &st, now); skip != "" {
		return Result{Outcome: OutcomeSkipped, Reason: skip}, nil
	}

	attempt := e.store.NewAttemptID()
	locked, err := e.store.LockRecharge(ctx, orgID, attempt, now, now.Add(lockFor))
	if err != nil {
		return Result{}, err
	}
	if !locked {
		return Result{Outcome: OutcomeSkipped, Reason: "a charge is already in flight"}, nil
	}
	// Look again under the lock: since the first look, another run may
	// have recharged, failed (back-off) or used up the monthly cap. A
	// read error leaves the lock to expire by itself.
	if acct, err = e.store.Account(ctx, orgID, now); err != nil {
		return Result{}, err
	}
	if st, err = e.store.RechargeState(ctx, orgID); err != nil {
		return Result{}, err
	}
	skip := needed(acct)
	if skip == "" {
		skip = allowed(acct.AutoRecharge, &st, now)
	}
	if skip != "" {
		return Result{Outcome: OutcomeSkipped, Reason: skip}, e.store.FinishRecharge(ctx, orgID, attempt, st, false)
	}
	ar := acct.AutoRecharge
	if st.PendingPayment != "" {
		res, done, err := e.pending(ctx, orgID, &st, now)
		if err != nil || done {
			if ferr := e.store.FinishRecharge(ctx, orgID, attempt, st, false); err == nil {
				err = ferr
			}
			return res, err
		}
	}
	res, err := e.charge(ctx, orgID, func(cardID string) string { return episodeKey(orgID, acct, st, cardID) }, ar.Amount)
	if err != nil {
		// The lock expires by itself; the charge's idempotency key keeps a
		// retry of this episode from charging twice.
		return Result{}, err
	}
	disable := false
	switch res.Outcome {
	case OutcomeCharged:
		st.Failures, st.NextAttempt, st.DisabledReason = 0, time.Time{}, ""
		st.MonthTotal += ar.Amount
	case OutcomeActionRequired:
		// Not a decline: no failure counted, and no retry off-session
		// until the customer has confirmed or the payment is gone.
		st.PendingPayment, st.PendingSince = res.Payment.ID, now.UTC()
		st.Tries++
	case OutcomeFailed:
		st.Failures++
		st.Tries++
		st.NextAttempt = now.Add(backoff(st.Failures))
		if st.Failures >= MaxFailures {
			disable = true
			st.DisabledReason = fmt.Sprintf("Auto-recharge turned itself off after %d failed charges in a row (last: %s). Check your default card, then turn it on again.", st.Failures, res.Reason)
		}
	}
	if err := e.store.FinishRecharge(ctx, orgID, attempt, st, disable); err != nil {
		return res, err
	}
	if disable {
		// The setting changed without a member: Recent changes says so.
		entry := billing.AuditEntry{Actor: AuditActor, Page: "Auto Recharge", Changes: billing.Changes{
			{What: fmt.Sprintf("turned itself off after %d failed charges in a row", st.Failures)}}}
		if err := e.store.AddAudit(ctx, orgID, entry); err != nil {
			e.log.Error("record auto-recharge turned off", "org", orgID, "error", err)
		}
	}
	if err := e.store.AddRechargeAttempt(ctx, orgID, store.RechargeAttempt{
		ID: attempt, Created: now, Amount: ar.Amount, Status: res.Outcome, PaymentID: res.Payment.ID, Message: res.Reason,
	}); err != nil {
		return res, err
	}
	if res.Outcome == OutcomeFailed || res.Outcome == OutcomeActionRequired {
		f := acct.Figures()
		d := events.Detail{ID: orgID + ":" + billing.Day(now) + ":recharge_failed:" + attempt, Type: TypeRechargeFailed, OrgID: orgID,
			Day: billing.Day(now), Threshold: ar.Threshold, UsedToday: f.UsedToday, Remaining: f.Remaining, Available: f.Available, OccurredAt: now.UTC()}
		if res.Outcome == OutcomeActionRequired {
			// One notice per payment awaiting confirmation.
			d.ID, d.Type = orgID+":"+billing.Day(now)+":recharge_action:"+res.Payment.ID, TypeRechargeActionRequired
		}
		if err := e.events.Publish(ctx, d); err != nil {
			e.log.Error("publish recharge outcome", "org", orgID, "outcome", res.Outcome, "error", err)
		}
	}
	return res, nil
}

// pending looks at the charge waiting for the customer's confirmation. It
// reports done, with the run's result, while it still waits (nothing is
// charged off-session meanwhile) and once it succeeded (credited once,
// whoever reported it first). A payment that failed or is gone counts as
// a failed charge and lets this run charge anew (done false).
func (e *Engine) pending(ctx context.Context, orgID string, st *store.RechargeState, now time.Time) (Result, bool, error) {
	pay, err := e.payments.TopUpPayment(ctx, orgID, st.PendingPayment)
	if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
		return Result{}, true, err
	}
	switch {
	case err == nil && pay.Status == payments.StatusSucceeded:
		if _, err := e.payments.PaymentSucceeded(ctx, orgID, pay, ""); err != nil {
			return Result{}, true, err
		}
		st.PendingPayment, st.PendingSince = "", time.Time{}
		st.Failures, st.NextAttempt, st.DisabledReason = 0, time.Time{}, ""
		st.MonthTotal += pay.Amount
		return Result{Outcome: OutcomeCharged, Reason: "confirmed by the customer", Payment: pay}, true, nil
	case err == nil && (payments.NeedsCustomer(pay) || pay.Status == payments.StatusProcessing):
		return Result{Outcome: OutcomeSkipped, Reason: "waiting for the customer to confirm payment " + pay.ID, Payment: pay}, true, nil
	}
	e.log.Info("auto-recharge payment awaiting confirmation failed or is gone", "org", orgID, "payment", st.PendingPayment)
	st.PendingPayment, st.PendingSince = "", time.Time{}
	st.Failures++
	st.Tries++
	return Result{}, false, nil
}

// episodeKey is the idempotency key of the charge of one low-balance
// episode: the same for every run until a credit lands (Total Credits
// moves) or a charge does not succeed (Tries moves), so a run that
// crashed between the charge and its record reruns into the same payment
// instead of charging twice. The card and amount are part of it: Stripe
// refuses a key reused with other parameters.
func episodeKey(orgID string, acct billing.Account, st store.RechargeState, cardID string) string {
	return fmt.Sprintf("recharge-%s-%d-%d-%s-%d", orgID, int64(acct.TotalCredits), st.Tries, cardID, int64(acct.AutoRecharge.Amount))
}

// reasonOff is why an organisation with auto-recharge off is skipped.
const reasonOff = "auto-recharge is off"

// needed says why the account needs no recharge, or "" when it does.
func needed(acct billing.Account) string {
	switch {
	case !acct.AutoRecharge.Enabled:
		return reasonOff
	case acct.Figures().Remaining >= acct.AutoRecharge.Threshold:
		return "remaining credits are above the threshold"
	}
	return ""
}

// allowed says why no charge may be made now (the back-off, the monthly
// cap), or "" when one may. It moves st to now's calendar month (UTC).
func allowed(ar billing.AutoRechargeSettings, st *store.RechargeState, now time.Time) string {
	if now.Before(st.NextAttempt) {
		return "waiting after a failed charge until " + st.NextAttempt.UTC().Format(time.RFC3339)
	}
	if month := now.UTC().Format("2006-01"); st.Month != month {
		st.Month, st.MonthTotal = month, 0
	}
	if ar.MonthlyCap > 0 && st.MonthTotal+ar.Amount > ar.MonthlyCap {
		return "the monthly cap of " + ar.MonthlyCap.Display() + " is reached"
	}
	return ""
}

// charge pays amount with the default card, with the idempotency key
// key gives for it, and credits it.
func (e *Engine) charge(ctx context.Context, orgID string, key func(cardID string) string, amount money.Money) (Result, error) {
	cards, err := e.payments.Cards(ctx, orgID)
	if err != nil {
		return Result{}, err
	}
	var card *payments.Card
	for i := range cards {
		if cards[i].Default {
			card = &cards[i]
		}
	}
	if card == nil {
		return Result{Outcome: OutcomeFailed, Reason: "there is no default card"}, nil
	}
	pay, err := e.payments.ChargeOffSession(ctx, orgID, *card, amount, key(card.ID))
	if err != nil {
		return Result{}, err
	}
	if payments.NeedsCustomer(pay) {
		return Result{Outcome: OutcomeActionRequired, Reason: "your bank asks you to confirm this payment", Payment: pay}, nil
	}
	if pay.Status != payments.StatusSucceeded {
		reason := pay.Message
		if reason == "" {
			reason = "the card needs the customer present (" + string(pay.Status) + ")"
		}
		return Result{Outcome: OutcomeFailed, Reason: reason, Payment: pay}, nil
	}
	return Result{Outcome: OutcomeCharged, Payment: pay}, nil
}
