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
	items := make([]types.TransactWriteItem, len(records))
	for i, r := range records {
		put, err := s.putNew(r)
		if err != nil {
			return fmt.Errorf("create org %s: %w", n.ID, err)
		}
		items[i] = types.TransactWriteItem{Put: put}
	}
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
// strongly consistent read. It returns ENOTFOUND for an unknown organisation.
func (s *Store) Account(ctx context.Context, orgID string, now time.Time) (billing.Account, error) {
	acct, _, err := s.readAccount(ctx, orgID, now, false)
	return acct, err
}

// Overview returns the account, with today's usage, and the profile, in one
// strongly consistent read. It returns ENOTFOUND for an unknown organisation.
func (s *Store) Overview(ctx context.Context, orgID string, now time.Time) (billing.Account, billing.Profile, error) {
	return s.readAccount(ctx, orgID, now, true)
}

func (s *Store) readAccount(ctx context.Context, orgID string, now time.Time, withProfile bool) (billing.Account, billing.Profile, error) {
	keys := []map[string]types.AttributeValue{key(orgPK(orgID), skAccount), key(orgPK(orgID), daySK(billing.Day(now)))}
	if withProfile {
		keys = append(keys, key(orgPK(orgID), skProfile))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return billing.Account{}, billing.Profile{}, fmt.Errorf("read account %s: %w", orgID, err)
	}
	var (
		acct    accountRecord
		day     dayRecord
		profile profileRecord
		found   bool
	)
	for _, it := range items {
		var target any
		switch sk := it[AttrSK].(*types.AttributeValueMemberS).Value; {
		case sk == skAccount:
			target, found = &acct, true
		case sk == skProfile:
			target = &profile
		default:
			target = &day
		}
		if err := attributevalue.UnmarshalMap(it, target); err != nil {
			return billing.Account{}, billing.Profile{}, fmt.Errorf("read account %s: %w", orgID, err)
		}
	}
	if !found {
		return billing.Account{}, billing.Profile{}, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	return acct.account(day.Used), profile.profile(), nil
}

// batchGet reads keys with strongly consistent reads in one BatchGetItem
// call, repeating it only for keys DynamoDB left unprocessed.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, time.Duration(attempt*attempt)*20*time.Millisecond); err != nil {
				return nil, err
			}
		}
		if attempt > 8 {
			return nil, fmt.Errorf("batch get: keys still unprocessed after %d attempts", attempt)
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

// AddUsage adds amount of usage recorded at time at to Usage This Period and
// to that UTC day's usage, in one transaction. It returns ENOTFOUND for an
// unknown organisation. It is not idempotent: the usage API wraps it with
// per-event idempotency records.
func (s *Store) AddUsage(ctx context.Context, orgID string, at time.Time, amount money.Money) error {
	if amount <= 0 {
		return billing.FieldError("amount", "Usage must be more than zero.")
	}
	acctUpd, err := expression.NewBuilder().
		WithUpdate(expression.Add(expression.Name("usage_period"), expression.Value(amount))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return fmt.Errorf("add usage %s: %w", orgID, err)
	}
	day := billing.Day(at)
	dayUpd, err := expression.NewBuilder().WithUpdate(expression.
		Add(expression.Name("used"), expression.Value(amount)).
		Set(expression.Name("org_id"), expression.Value(orgID)).
		Set(expression.Name("day"), expression.Value(day))).Build()
	if err != nil {
		return fmt.Errorf("add usage %s: %w", orgID, err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: s.update(key(orgPK(orgID), skAccount), acctUpd, true)},
		{Update: s.update(key(orgPK(orgID), daySK(day)), dayUpd, false)},
	})
	if conditionFailed(cancelReasons(err), 0) {
		return billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	if err != nil {
		return fmt.Errorf("add usage %s: %w", orgID, err)
	}
	return nil
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

// DailyUsage returns the usage of each UTC day from..to inclusive that has
// any, oldest first, in one query.
func (s *Store) DailyUsage(ctx context.Context, orgID string, from, to time.Time) (map[string]money.Money, error) {
	kc := expression.Key(AttrPK).Equal(expression.Value(orgPK(orgID))).
		And(expression.Key(AttrSK).Between(expression.Value(daySK(billing.Day(from))), expression.Value(daySK(billing.Day(to)))))
	e, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: e.KeyCondition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	days := map[string]money.Money{}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
		}
		var recs []dayRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &recs); err != nil {
			return nil, fmt.Errorf("daily usage %s: %w", orgID, err)
		}
		for _, r := range recs {
			days[r.Day] = r.Used
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
	e, err := expression.NewBuilder().WithUpdate(expression.
		Set(expression.Name("spend_enabled"), expression.Value(sp.Enabled)).
		Set(expression.Name("daily_budget"), expression.Value(sp.DailyBudget)).
		Set(expression.Name("email_threshold"), expression.Value(sp.EmailThreshold))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return fmt.Errorf("set spend settings %s: %w", orgID, err)
	}
	u := s.update(key(orgPK(orgID), skAccount), e, true)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	if err != nil {
		return fmt.Errorf("set spend settings %s: %w", orgID, err)
	}
	return nil
}
