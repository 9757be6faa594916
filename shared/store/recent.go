package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// recentRecord holds the usage of the last RecentDays closed UTC days, so
// that the Overview (its forecast) and Spend Management (its chart) read
// them in their one BatchGetItem instead of a query. CloseDays rewrites it
// whenever it closes a day. Window is the number of days it covers (older
// items covered fewer; such an item is not enough for the chart).
type recentRecord struct {
	PK     string                 `dynamodbav:"PK"`
	SK     string                 `dynamodbav:"SK"` // RECENT
	Days   map[string]money.Money `dynamodbav:"days"`
	Window int                    `dynamodbav:"window"`
}

// skRecentRev is the item that counts the changes of closed days, rev:
// every write that closes a day or adds to a closed one adds 1 in its
// transaction (recentChanged), and a rewrite of RECENT lands only if rev
// is still what it read before querying the days. It is an item of its
// own, not an attribute of RECENT: the embedded server (minidyn v0.8.2)
// gave RECENT's days map back as a string once RECENT was also updated in
// transactions.
const skRecentRev = "RECENT#REV"

// recentChanged is the action, in a transaction that closes a day or adds
// to a closed one, that tells refreshes of RECENT under way to start again.
func (s *Store) recentChanged(orgID string) (types.TransactWriteItem, error) {
	e, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("rev"), expression.Value(1))).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: s.update(key(orgPK(orgID), skRecentRev), e, false)}, nil
}

const skRecent = "RECENT"

// RecentDays is how many closed days the RECENT item holds: the Spend
// Management chart's 30 (and the forecast's billing.ForecastDays). At most
// 30 entries of about 25 bytes keep the item under 1 KB.
const RecentDays = 30

// refreshRecent rewrites the RECENT item from the DAY# items of the
// RecentDays days before the day of before: a read of its revision, a
// bounded query and a put conditioned on the revision, so that a refresh
// that queried before another close changed a day does not overwrite the
// refresh after it (it starts again). Safe to repeat and to run
// concurrently.
func (s *Store) refreshRecent(ctx context.Context, orgID string, before time.Time) error {
	for attempt := 0; ; attempt++ {
		err := s.refreshRecentOnce(ctx, orgID, before)
		if !errors.Is(err, errRecentRaced) || attempt == 8 {
			if err != nil {
				return fmt.Errorf("recent days %s: %w", orgID, err)
			}
			return nil
		}
		if err := sleep(ctx, rand.N(conflictBackoffCap)); err != nil {
			return err
		}
	}
}

func (s *Store) refreshRecentOnce(ctx context.Context, orgID string, before time.Time) error {
	var cur struct {
		Rev int64 `dynamodbav:"rev"`
	}
	err := s.Items().Get(ctx, orgPK(orgID), skRecentRev, &cur)
	exists := err == nil
	if err != nil && billing.ErrorCode(err) != billing.ENOTFOUND {
		return err
	}
	from, to := before.AddDate(0, 0, -RecentDays), before.AddDate(0, 0, -1)
	in, err := s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.Between(expression.Value(daySK(billing.Day(from))), expression.Value(daySK(billing.Day(to))))
	}, false)
	if err != nil {
		return err
	}
	rec := recentRecord{PK: orgPK(orgID), SK: skRecent, Days: map[string]money.Money{}, Window: RecentDays}
	err = each(ctx, s, in, func(r dayRecord) error {
		rec.Days[r.Day] = r.Used
		return nil
	})
	if err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return err
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK))
	if exists {
		cond = expression.Name("rev").Equal(expression.Value(cur.Rev))
	}
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(s.table), Key: key(orgPK(orgID), skRecentRev),
			ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: item}},
	})
	if conditionFailed(cancelReasons(err), 0) {
		return errRecentRaced
	}
	return err
}

// errRecentRaced: a day closed or changed while RECENT was rewritten.
var errRecentRaced = errors.New("a closed day changed while RECENT was rewritten")

// recentDays merges the closed days of a RECENT item with the days still in
// the counter shards' slots, by day.
func recentDays(recent map[string]types.AttributeValue, r accountRead) (map[string]money.Money, error) {
	days := map[string]money.Money{}
	if recent != nil {
		var rec recentRecord
		if err := attributevalue.UnmarshalMap(recent, &rec); err != nil {
			return nil, err
		}
		for d, u := range rec.Days {
			days[d] = u
		}
	}
	open, err := r.openDays()
	if err != nil {
		return nil, err
	}
	return days, addDays(days, open)
}
