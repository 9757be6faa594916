package billing_test

import (
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

func TestUsageEventValidate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	valid := billing.UsageEvent{ID: "evt-1", OrgID: "acme", Amount: money.MustParse("0.0025"), Description: "API call", Time: now}
	tests := []struct {
		name   string
		change func(e *billing.UsageEvent)
		reason string
	}{
		{"a valid event passes", func(e *billing.UsageEvent) {}, ""},
		{"an amount of exactly MaxUsageEvent passes", func(e *billing.UsageEvent) { e.Amount = billing.MaxUsageEvent }, ""},
		{"an amount one micro-dollar over MaxUsageEvent is invalid_amount", func(e *billing.UsageEvent) { e.Amount = billing.MaxUsageEvent + 1 }, billing.RejectInvalidAmount},
		{"the largest Money is invalid_amount", func(e *billing.UsageEvent) { e.Amount = money.MustParse("9223372036854.775807") }, billing.RejectInvalidAmount},
		{"a zero amount is invalid_amount", func(e *billing.UsageEvent) { e.Amount = 0 }, billing.RejectInvalidAmount},
		{"an id with invalid UTF-8 is invalid_id", func(e *billing.UsageEvent) { e.ID = "evt-\xff" }, billing.RejectInvalidID},
		{"an id holding a lone surrogate (WTF-8) is invalid_id", func(e *billing.UsageEvent) { e.ID = "evt-\xed\xa0\x80" }, billing.RejectInvalidID},
		{"a description with invalid UTF-8 is invalid_description", func(e *billing.UsageEvent) { e.Description = "call \xc3" }, billing.RejectInvalidDesc},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := valid
			tc.change(&e)
			rej := e.Validate(now)
			switch {
			case tc.reason == "" && rej != nil:
				t.Errorf("Validate() = %+v, want nil", rej)
			case tc.reason != "" && (rej == nil || rej.Reason != tc.reason || rej.Message == ""):
				t.Errorf("Validate() = %+v, want %s with a message", rej, tc.reason)
			}
		})
	}

	t.Run("the maxima leave Money's range and float64's exact integers far behind", func(t *testing.T) {
		if billing.MaxUsageCounter > 1<<53 || billing.MaxUsageEvent*billing.MaxUsageEvents > billing.MaxUsageCounter {
			t.Errorf("MaxUsageCounter %v must be below 2^53 micro-dollars and hold a full batch of maximum events", billing.MaxUsageCounter)
		}
		// Remaining + credit line + … of counters at the maximum still fit.
		if _, err := billing.MaxUsageCounter.Add(8 * billing.MaxUsageCounter); err != nil {
			t.Errorf("nine maximum counters overflow Money: %v", err)
		}
	})
}
