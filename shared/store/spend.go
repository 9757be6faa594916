package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// SpendView returns what the Spend Management page shows from the store:
// the account, the webhook endpoint and the usage of each UTC day from..now
// that has any (closed days from the RECENT item, open ones from the
// counter shards), in one BatchGetItem. from must be at most RecentDays
// before now. Only for an organisation whose RECENT item is missing or
// older than its RecentDays window does it query the DAY# items too. It
// returns ENOTFOUND for an unknown organisation.
func (s *Store) SpendView(ctx context.Context, orgID string, from, now time.Time) (billing.Account, map[string]money.Money, WebhookEndpoint, error) {
	fail := func(err error) (billing.Account, map[string]money.Money, WebhookEndpoint, error) {
		return billing.Account{}, nil, WebhookEndpoint{}, fmt.Errorf("spend view %s: %w", orgID, err)
	}
	r, err := s.readAccountItems(ctx, orgID, true, key(orgPK(orgID), skWebhook), key(orgPK(orgID), skRecent))
	if err != nil {
		return fail(err)
	}
	var hook webhookRecord
	if it := r.item(key(orgPK(orgID), skWebhook)); it != nil {
		if err := attributevalue.UnmarshalMap(it, &hook); err != nil {
			return fail(err)
		}
	}
	acct, err := accountFrom(orgID, r, now)
	if err != nil {
		return billing.Account{}, nil, WebhookEndpoint{}, err
	}
	recentItem := r.item(key(orgPK(orgID), skRecent))
	var recent recentRecord
	if recentItem != nil {
		if err := attributevalue.UnmarshalMap(recentItem, &recent); err != nil {
			return fail(err)
		}
	}
	if recent.Window >= RecentDays && !from.Before(now.AddDate(0, 0, -RecentDays)) {
		all, err := recentDays(recentItem, r)
		if err != nil {
			return fail(err)
		}
		return acct, inRange(all, from, now), hook.endpoint(), nil
	}
	days, err := s.closedDays(ctx, orgID, from, now)
	if err != nil {
		return fail(err)
	}
	open, err := r.openDays()
	if err == nil {
		err = addDays(days, inRange(open, from, now))
	}
	if err != nil {
		return fail(err)
	}
	return acct, days, hook.endpoint(), nil
}
