package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NewOrg is what an organisation starts with.
type NewOrg struct {
	billing.Org
	// TrialCredits, when positive, is granted as "Free Trial Credits".
	TrialCredits money.Money
	// OverageLimit is the initial credit line.
	OverageLimit money.Money
	Profile      billing.Profile
}

// CreateOrg creates an organisation, its empty account and profile, and its
// free trial grant, in one transaction. It returns ECONFLICT when the
// organisation exists and EINVALID for a bad id, name or amount.
func (s *Store) CreateOrg(ctx context.Context, n NewOrg) error {
	if n.Created.IsZero() {
		n.Created = s.now().UTC()
	}
	if err := n.Org.Validate(); err != nil {
		return err
	}
	if n.TrialCredits < 0 || n.OverageLimit < 0 {
		return billing.FieldError("amount", "Trial credits and overage limit must not be negative.")
	}
	acct := accountRecord{
		PK: orgPK(n.ID), SK: skAccount, OrgID: n.ID, Name: n.Name, Created: n.Created,
		OverageLimit: n.OverageLimit,
	}
	var trial *txRecord
	if n.TrialCredits > 0 {
		trial = &txRecord{
			PK: orgPK(n.ID), ID: s.newID("bt", n.Created), OrgID: n.ID,
			Description: billing.DescFreeTrial, Amount: n.TrialCredits, Created: n.Created,
		}
		trial.SK = txSK(trial.ID)
		acct.Ledger, acct.TotalCredits, acct.TxCount = n.TrialCredits, n.TrialCredits, 1
	}
	records := []any{acct, newProfileRecord(n.ID, n.Profile),
		orgListRecord{PK: pkOrgs, SK: orgListSK(n.ID), OrgID: n.ID, Name: n.Name, Created: n.Created}}
	if trial != nil {
		records = append(records, *trial)
	}
	items := make([]types.TransactWriteItem, len(records), len(records)+1)
	for i, r := range records {
		put, err := s.putNew(r)
		if err != nil {
			return fmt.Errorf("create org %s: %w", n.ID, err)
		}
		items[i] = types.TransactWriteItem{Put: put}
	}
	shard, err := newCounterItem(n.ID, 0)
	if err != nil {
		return fmt.Errorf("create org %s: %w", n.ID, err)
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: shard,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	err = s.transact(ctx, items)
	if conditionFailed(cancelReasons(err), 0) {
		return billing.Errorf(billing.ECONFLICT, "Organisation %s already exists.", n.ID)
	}
	if err != nil {
		return fmt.Errorf("create org %s: %w", n.ID, err)
	}
	return nil
}

// putNew returns a Put of record that succeeds only if its item is new.
func (s *Store) putNew(record any) (*types.Put, error) {
	item, err := attributevalue.MarshalMap(record)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", record, err)
	}
	return &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}, nil
}

// Account returns the organisation's account with today's usage, in one
// strongly consistent BatchGetItem of its ACCOUNT item and counter shards.
// It returns ENOTFOUND for an unknown organisation.
func (s *Store) Account(ctx context.Context, orgID string, now time.Time) (billing.Account, error) {
	return s.readAccount(ctx, orgID, now, true)
}

// AccountEventual is Account from eventually consistent reads: half the
// read capacity, and it may miss writes of about the last second.
func (s *Store) AccountEventual(ctx context.Context, orgID string, now time.Time) (billing.Account, error) {
	return s.readAccount(ctx, orgID, now, false)
}

func (s *Store) readAccount(ctx context.Context, orgID string, now time.Time, consistent bool) (billing.Account, error) {
	r, err := s.readAccountItems(ctx, orgID, consistent)
	if err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	return accountFrom(orgID, r, now)
}

// Overview returns the account, with today's usage and why auto-recharge
// turned itself off if it did, and the profile, in one
// strongly consistent read. It returns ENOTFOUND for an unknown organisation.
func (s *Store) Overview(ctx context.Context, orgID string, now time.Time) (billing.Account, billing.Profile, error) {
	acct, profile, _, err := s.OverviewWithDays(ctx, orgID, now)
	return acct, profile, err
}

