package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// ReadOverview reads the organisation's account, profile, recent days and
// auto-recharge state in one strongly consistent BatchGetItem. It returns
// ENOTFOUND for an unknown organisation.
func (s *Store) ReadOverview(ctx context.Context, orgID string, now time.Time) (Overview, error) {
	items, err := s.batchGet(ctx, []map[string]types.AttributeValue{
		key(orgPK(orgID), skAccount), key(orgPK(orgID), skProfile), key(orgPK(orgID), skRecharge), key(orgPK(orgID), skRecent)})
	if err != nil {
		return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
	}
	var acctItem, recentItem map[string]types.AttributeValue
	var profile profileRecord
	var card DefaultCard
	var recharge rechargeRecord
	for _, it := range items {
		var target any
		switch sk, _ := it[AttrSK].(*types.AttributeValueMemberS); {
		case sk != nil && sk.Value == skProfile:
			target = &profile
			if card, err = defaultCardOf(it); err != nil {
				return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
			}
		case sk != nil && sk.Value == skRecharge:
			target = &recharge
		case sk != nil && sk.Value == skRecent:
			recentItem = it
			continue
		default:
			acctItem = it
			continue
		}
		if err := attributevalue.UnmarshalMap(it, target); err != nil {
			return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
		}
	}
	acct, err := accountFrom(orgID, acctItem, now)
	if err != nil {
		return Overview{}, err
	}
	acct.AutoRecharge.DisabledReason = recharge.DisabledReason
	days, err := recentDays(recentItem, acctItem)
	if err != nil {
		return Overview{}, fmt.Errorf("read overview %s: %w", orgID, err)
	}
	return Overview{Account: acct, Profile: profile.profile(), Days: days, Recharge: recharge.state(), DefaultCard: card}, nil
}
