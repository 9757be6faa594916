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
	// UsageRetention is how long an event id counts once, and how far back
	// an event's time may be.
	UsageRetention = 35 * 24 * time.Hour
	// UsageFutureSkew is how far ahead of our clock an event's time may be.
	UsageFutureSkew = 5 * time.Minute
)

// Reasons a usage event is rejected, as the usage API reports them.
const (
	RejectInvalidID     = "invalid_id"
	RejectInvalidOrg    = "invalid_org"
	RejectUnknownOrg    = "unknown_org"
	RejectInvalidAmount = "invalid_amount"
	RejectInvalidTime   = "invalid_time"
	RejectInvalidDesc   = "invalid_description"
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
// returns nil or the rejection. It does not check that the organisation
// exists; recording does.
func (e UsageEvent) Validate(now time.Time) *Rejection {
	switch {
	case e.ID == "" || utf8.RuneCountInString(e.ID) > 128:
		return &Rejection{RejectInvalidID, "id must be 1–128 characters"}
	case !utf8.ValidString(e.ID):
		return &Rejection{RejectInvalidID, "id must be valid UTF-8"}
	case ValidateOrgID(e.OrgID) != nil:
		return &Rejection{RejectInvalidOrg, "org_id must be 1–63 lowercase letters, digits or hyphens"}
	case e.Amount <= 0:
		return &Rejection{RejectInvalidAmount, "amount must be more than 0"}
	case utf8.RuneCountInString(e.Description) > 200:
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