// OverviewWithDays is Overview with, in the same one read, the usage of
// the recent UTC days by day: the last billing.ForecastDays days the daily
// reset closed (the RECENT item) and the days not closed yet.
func (s *Store) OverviewWithDays(ctx context.Context, orgID string, now time.Time) (billing.Account, billing.Profile, map[string]money.Money, error) {
	o, err := s.ReadOverview(ctx, orgID, now)
	return o.Account, o.Profile, o.Days, err
}

// accountFrom decodes an ACCOUNT item and its counter shards, with the
// usage of the UTC day of now as today's.
func accountFrom(orgID string, r accountRead, now time.Time) (billing.Account, error) {
	if r.account == nil {
		return billing.Account{}, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	var rec accountRecord
	if err := attributevalue.UnmarshalMap(r.account, &rec); err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	period, err := r.period()
	if err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	days, err := r.openDays()
	if err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	acct := rec.account(period, days[billing.Day(now)])
	acct.PastDue = acct.PastDueAt(now)
	return acct, nil
}

// batchGet reads keys with strongly consistent reads in one BatchGetItem
// call, repeating it only for keys DynamoDB left unprocessed.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	return s.batchGetWith(ctx, keys, true)
}

// batchGetWith is batchGet with strongly consistent reads or not.
func (s *Store) batchGetWith(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 8 {
			return nil, fmt.Errorf("batch get: keys still unprocessed after %d attempts", attempt)
		}
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt*attempt)*20*time.Millisecond); err != nil {
				return nil, err
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, err
		}
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// AddUsage adds amount of usage, recorded at time at, to Usage This Period
// and to that UTC day's usage, in one update of the organisation's first
// counter shard. It returns ENOTFOUND for an unknown organisation and
// EINVALID when a counter would pass billing.MaxUsageCounter. It is not
// idempotent: the usage API records usage with per-event idempotency
// records instead.
func (s *Store) AddUsage(ctx context.Context, orgID string, at time.Time, amount money.Money) error {
	if amount <= 0 || amount > billing.MaxUsageCounter {
		return billing.FieldError("amount", "Usage must be more than zero and at most %s.", billing.MaxUsageCounter)
	}
	day := billing.Day(at)
	late := false
	for attempt := 0; attempt < 3; attempt++ {
		items, err := s.countUsage(orgID, 0, day, amount, late, s.now())
		if err != nil {
			return fmt.Errorf("add usage %s: %w", orgID, err)
		}
		if late {
			err = s.transact(ctx, items)
			if conditionFailed(cancelReasons(err), 0) {
				err = &types.ConditionalCheckFailedException{}
			}
		} else {
			err = s.updateItem(ctx, items[0].Update)
		}
		if err == nil && late {
			err = s.refreshRecent(ctx, orgID, s.now())
		}
		if !isConditionFailed(err) {
			if err != nil {
				return fmt.Errorf("add usage %s: %w", orgID, err)
			}
			return nil
		}
		why, _, err := s.whyRefused(ctx, orgID, 0, day, late)
		switch {
		case err != nil:
			return fmt.Errorf("add usage %s: %w", orgID, err)
		case why == refusedUnknownOrg:
			return billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
		case why == refusedOverLimit:
			return billing.FieldError("amount", "That usage would take a counter past %s.", billing.MaxUsageCounter)
		case why == refusedLate:
			late = true
		}
	}
	return fmt.Errorf("add usage %s: the day's slot kept changing", orgID)
}

// updateAccount applies upd to the organisation's ACCOUNT item; ENOTFOUND
// for an unknown organisation; other errors get the context what.
func (s *Store) updateAccount(ctx context.Context, orgID, what string, upd expression.UpdateBuilder) error {
	e, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, orgID, err)
	}
	err = s.updateItem(ctx, s.update(key(orgPK(orgID), skAccount), e, true))
	if isConditionFailed(err) {
		return billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, orgID, err)
	}
	return nil
}

// updateItem runs one Update action on its own, again when a transaction
// in flight on the item refused it (retryConflicts).
func (s *Store) updateItem(ctx context.Context, u *types.Update) error {
	in := &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	}
	return retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, in)
		return err
	}, isWriteConflict)
}

// update returns an Update action for a built expression.
func (s *Store) update(k map[string]types.AttributeValue, e expression.Expression, withCondition bool) *types.Update {
	u := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          e.Update(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}
	if withCondition {
		u.ConditionExpression = e.Condition()
	}
	return u
}

