package usage

import (
	"context"
	"errors"
	"fmt"

	"github.com/acme/billing/shared/billing"
)

// DailyReset closes the days before today for every organisation: each
// day's usage moves from the account item to a DAY# snapshot kept for
// history and charts, and yesterday's notification flags are removed.
// Correctness never depends on it running on time: today's usage and the
// flags are keyed by UTC day, so a new day starts at zero and unblocked.
// It is safe to run again; a failure for one organisation does not stop
// the others and is returned, so the schedule's retry covers it.
func (s *Service) DailyReset(ctx context.Context) error {
	now := s.now()
	var errs []error
	err := s.store.EachOrg(ctx, func(o billing.Org) error {
		if err := s.store.CloseDays(ctx, o.ID, now); err != nil {
			errs = append(errs, err)
			return nil
		}
		if err := s.store.DeleteFlags(ctx, o.ID, now.AddDate(0, 0, -1)); err != nil {
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
