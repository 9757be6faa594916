package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// SetAutoRecharge saves the Auto Recharge settings; turning it on clears
// the reason it was turned off and the failure count. It returns EINVALID
// for bad settings and ENOTFOUND for an unknown organisation.
func (s *Store) SetAutoRecharge(ctx context.Context, orgID string, a billing.AutoRechargeSettings) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Enabled {
		// On the sweep's list first: a failure after this leaves an
		// organisation listed with auto-recharge off, which the sweep
		// drops, never one on and unlisted.
		if err := s.AddRechargeDue(ctx, orgID); err != nil {
			return err
		}
	}
	upd := expression.Set(expression.Name("recharge_enabled"), expression.Value(a.Enabled))
	if a.Enabled {
		upd = upd.Set(expression.Name("recharge_threshold"), expression.Value(a.Threshold)).
			Set(expression.Name("recharge_amount"), expression.Value(a.Amount)).
			Set(expression.Name("recharge_cap"), expression.Value(a.MonthlyCap))
	}
	if err := s.updateAccount(ctx, orgID, "set auto-recharge", upd); err != nil {
		return err
	}
	if a.Enabled {
		st, err := s.RechargeState(ctx, orgID)
		if err != nil {
			return err
		}
		st.Failures, st.DisabledReason, st.NextAttempt = 0, "", time.Time{}
		return s.putRechargeState(ctx, orgID, st)
	}
	return nil
}

// RechargeState is what the auto-recharge engine remembers between runs.
type RechargeState struct {
	// Failures counts consecutive failed charges.
	Failures int
	// NextAttempt is when a charge may be tried again after a failure.
	NextAttempt time.Time
	// DisabledReason says why auto-recharge turned itself off.
	DisabledReason string
	// Month (e.g. "2026-11") and MonthTotal: what was charged this month.
	Month      string
	MonthTotal money.Money
	// PendingPayment is an off-session charge the customer's bank wants
	// confirmed (authentication_required): no charge is tried off-session
	// while it waits for the customer; PendingSince is when it started.
	PendingPayment string
	PendingSince   time.Time
	// Tries counts the charges that did not succeed, ever: it never goes
	// back, so each retry gets an idempotency key of its own.
	Tries int
}

type rechargeRecord struct {
	PK             string      `dynamodbav:"PK"` // ORG#<org>
	SK             string      `dynamodbav:"SK"` // RECHARGE
	Failures       int         `dynamodbav:"failures"`
	NextAttempt    time.Time   `dynamodbav:"next_attempt"`
	DisabledReason string      `dynamodbav:"disabled_reason"`
	Month          string      `dynamodbav:"month"`
	MonthTotal     money.Money `dynamodbav:"month_total"`
	PendingPayment string      `dynamodbav:"pending_payment"`
	PendingSince   time.Time   `dynamodbav:"pending_since"`
	Tries          int         `dynamodbav:"tries"`
	LockUntil      int64       `dynamodbav:"lock_until"`
	LockID         string      `dynamodbav:"lock_id"`
}

const skRecharge = "RECHARGE"

// RechargeState returns the engine's state; the zero state before any run.
func (s *Store) RechargeState(ctx context.Context, orgID string) (RechargeState, error) {
	var r rechargeRecord
	err := s.Items().Get(ctx, orgPK(orgID), skRecharge, &r)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return RechargeState{}, nil
	}
	if err != nil {
		return RechargeState{}, fmt.Errorf("recharge state %s: %w", orgID, err)
	}
	return r.state(), nil
}

// state is the engine's state the record holds (its lock left out).
func (r rechargeRecord) state() RechargeState {
	return RechargeState{Failures: r.Failures, NextAttempt: r.NextAttempt, DisabledReason: r.DisabledReason, Month: r.Month, MonthTotal: r.MonthTotal,
		PendingPayment: r.PendingPayment, PendingSince: r.PendingSince, Tries: r.Tries}
}

// putRechargeState writes the state fields, leaving the lock alone.
func (s *Store) putRechargeState(ctx context.Context, orgID string, st RechargeState) error {
	e, err := expression.NewBuilder().WithUpdate(expression.
		Set(expression.Name("failures"), expression.Value(st.Failures)).
		Set(expression.Name("next_attempt"), expression.Value(st.NextAttempt.UTC())).
		Set(expression.Name("disabled_reason"), expression.Value(st.DisabledReason)).
		Set(expression.Name("month"), expression.Value(st.Month)).
		Set(expression.Name("month_total"), expression.Value(st.MonthTotal)).
		Set(expression.Name("pending_payment"), expression.Value(st.PendingPayment)).
		Set(expression.Name("pending_since"), expression.Value(st.PendingSince.UTC())).
		Set(expression.Name("tries"), expression.Value(st.Tries))).Build()
	if err != nil {
		return fmt.Errorf("recharge state %s: %w", orgID, err)
	}
	if err := s.updateItem(ctx, s.update(key(orgPK(orgID), skRecharge), e, false)); err != nil {
		return fmt.Errorf("recharge state %s: %w", orgID, err)
	}
	return nil
}