// CloseDays moves the usage of every UTC day before the day of before out
// of the counter shards' day slots into the day's DAY# item (closeDay), so
// a slot is free for the day after tomorrow and the day's usage is read
// from one item. It is safe to repeat and to run concurrently; a day whose
// usage is still arriving is left for the next run.
func (s *Store) CloseDays(ctx context.Context, orgID string, before time.Time) error {
	r, err := s.readAccountItems(ctx, orgID, true)
	if err != nil {
		return fmt.Errorf("close days %s: %w", orgID, err)
	}
	days, err := r.openDays()
	if err != nil {
		return fmt.Errorf("close days %s: %w", orgID, err)
	}
	limit := billing.Day(before)
	found := false
	for day := range days {
		if day >= limit {
			continue
		}
		// Closed here, by a concurrent run, or by this very request
		// whose answer was lost (its retry then finds the slots
		// changed): RECENT is refreshed in every case.
		found = true
		err := s.closeDayFrom(ctx, orgID, day, r)
		if errors.Is(err, errDayRaced) {
			continue // usage still arriving, or a concurrent close: the next run takes what is left
		}
		if err != nil {
			return err
		}
	}
	if found {
		return s.refreshRecent(ctx, orgID, before)
	}
	return nil
}

// DailyUsage returns the usage of each UTC day from..to inclusive that has
// any: closed days from their DAY# items, open ones from the counter
// shards.
func (s *Store) DailyUsage(ctx context.Context, orgID string, from, to time.Time) (map[string]money.Money, error) {
	days, err := s.closedDays(ctx, orgID, from, to)
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	r, err := s.readAccountItems(ctx, orgID, true)
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	open, err := r.openDays()
	if err == nil {
		err = addDays(days, inRange(open, from, to))
	}
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	return days, nil
}

// closedDays reads the DAY# items of the days from..to inclusive.
func (s *Store) closedDays(ctx context.Context, orgID string, from, to time.Time) (map[string]money.Money, error) {
	in, err := s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.Between(expression.Value(daySK(billing.Day(from))), expression.Value(daySK(billing.Day(to))))
	}, false)
	if err != nil {
		return nil, err
	}
	days := map[string]money.Money{}
	err = each(ctx, s, in, func(r dayRecord) error {
		days[r.Day] = r.Used
		return nil
	})
	return days, err
}

// inRange is the days of days from..to inclusive.
func inRange(days map[string]money.Money, from, to time.Time) map[string]money.Money {
	out := map[string]money.Money{}
	for d, u := range days {
		if d >= billing.Day(from) && d <= billing.Day(to) {
			out[d] = u
		}
	}
	return out
}

// SetSpendSettings saves the Spend Management settings. It returns
// ENOTFOUND for an unknown organisation and EINVALID for negative amounts.
func (s *Store) SetSpendSettings(ctx context.Context, orgID string, sp billing.SpendSettings) error {
	if sp.DailyBudget < 0 || sp.EmailThreshold < 0 {
		return billing.FieldError("daily_budget", "Amounts must not be negative.")
	}
	return s.updateAccount(ctx, orgID, "set spend settings", expression.
		Set(expression.Name("spend_enabled"), expression.Value(sp.Enabled)).
		Set(expression.Name("daily_budget"), expression.Value(sp.DailyBudget)).
		Set(expression.Name("email_threshold"), expression.Value(sp.EmailThreshold)))
}

// SetOverageLimit sets the organisation's credit line (Overage
// Protection). It returns EINVALID for a negative limit and ENOTFOUND for
// an unknown organisation.
func (s *Store) SetOverageLimit(ctx context.Context, orgID string, limit money.Money) error {
	if limit < 0 {
		return billing.FieldError("overage_limit", "Overage limit must not be negative.")
	}
	return s.updateAccount(ctx, orgID, "set overage limit", expression.Set(expression.Name("overage_limit"), expression.Value(limit)))
}

// EachOrg calls fn with every organisation, in id order, reading the list
// in pages; it stops at fn's first error and returns it.
func (s *Store) EachOrg(ctx context.Context, fn func(billing.Org) error) error {
	in, err := s.query(pkOrgs, nil, false)
	if err != nil {
		return fmt.Errorf("list orgs: %w", err)
	}
	return each(ctx, s, in, func(r orgListRecord) error {
		return fn(billing.Org{ID: r.OrgID, Name: r.Name, Created: r.Created})
	})
}
