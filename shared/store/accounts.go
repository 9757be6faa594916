package store

import (
	"context"
	"fmt"
	"strings"
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
	items := make([]types.TransactWriteItem, len(records))
	for i, r := range records {
		put, err := s.putNew(r)
		if err != nil {
			return fmt.Errorf("create org %s: %w", n.ID, err)
		}
		items[i] = types.TransactWriteItem{Put: put}
	}
	markNew(items[0].Put.Item, n.ID)
	err := s.transact(ctx, items)
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
// strongly consistent read of its ACCOUNT item. It returns ENOTFOUND for an
// unknown organisation.
func (s *Store) Account(ctx context.Context, orgID string, now time.Time) (billing.Account, error) {
	return s.readAccount(ctx, orgID, now, true)
}

// AccountEventual is Account from an eventually consistent read: half the
// read capacity, and it may miss writes of about the last second.
func (s *Store) AccountEventual(ctx context.Context, orgID string, now time.Time) (billing.Account, error) {
	return s.readAccount(ctx, orgID, now, false)
}

func (s *Store) readAccount(ctx context.Context, orgID string, now time.Time, consistent bool) (billing.Account, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), skAccount), ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	return accountFrom(orgID, out.Item, now)
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

// accountFrom decodes an ACCOUNT item, taking today's usage from its
// used_<day> attribute.
func accountFrom(orgID string, item map[string]types.AttributeValue, now time.Time) (billing.Account, error) {
	if item == nil {
		return billing.Account{}, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	var rec accountRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	days, err := usedDays(item)
	if err != nil {
		return billing.Account{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	acct := rec.account(days[billing.Day(now)])
	acct.PastDue = acct.PastDueAt(now)
	return acct, nil
}

// usedDays returns the used_<day> attributes of an ACCOUNT item by day.
func usedDays(item map[string]types.AttributeValue) (map[string]money.Money, error) {
	days := map[string]money.Money{}
	for name, v := range item {
		day, ok := strings.CutPrefix(name, prefixUsed)
		if !ok {
			continue
		}
		var m money.Money
		if err := attributevalue.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		days[day] = m
	}
	return days, nil
}

// batchGet reads keys with strongly consistent reads in one BatchGetItem
// call, repeating it only for keys DynamoDB left unprocessed.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
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
// and to that UTC day's usage, in one update of the ACCOUNT item. It
// returns ENOTFOUND for an unknown organisation. It is not idempotent: the
// usage API records usage with per-event idempotency records instead.
func (s *Store) AddUsage(ctx context.Context, orgID string, at time.Time, amount money.Money) error {
	if amount <= 0 {
		return billing.FieldError("amount", "Usage must be more than zero.")
	}
	return s.updateAccount(ctx, orgID, "add usage", addUsage(orgID, amount, billing.Day(at)))
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

// addUsage is the update that counts usage: Usage This Period and the
// day's usage grow together, and the organisation is marked as due for
// the daily reset and the cycle close (markActive).
func addUsage(orgID string, amount money.Money, day string) expression.UpdateBuilder {
	return markActive(expression.Add(expression.Name("usage_period"), expression.Value(amount)).
		Add(expression.Name(prefixUsed+day), expression.Value(amount)), orgID, day)
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
// of the ACCOUNT item into its own DAY# item, keeping the hot item small.
// Each day moves in one transaction that checks the day's usage did not
// change meanwhile. It is safe to repeat and to run concurrently.
//
// The embedded server (minidyn v0.8.2) does not apply a top-level REMOVE,
// so there the day's attribute stays behind; readers therefore take a
// closed day from its DAY# item and ignore the attribute.
func (s *Store) CloseDays(ctx context.Context, orgID string, before time.Time) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), skAccount), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("close days %s: %w", orgID, err)
	}
	days, err := usedDays(out.Item)
	if err != nil {
		return fmt.Errorf("close days %s: %w", orgID, err)
	}
	limit := billing.Day(before)
	closed := false
	for day, used := range days {
		if day >= limit {
			continue
		}
		put, err := s.putNew(dayRecord{PK: orgPK(orgID), SK: daySK(day), OrgID: orgID, Day: day, Used: used})
		if err != nil {
			return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
		}
		attr := expression.Name(prefixUsed + day)
		e, err := expression.NewBuilder().WithUpdate(expression.Remove(attr)).
			WithCondition(attr.Equal(expression.Value(used))).Build()
		if err != nil {
			return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
		}
		err = s.transact(ctx, []types.TransactWriteItem{{Put: put}, {Update: s.update(key(orgPK(orgID), skAccount), e, true)}})
		if reasons := cancelReasons(err); conditionFailed(reasons, 0) || conditionFailed(reasons, 1) {
			continue // closed by a concurrent run, or usage still arriving: the next run takes it
		}
		if err != nil {
			return fmt.Errorf("close day %s/%s: %w", orgID, day, err)
		}
		closed = true
	}
	if closed {
		return s.refreshRecent(ctx, orgID, before)
	}
	return nil
}

// DailyUsage returns the usage of each UTC day from..to inclusive that has
// any: closed days from their DAY# items, recent days from the ACCOUNT item.
func (s *Store) DailyUsage(ctx context.Context, orgID string, from, to time.Time) (map[string]money.Money, error) {
	in, err := s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.Between(expression.Value(daySK(billing.Day(from))), expression.Value(daySK(billing.Day(to))))
	}, false)
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	days := map[string]money.Money{}
	err = each(ctx, s, in, func(r dayRecord) error {
		days[r.Day] = r.Used
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), skAccount), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	recent, err := usedDays(out.Item)
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	for day, used := range recent {
		if _, closed := days[day]; !closed && day >= billing.Day(from) && day <= billing.Day(to) {
			days[day] = used
		}
	}
	return days, nil
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
