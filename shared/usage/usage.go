// Package usage is the metering hot path: it records the usage events the
// product's services report, answers whether an organisation may go on
// (the allowance), and publishes the threshold crossings a recording causes.
package usage

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// Publisher publishes billing events (EventBridge in AWS, the in-process
// bus locally).
type Publisher interface {
	Publish(ctx context.Context, details ...events.Detail) error
}

// Service records usage and answers allowances.
type Service struct {
	store  *store.Store
	events Publisher
	now    func() time.Time
	log    *slog.Logger
}

// NewService returns a Service.
func NewService(s *store.Store, p Publisher, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: s, events: p, now: now, log: log}
}

// Status of one event in a recording.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
	StatusError     = "error"
)

// Result is what happened to one event of a recording.
type Result struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Input is one event as the caller sent it; a parse failure of its amount
// or time is carried as a rejection.
type Input struct {
	Event  billing.UsageEvent
	Reject *billing.Rejection
}

// maxConcurrentOrgs bounds how many organisations of one recording write
// at once: a batch spread over 100 organisations takes about the time of
// 100/8 sequential transactions, without opening 100 connections.
const maxConcurrentOrgs = 8

// Recording is the outcome of Record: one result per input, in order, and
// the allowance of each organisation that had events stored or found
// duplicate, as it stands after the recording.
type Recording struct {
	Results    []Result
	Allowances map[string]Allowance
}

// Record validates and records events, and returns one result per input,
// in order. An amount above billing.MaxUsageEvent is rejected
// (invalid_amount); an event that would take Usage This Period or today's
// usage past billing.MaxUsageCounter is rejected (usage_limit) while the
// events that fit are recorded. An id repeated within the inputs counts once; later copies are
// duplicates. An error means some events could not be stored (their result
// is StatusError) and the caller should retry the request: events already
// recorded then come back as duplicates, never counted twice.
func (s *Service) Record(ctx context.Context, inputs []Input) ([]Result, error) {
	rec, err := s.RecordWithAllowances(ctx, inputs)
	return rec.Results, err
}

// RecordWithAllowances is Record, with the allowance of each organisation
// after the recording: a caller that records every call needs no separate
// allowance check. The organisations of a batch are recorded concurrently,
// at most maxConcurrentOrgs at once; the results stay in input order.
//
// DynamoDB's TransactWriteItems returns no item values, so each
// organisation's allowance comes from the one strongly consistent read that
// checks its thresholds after the write (no read is added for it). An
// organisation whose write failed, or that does not exist, has none.
func (s *Service) RecordWithAllowances(ctx context.Context, inputs []Input) (Recording, error) {
	now := s.now()
	results := make([]Result, len(inputs))
	byOrg := map[string][]int{}
	var orgs []string
	seen := map[string]bool{}
	for i, in := range inputs {
		e := in.Event
		results[i] = Result{ID: e.ID}
		rej := in.Reject
		if rej == nil {
			rej = e.Validate(now)
		}
		if rej != nil {
			results[i].Status, results[i].Reason, results[i].Message = StatusRejected, rej.Reason, rej.Message
			continue
		}
		if k := e.OrgID + "\x00" + e.ID; seen[k] {
			results[i].Status = StatusDuplicate
			continue
		} else {
			seen[k] = true
		}
		if byOrg[e.OrgID] == nil {
			orgs = append(orgs, e.OrgID)
		}
		byOrg[e.OrgID] = append(byOrg[e.OrgID], i)
	}

	rec := Recording{Results: results, Allowances: map[string]Allowance{}}
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	slots := make(chan struct{}, maxConcurrentOrgs)
	for _, org := range orgs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			a, ok, err := s.recordOrg(ctx, org, now, inputs, byOrg[org], results)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, org)
			}
			if ok {
				rec.Allowances[org] = a
			}
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		slices.Sort(failed)
		return rec, fmt.Errorf("record usage for %s failed", strings.Join(failed, ", "))
	}
	return rec, nil
}

// recordOrg records the events idx of inputs, all of org, sets their
// results, and returns the organisation's allowance after the recording
// (ok false when there is none: unknown organisation, failed write or
// read). An error means some events were not stored.
func (s *Service) recordOrg(ctx context.Context, org string, now time.Time, inputs []Input, idx []int, results []Result) (a Allowance, ok bool, err error) {
	batch := make([]billing.UsageEvent, len(idx))
	for n, i := range idx {
		batch[n] = inputs[i].Event
	}
	outcomes, err := s.store.RecordUsage(ctx, org, now, batch)
	accepted, known := 0, false
	for n, i := range idx {
		switch outcomes[n] {
		case store.UsageAccepted:
			results[i].Status = StatusAccepted
			accepted++
			known = true
		case store.UsageDuplicate:
			results[i].Status = StatusDuplicate
			known = true
		case store.UsageUnknownOrg:
			results[i].Status, results[i].Reason, results[i].Message = StatusRejected, billing.RejectUnknownOrg, "organisation "+org+" does not exist"
		case store.UsageOverLimit:
			results[i].Status, results[i].Reason, results[i].Message = StatusRejected, billing.RejectUsageLimit,
				"not recorded: it would take the organisation's usage this period or today past "+billing.MaxUsageCounter.String()+" (per usage counter shard)"
			known = true
		default:
			results[i].Status, results[i].Reason, results[i].Message = StatusError, "unavailable", "not recorded; retry the request"
		}
	}
	if err != nil {
		s.log.Error("record usage", "org", org, "error", err)
	}
	if !known || (err != nil && accepted == 0) {
		return Allowance{}, false, err
	}
	acct, serr := s.settle(ctx, org, accepted > 0)
	if serr != nil {
		// The usage is recorded; a missed crossing is found by the next
		// recording, or for the day's spend by the daily reset, and the
		// caller can ask GET /v1/allowance.
		s.log.Error("check thresholds", "org", org, "error", serr)
		return Allowance{}, false, err
	}
	if err != nil {
		return Allowance{}, false, err
	}
	return allowanceOf(acct, now), true, nil
}

