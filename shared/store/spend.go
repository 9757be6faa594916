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

// SpendView returns what the Spend Management page shows from the store:
// the account, the webhook endpoint and the usage of each UTC day from..now
// that has any (closed days from the RECENT item, open ones from the
// account item), in one BatchGetItem. from must be at most RecentDays
// before now. Only for an organisation whose RECENT item is missing or
// older than its RecentDays window does it query the DAY# items too. It
// returns ENOTFOUND for an unknown organisation.
func (s *Store) SpendView(ctx context.Context, orgID string, from, now time.Time) (billing.Account, map[string]money.Money, WebhookEndpoint, error) {
	fail := func(err error) (billing.Account, map[string]money.Money, WebhookEndpoint, error) {
		return billing.Account{}, nil, WebhookEndpoint{}, fmt.Errorf("spend view %s: %w", orgID, err)
	}
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{key(orgPK(orgID), skAccount), key(orgPK(orgID), skWebhook), key(orgPK(orgID), skRecent)})
	if err != nil {
		return fail(err)
	}
	var acctItem, recentItem map[string]types.AttributeValue
	var hook webhookRecord
	for _, it := range items {
		sk, _ := it[AttrSK].(*types.AttributeValueMemberS)
		switch {
		case sk != nil && sk.Value == skWebhook:
			if err := attributevalue.UnmarshalMap(it, &hook); err != nil {
				return fail(err)
			}
		case sk != nil && sk.Value == skRecent:
			recentItem = it
		default:
			acctItem = it
		}
	}
	acct, err := accountFrom(orgID, acctItem, now)
	if err != nil {
		return billing.Account{}, nil, WebhookEndpoint{}, err
	}
	var recent recentRecord
	if recentItem != nil {
		if err := attributevalue.UnmarshalMap(recentItem, &recent); err != nil {
			return fail(err)
		}
	}
	if recent.Window >= RecentDays && !from.Before(now.AddDate(0, 0, -RecentDays)) {
		all, err := recentDays(recentItem, acctItem)
		if err != nil {
			return fail(err)
		}
		days := map[string]money.Money{}
		for day, used := range all {
			if day >= billing.Day(from) && day <= billing.Day(now) {
				days[day] = used
			}
		}
		return acct, days, hook.endpoint(), nil
	}
	in, err := s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.Between(expression.Value(daySK(billing.Day(from))), expression.Value(daySK(billing.Day(now))))
	}, false)
	if err != nil {
		return fail(err)
	}
	days := map[string]money.Money{}
	if err := each(ctx, s, in, func(r dayRecord) error {
		days[r.Day] = r.Used
		return nil
	}); err != nil {
		return fail(err)
	}
	open, err := usedDays(acctItem)
	if err != nil {
		return fail(err)
	}
	for day, used := range open {
		if _, closed := days[day]; !closed && day >= billing.Day(from) && day <= billing.Day(now) {
			days[day] = used
		}
	}
	return acct, days, hook.endpoint(), nil
}
