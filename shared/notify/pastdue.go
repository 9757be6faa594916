package notify

import (
	"context"
	"errors"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/store"
)

// NotifyPastDue tells each organisation that became past due (an invoice
// unpaid past its due date and grace period, invariant 12) by email and
// webhook, once per past-due episode: the detail's id is
// <org>:past_due:<when it became past due>, so a repeated run, or a watch
// written again by a later refresh, sends nothing more. An organisation
// that paid before its time is not told. It runs on the notifier's
// schedule, with RetryDue; a failed send is retried like any other.
func (n *Notifier) NotifyPastDue(ctx context.Context) error {
	now := n.now().UTC()
	return n.store.PastDueWatches(ctx, now, func(w store.PastDueWatch) error {
		acct, err := n.store.Account(ctx, w.OrgID, now)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		// Paid since, or a later invoice is the first now: that one
		// has a watch of its own.
		if !acct.PastDueAt(now) || !acct.PastDueFrom.Equal(w.From) {
			return nil
		}
		f := acct.Figures()
		return n.notify(ctx, events.Detail{
			ID:   w.OrgID + ":past_due:" + w.From.Format("20060102T150405Z"),
			Type: TypeInvoicePastDue, OrgID: w.OrgID, Day: billing.Day(now), OccurredAt: w.From,
			Remaining: f.Remaining, Available: f.Available,
			AmountDue: acct.UnpaidDue, DueDate: acct.OldestDue.Format(billing.DayLayout),
		})
	})
}

// Scheduled is the notifier's scheduled run: it retries the deliveries
// that are due, then tells the organisations that became past due.
func (n *Notifier) Scheduled(ctx context.Context) error {
	return errors.Join(n.RetryDue(ctx), n.NotifyPastDue(ctx))
}
