package billing

import (
	"time"
	"unicode/utf8"

	"github.com/acme/billing/shared/money"
)

// Limits of the usage API.
const (
	// MaxUsageEvents is how many events one request may carry.
	MaxUsageEvents = 100
	// MaxUsageIDChars, MaxUsageOrgIDChars and MaxUsageDescriptionChars are
	// the longest id, org_id and description of an event, in characters.
	MaxUsageIDChars          = 128
	MaxUsageOrgIDChars       = 63
	MaxUsageDescriptionChars = 200
	// UsageRetention is how long an event id counts once, and how far back
	// an event's time may be.
	UsageRetention = 35 * 24 * time.Hour
	// UsageFutureSkew is how far ahead of our clock an event's time may be.
	UsageFutureSkew = 5 * time.Minute
)

// Maxima of usage amounts (invariant 9 of DESIGN.md).
const (
	// MaxUsageEvent is the largest amount one usage event may carry:
	// $10,000. Real events (an API call, a connection) cost fractions of a
	// cent to a few dollars, so this leaves room for any bulk event while
	// a full batch (100 events) adds at most $1,000,000. Larger events are
	// rejected with RejectInvalidAmount.
	MaxUsageEvent = 10_000 * money.Dollar
	// MaxUsageCounter is the most any usage counter may hold: a counter
	// shard's Usage This Period and its UTC day's usage: $1,000,000,000
	// (10^15 micro-dollars), below 2^53, so even a reader that holds
	// numbers as float64 reads a counter exactly. Every write that adds
	// usage is conditioned on it in DynamoDB; an event that would cross it
	// is rejected with RejectUsageLimit and what is recorded stays. An
	// organisation has one shard unless an operator gives it more (at most
	// 16, store.MaxCounterShards), so its Usage This Period, a day's usage
	// and the DAY# snapshot are at most 16 times this: 1.6 × 10^16, about
	// 575 times below Money's range, so the account figures that combine
	// them with the ledger, the credit line and the budget never overflow.
	MaxUsageCounter = 1_000_000_000 * money.Dollar
)

// Reasons a usage event is rejected, as the usage API reports them.
const (
	RejectInvalidID     = "invalid_id"
	RejectInvalidOrg    = "invalid_org"
	RejectUnknownOrg    = "unknown_org"
	RejectInvalidAmount = "invalid_amount"
	RejectInvalidTime   = "invalid_time"
	RejectInvalidDesc   = "invalid_description"
	// RejectUsageLimit: recording the event would take Usage This Period
	// or today's usage past MaxUsageCounter.
	RejectUsageLimit = "usage_limit"
)

// UsageEvent is one unit of usage reported by the product's services.
//
// It counts on the UTC day it is recorded (Day), not the day of its Time:
// the daily hard limit guards what is spent from now on, so usage that
// arrives today must count against today's budget, and an organisation's
// today total then lives on one item that each request updates once.
// Time is kept for the record and must lie within the retention window.
type UsageEvent struct {
	ID          string
	OrgID       string
	Amount      money.Money
	Description string
	Time        time.Time
}

// Rejection is why a usage event was refused: a reason code and a message
// for the caller.
type Rejection struct {
	Reason  string
	Message string
}

// Validate checks an event against the rules of the usage API at now and
// returns nil or the rejection: the id 1–128 characters of valid UTF-8, the
// amount more than 0 and at most MaxUsageEvent, the description at most 200
// characters of valid UTF-8, the time within the retention window. It does not check that the organisation
// exists; recording does.
func (e UsageEvent) Validate(now time.Time) *Rejection {
	switch {
	case e.ID == "" || utf8.RuneCountInString(e.ID) > MaxUsageIDChars:
		return &Rejection{RejectInvalidID, "id must be 1–128 characters"}
	case !utf8.ValidString(e.ID):
		return &Rejection{RejectInvalidID, "id must be valid UTF-8, without lone surrogates"}
	case ValidateOrgID(e.OrgID) != nil:
		return &Rejection{RejectInvalidOrg, "org_id must be 1–63 lowercase letters, digits or hyphens"}
	case e.Amount <= 0:
		return &Rejection{RejectInvalidAmount, "amount must be more than 0"}
	case e.Amount > MaxUsageEvent:
		return &Rejection{RejectInvalidAmount, "amount must be at most " + MaxUsageEvent.String() + " per event"}
	case !utf8.ValidString(e.Description):
		return &Rejection{RejectInvalidDesc, "description must be valid UTF-8"}
	case utf8.RuneCountInString(e.Description) > MaxUsageDescriptionChars:
		return &Rejection{RejectInvalidDesc, "description must be at most 200 characters"}
	case e.Time.IsZero():
		return &Rejection{RejectInvalidTime, "time is required (RFC 3339)"}
	case e.Time.Before(now.Add(-UsageRetention)):
		return &Rejection{RejectInvalidTime, "time is more than 35 days in the past"}
	case e.Time.After(now.Add(UsageFutureSkew)):
		return &Rejection{RejectInvalidTime, "time is more than 5 minutes in the future"}
	}
	return nil
}
