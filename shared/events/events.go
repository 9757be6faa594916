// Package events carries the billing section's internal events: the
// threshold crossings that usage recording detects, published to Amazon
// EventBridge in AWS and to an in-process bus locally, which delivers the
// same event JSON to the same rules.
//
// Detail types (source "billing.usage"):
//
//	spend.threshold_reached           today's usage went past the daily email notification threshold
//	spend.budget_reached              today's usage reached the daily budget: new calls are refused until 00:00 UTC
//	balance.below_recharge_threshold  Remaining Credits fell below the auto-recharge threshold
//
// Each is published at least once per organisation and UTC day (per Total
// Credits level, for the recharge one); Detail.ID is the same for every
// publication of one crossing, so consumers drop repeats by it.
package events

import (
	"time"

	"github.com/acme/billing/shared/money"
)

// Source is the EventBridge source of every billing event.
const Source = "billing.usage"

// Detail types.
const (
	TypeSpendThreshold = "spend.threshold_reached"
	TypeSpendBudget    = "spend.budget_reached"
	TypeBalanceLow     = "balance.below_recharge_threshold"
)

// Types lists every detail type, for rules and documentation.
var Types = []string{TypeSpendThreshold, TypeSpendBudget, TypeBalanceLow}

// Detail is the body ("detail") of a billing event. Amounts are decimal
// strings of USD.
type Detail struct {
	// ID identifies the crossing: <org>:<day>:<flag>. Repeats of one
	// crossing carry the same ID.
	ID    string `json:"id"`
	Type  string `json:"type"`
	OrgID string `json:"org_id"`
	// Day is the UTC day the crossing happened on.
	Day string `json:"day"`
	// Threshold is the limit crossed: the email threshold, the daily
	// budget or the recharge threshold.
	Threshold  money.Money `json:"threshold"`
	UsedToday  money.Money `json:"used_today"`
	Remaining  money.Money `json:"remaining"`
	Available  money.Money `json:"available"`
	OccurredAt time.Time   `json:"occurred_at"`
	// AmountDue and DueDate are, on a notice about unpaid invoices, what
	// they are owed and the due date of the oldest.
	AmountDue money.Money `json:"amount_due,omitempty"`
	DueDate   string      `json:"due_date,omitempty"`
}