// Allowance is whether an organisation may make another call.
type Allowance struct {
	Allowed   bool        `json:"allowed"`
	Available money.Money `json:"available"`
	Reason    string      `json:"reason"`
	// ResetsAt is the next UTC midnight when the daily limit blocks.
	ResetsAt *time.Time `json:"resets_at,omitempty"`
}

// Allowance answers from one strongly consistent read, so it reflects
// usage recorded a moment earlier. It returns ENOTFOUND for an unknown
// organisation.
func (s *Service) Allowance(ctx context.Context, orgID string) (Allowance, error) {
	now := s.now()
	acct, err := s.store.Account(ctx, orgID, now)
	if err != nil {
		return Allowance{}, err
	}
	return allowanceOf(acct, now), nil
}

// AllowanceEventual is Allowance from an eventually consistent read: half
// the read capacity of the organisation's partition, and it may miss usage
// recorded in about the last second (DynamoDB's replicas converge within
// it). It returns ENOTFOUND for an unknown organisation.
func (s *Service) AllowanceEventual(ctx context.Context, orgID string) (Allowance, error) {
	now := s.now()
	acct, err := s.store.AccountEventual(ctx, orgID, now)
	if err != nil {
		return Allowance{}, err
	}
	return allowanceOf(acct, now), nil
}

func allowanceOf(acct billing.Account, now time.Time) Allowance {
	f := acct.Figures()
	a := Allowance{Allowed: f.Allowed(), Available: f.Available, Reason: f.Reason}
	if t := f.ResetsAt(now); !t.IsZero() {
		a.ResetsAt = &t
	}
	return a
}

// stalePending is how long a claimed but unpublished crossing waits before
// another recording publishes it again (its publisher may have failed).
const stalePending = time.Minute

// settle reads the organisation's account and today's flags in one
// strongly consistent read and, when usage was accepted, publishes the
// crossings its state shows and no one has published today (a flag in the
// table, claimed with a conditional write, makes one recording the
// publisher of each crossing). It returns the account as read.
func (s *Service) settle(ctx context.Context, orgID string, accepted bool) (billing.Account, error) {
	now := s.now()
	acct, flags, err := s.store.UsageState(ctx, orgID, now)
	if err != nil || !accepted {
		return acct, err
	}
	return acct, s.publish(ctx, orgID, acct, flags, crossings(acct), now, now.Add(-stalePending))
}

// publish publishes each crossing of the UTC day of day whose flag is not
// sent: it claims an unflagged one first (one publisher wins), and takes
// over a pending one claimed before staleBefore (its publisher may have
// failed), then marks it sent.
func (s *Service) publish(ctx context.Context, orgID string, acct billing.Account, flags map[string]string, cs []crossing, day, staleBefore time.Time) error {
	for _, c := range cs {
		state := flags[c.flag]
		switch {
		case state == store.FlagSent:
			continue
		case state == "":
			won, err := s.store.ClaimFlag(ctx, orgID, day, c.flag)
			if err != nil {
				return err
			}
			if !won {
				continue
			}
		case !store.PendingSince(state).Before(staleBefore):
			continue // another recording is publishing it right now
		}
		f := acct.Figures()
		d := events.Detail{
			ID: orgID + ":" + billing.Day(day) + ":" + c.flag, Type: c.eventType, OrgID: orgID, Day: billing.Day(day),
			Threshold: c.threshold, UsedToday: f.UsedToday, Remaining: f.Remaining, Available: f.Available, OccurredAt: s.now().UTC(),
		}
		if err := s.events.Publish(ctx, d); err != nil {
			return fmt.Errorf("publish %s: %w", d.ID, err)
		}
		if err := s.store.MarkFlagSent(ctx, orgID, day, c.flag); err != nil {
			return err
		}
	}
	return nil
}

type crossing struct {
	flag      string
	eventType string
	threshold money.Money
}

// crossings returns the thresholds the account is past: today's usage
// above the email threshold or at the daily budget (Spend Management on),
// Remaining Credits below the auto-recharge threshold (auto-recharge on).
func crossings(a billing.Account) []crossing {
	cs := spendCrossings(a)
	if a.AutoRecharge.Enabled && a.Figures().Remaining < a.AutoRecharge.Threshold {
		cs = append(cs, crossing{store.NotifyRecharge(a.TotalCredits), events.TypeBalanceLow, a.AutoRecharge.Threshold})
	}
	return cs
}

// spendCrossings are the crossings of today's usage: past the email
// threshold, at the daily budget (Spend Management on).
func spendCrossings(a billing.Account) []crossing {
	var cs []crossing
	if a.Spend.Enabled && a.Spend.EmailThreshold > 0 && a.UsedToday > a.Spend.EmailThreshold {
		cs = append(cs, crossing{store.NotifyEmailThreshold, events.TypeSpendThreshold, a.Spend.EmailThreshold})
	}
	if a.Spend.Enabled && a.Spend.DailyBudget > 0 && a.UsedToday >= a.Spend.DailyBudget {
		cs = append(cs, crossing{store.NotifyBudget, events.TypeSpendBudget, a.Spend.DailyBudget})
	}
	return cs
}
