package usage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/billing/shared/store"
)

// EachResetDue calls fn with the organisations the daily reset at at has
// work for, a page at a time: those with usage on the UTC day before at's
// (store.DueUsageOn). Notification flags are set only on a day with
// usage, so it covers them too.
func (s *Service) EachResetDue(ctx context.Context, at time.Time, fn func(orgIDs []string) error) error {
	return s.store.DueOrgs(ctx, store.DueUsageOn(at.AddDate(0, 0, -1)), fn)
}

// DailyReset runs ResetOrg, at now, for every organisation EachResetDue lists,
// one after the other. The scheduled job fans the same steps out to its
// workers instead (shared/jobs); this is for callers that want it done in
// one call. A failure for one organisation does not stop the others; the
// errors come back joined.
func (s *Service) DailyReset(ctx context.Context) error {
	now := s.now()
	var errs []error
	err := s.EachResetDue(ctx, now, func(orgIDs []string) error {
		for _, id := range orgIDs {
			if err := s.ResetOrg(ctx, id, now); err != nil {
				errs = append(errs, err)
			}
		}
		return ctx.Err()
	})
	if err := errors.Join(append(errs, err)...); err != nil {
		return fmt.Errorf("daily reset: %w", err)
	}
	return nil
}

// ResetOrg closes the organisation's days before the UTC day of at (the
// scheduled time of the reset, not the time it runs, so a redelivery
// later closes the same days). First it publishes the spend crossings of
// the day before that never went out (a failed or interrupted publisher;
// repeats carry the same Detail.ID), then each past day's usage moves from
// the account item to a DAY# snapshot kept for history and charts (and
// the RECENT item the Overview reads), and the notification flags of the
// day before that are removed.
// Correctness never depends on it running on time: today's usage and the
// flags are keyed by UTC day, so a new day starts at zero and unblocked;
// flags not removed here expire by their TTL.
// It is idempotent: safe to run again, and concurrently.
func (s *Service) ResetOrg(ctx context.Context, orgID string, at time.Time) error {
	yesterday := at.AddDate(0, 0, -1)
	if err := s.finishDay(ctx, orgID, yesterday, at); err != nil {
		return fmt.Errorf("reset %s: %w", orgID, err)
	}
	if err := s.store.CloseDays(ctx, orgID, at); err != nil {
		return fmt.Errorf("reset %s: %w", orgID, err)
	}
	// Yesterday's flags stay (so a second run publishes nothing again)
	// until the next reset; the TTL would remove them too.
	if err := s.store.DeleteFlags(ctx, orgID, at.AddDate(0, 0, -2)); err != nil {
		return fmt.Errorf("reset %s: %w", orgID, err)
	}
	return nil
}

// finishDay publishes the spend crossings of day that are not sent yet,
// whatever the age of their claim: the day is over.
func (s *Service) finishDay(ctx context.Context, orgID string, day, now time.Time) error {
	// The day's usage, open or already closed (a usage write may have
	// closed it, or this reset ran before and is delivered again).
	acct, flags, err := s.store.DayState(ctx, orgID, day)
	if err != nil {
		return err
	}
	return s.publish(ctx, orgID, acct, flags, spendCrossings(acct), day, now)
}