// LockRecharge takes the organisation's auto-recharge lock for lockID
// until until, unless another holder's lock is still valid at now: at most
// one charge is in flight per organisation. It reports whether it took it.
// A lock whose holder died expires by itself.
func (s *Store) LockRecharge(ctx context.Context, orgID, lockID string, now, until time.Time) (bool, error) {
	free := expression.Or(expression.AttributeNotExists(expression.Name("lock_until")),
		expression.Name("lock_until").LessThan(expression.Value(now.Unix())))
	e, err := expression.NewBuilder().WithUpdate(expression.
		Set(expression.Name("lock_until"), expression.Value(until.Unix())).
		Set(expression.Name("lock_id"), expression.Value(lockID))).WithCondition(free).Build()
	if err != nil {
		return false, fmt.Errorf("lock recharge %s: %w", orgID, err)
	}
	err = s.updateItem(ctx, s.update(key(orgPK(orgID), skRecharge), e, true))
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock recharge %s: %w", orgID, err)
	}
	return true, nil
}

// FinishRecharge saves the state after an attempt and releases lockID's
// lock; when disable is set it also turns auto-recharge off.
func (s *Store) FinishRecharge(ctx context.Context, orgID, lockID string, st RechargeState, disable bool) error {
	if disable {
		e, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("recharge_enabled"), expression.Value(false))).Build()
		if err != nil {
			return fmt.Errorf("disable recharge %s: %w", orgID, err)
		}
		if err := s.updateItem(ctx, s.update(key(orgPK(orgID), skAccount), e, false)); err != nil {
			return fmt.Errorf("disable recharge %s: %w", orgID, err)
		}
	}
	if err := s.putRechargeState(ctx, orgID, st); err != nil {
		return err
	}
	e, err := expression.NewBuilder().WithUpdate(expression.Remove(expression.Name("lock_id")).
		Set(expression.Name("lock_until"), expression.Value(0))).
		WithCondition(expression.Name("lock_id").Equal(expression.Value(lockID))).Build()
	if err != nil {
		return fmt.Errorf("unlock recharge %s: %w", orgID, err)
	}
	err = s.updateItem(ctx, s.update(key(orgPK(orgID), skRecharge), e, true))
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("unlock recharge %s: %w", orgID, err)
	}
	return nil
}

// RechargeAttempt is one auto-recharge attempt, for the page's list.
type RechargeAttempt struct {
	ID        string
	Created   time.Time
	Amount    money.Money
	Status    string // succeeded, failed, skipped
	PaymentID string
	Message   string
}

type attemptRecord struct {
	PK        string      `dynamodbav:"PK"` // ORG#<org>
	SK        string      `dynamodbav:"SK"` // RATTEMPT#<id>
	ID        string      `dynamodbav:"id"`
	Created   time.Time   `dynamodbav:"created"`
	Amount    money.Money `dynamodbav:"amount"`
	Status    string      `dynamodbav:"status"`
	PaymentID string      `dynamodbav:"payment_id"`
	Message   string      `dynamodbav:"message"`
}

// NewAttemptID returns a new, time-ordered attempt id.
func (s *Store) NewAttemptID() string { return s.newID("ra", s.now()) }

// AddRechargeAttempt records an attempt.
func (s *Store) AddRechargeAttempt(ctx context.Context, orgID string, a RechargeAttempt) error {
	rec := attemptRecord{PK: orgPK(orgID), SK: "RATTEMPT#" + a.ID, ID: a.ID, Created: a.Created.UTC(), Amount: a.Amount,
		Status: a.Status, PaymentID: a.PaymentID, Message: a.Message}
	if err := s.Items().Put(ctx, rec, false); err != nil {
		return fmt.Errorf("record recharge attempt %s: %w", orgID, err)
	}
	return nil
}

// RechargeAttempts returns the last n attempts, newest first.
func (s *Store) RechargeAttempts(ctx context.Context, orgID string, n int) ([]RechargeAttempt, error) {
	in, err := s.query(orgPK(orgID), beginsWith("RATTEMPT#"), true)
	if err != nil {
		return nil, fmt.Errorf("recharge attempts %s: %w", orgID, err)
	}
	in.Limit = aws.Int32(int32(n))
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("recharge attempts %s: %w", orgID, err)
	}
	var recs []attemptRecord
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
		return nil, fmt.Errorf("recharge attempts %s: %w", orgID, err)
	}
	attempts := make([]RechargeAttempt, len(recs))
	for i, r := range recs {
		attempts[i] = RechargeAttempt{ID: r.ID, Created: r.Created, Amount: r.Amount, Status: r.Status, PaymentID: r.PaymentID, Message: r.Message}
	}
	return attempts, nil
}
