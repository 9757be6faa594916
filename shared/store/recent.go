package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
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

const skRecent = "RECENT"

// RecentDays is how many closed days the RECENT item holds: the Spend
// Management chart's 30 (and the forecast's billing.ForecastDays). At most
// 30 entries of about 25 bytes keep the item under 1 KB.
const RecentDays = 30

// refreshRecent rewrites the RECENT item from the DAY# items of the
// RecentDays days before the day of before: a bounded query and one put,
// safe to repeat and to run concurrently (each write is the same function
// of the closed days).
func (s *Store) refreshRecent(ctx context.Context, orgID string, before time.Time) error {
	from, to := before.AddDate(0, 0, -RecentDays), before.AddDate(0, 0, -1)
	in, err := s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.Between(expression.Value(daySK(billing.Day(from))), expression.Value(daySK(billing.Day(to))))
	}, false)
	if err != nil {
		return fmt.Errorf("recent days %s: %w", orgID, err)
	}
	rec := recentRecord{PK: orgPK(orgID), SK: skRecent, Days: map[string]money.Money{}, Window: RecentDays}
	err = each(ctx, s, in, func(r dayRecord) error {
		rec.Days[r.Day] = r.Used
		return nil
	})
	if err != nil {
		return fmt.Errorf("recent days %s: %w", orgID, err)
	}
	if err := s.Items().Put(ctx, rec, false); err != nil {
		return fmt.Errorf("recent days %s: %w", orgID, err)
	}
	return nil
}

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
