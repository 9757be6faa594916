package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
)

// Overview is what the Billing Overview reads in one BatchGetItem.
type Overview struct {
	// Account has today's usage, and why auto-recharge turned itself off
	// if it did.
	Account billing.Account
	Profile billing.Profile
	// Days is the usage of the recent UTC days by day: the last
	// billing.ForecastDays days the daily reset closed (the RECENT item)
	// and the days not closed yet.
	Days map[string]money.Money
	// Recharge is the auto-recharge engine's state (the zero state before
	// any run).
	Recharge RechargeState
	// DefaultCard summarises the default card (from the PROFILE item).
	DefaultCard DefaultCard
}

// ReadOverview reads the organisation's account (with its counter shards),
// profile, recent days and auto-recharge state in one strongly consistent
// BatchGetItem. It returns
// ENOTFOUND for an unknown organisation.
func (s *Store) ReadOverview(ctx context.Context, orgID string, now time.Time) (Overview, error) {
	r, err := s.readAccountItems(ctx, orgID, true, key(orgPK(orgID), skProfile), key(orgPK(orgID), skRecharge), key(orgPK(orgID), skRecent))
	if err != nil {
		return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
	}
	var profile profileRecord
	var card DefaultCard
	var recharge rechargeRecord
	if it := r.item(key(orgPK(orgID), skProfile)); it != nil {
		if card, err = defaultCardOf(it); err != nil {
			return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
		}
		if err := attributevalue.UnmarshalMap(it, &profile); err != nil {
			return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
		}
	}
	if it := r.item(key(orgPK(orgID), skRecharge)); it != nil {
		if err := attributevalue.UnmarshalMap(it, &recharge); err != nil {
			return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
		}
	}
	acct, err := accountFrom(orgID, r, now)
	if err != nil {
		return Overview{}, err
	}
	acct.AutoRecharge.DisabledReason = recharge.DisabledReason
	days, err := recentDays(r.item(key(orgPK(orgID), skRecent)), r)
	if err != nil {
		return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
	}
	return Overview{Account: acct, Profile: profile.profile(), Days: days, Recharge: recharge.state(), DefaultCard: card}, nil
}
