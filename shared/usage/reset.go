package usage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
)

// DailyReset closes the days before today for every organisation. First it
// publishes yesterday's spend crossings that never went out (a failed or
// interrupted publisher; repeats carry the same Detail.ID), then each past
// day's usage moves from the account item to a DAY# snapshot kept for
// history and charts, and the notification flags of the day before
// yesterday are removed.
// Correctness never depends on it running on time: today's usage and the
// flags are keyed by UTC day, so a new day starts at zero and unblocked.
// It is safe to run again; a failure for one organisation does not stop
// the others and is returned, so the schedule's retry covers it.
func (s *Service) DailyReset(ctx context.Context) error {
	now := s.now()
	var errs []error
	yesterday := now.AddDate(0, 0, -1)
	err := s.store.EachOrg(ctx, func(o billing.Org) error {
		if err := s.finishDay(ctx, o.ID, yesterday, now); err != nil {
			errs = append(errs, err)
			return nil
		}
		if err := s.store.CloseDays(ctx, o.ID, now); err != nil {
			errs = append(errs, err)
			return nil
		}
		// Yesterday's flags stay (so a second run publishes nothing again)
		// until the next reset; the TTL would remove them too.
		if err := s.store.DeleteFlags(ctx, o.ID, now.AddDate(0, 0, -2)); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("daily reset: %w", err)
	}
	return nil
}

// finishDay publishes the spend crossings of day that are not sent yet,
// whatever the age of their claim: the day is over.
func (s *Service) finishDay(ctx context.Context, orgID string, day, now time.Time) error {
	acct, err := s.store.Account(ctx, orgID, day)
	if err != nil {
		return err
	}
	flags, err := s.store.Flags(ctx, orgID, day)
	if err != nil {
		return err
	}
	return s.publish(ctx, orgID, acct, flags, spendCrossings(acct), day, now)
}
