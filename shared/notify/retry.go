package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/acme/billing/shared/billing"
)

// The retry index. Every claimed attempt first writes an entry at the time
// its delivery is next due, in the partition of that hour:
//
//	DUE#<yyyy-mm-ddThh>  AT#<due time>#<org>#<delivery key>
//
// RetryDue reads the partitions from a cursor (DUE, CURSOR: the oldest
// hour that may still hold entries) to the current hour — one Query each,
// normally two or three per run — instead of scanning the table or every
// organisation's deliveries. An entry is only a hint: RetryDue reads the
// delivery's latest version and sends only what is still pending and due,
// then deletes the entry; entries of deliveries that went on (delivered,
// or a later attempt with an entry of its own) are just deleted. Hours
// rather than minutes keep the number of partitions a run reads small
// when the retrier was stopped for a while; a delivery's entries are far
// too few to make an hour's partition hot.
type dueRecord struct {
	PK    string    `dynamodbav:"PK"`
	SK    string    `dynamodbav:"SK"`
	OrgID string    `dynamodbav:"org_id"`
	Key   string    `dynamodbav:"key"`
	At    time.Time `dynamodbav:"at"`
}

type cursorRecord struct {
	PK   string    `dynamodbav:"PK"` // DUE
	SK   string    `dynamodbav:"SK"` // CURSOR
	Hour time.Time `dynamodbav:"hour"`
}

const (
	pkCursor = "DUE"
	skCursor = "CURSOR"
	// firstLookback is how far back the first run (no cursor yet) looks:
	// past the retry window, so nothing pending is missed.
	firstLookback = RetryWindow + time.Hour
	// retryWorkers bounds the deliveries one run sends at once.
	retryWorkers = 8
)

func duePK(t time.Time) string { return "DUE#" + t.UTC().Format("2006-01-02T15") }

// schedule writes the retry index entry of the claimed version c.
func (n *Notifier) schedule(ctx context.Context, c deliveryRecord) error {
	at := c.NextAttempt.UTC()
	e := dueRecord{PK: duePK(at), SK: "AT#" + at.Format("2006-01-02T15:04:05.000000000Z") + "#" + c.OrgID + "#" + c.Key, OrgID: c.OrgID, Key: c.Key, At: at}
	if err := n.items.Put(ctx, e, false); err != nil {
		return fmt.Errorf("schedule delivery %s: %w", c.Key, err)
	}
	return nil
}

// RetryDue makes the next attempt of every pending delivery whose time has
// come (the notify-retry schedule, every 5 minutes). A failing delivery
// does not stop the others; the error joins every table error, and the
// deliveries they concern are tried again on the next run.
func (n *Notifier) RetryDue(ctx context.Context) error {
	now := n.now().UTC()
	hour := now.Truncate(time.Hour)
	from := hour.Add(-firstLookback)
	var cur cursorRecord
	err := n.items.Get(ctx, pkCursor, skCursor, &cur)
	switch {
	case err == nil:
		from = cur.Hour
	case billing.ErrorCode(err) != billing.ENOTFOUND:
		return fmt.Errorf("retry deliveries: %w", err)
	}
	// The cursor never passes the previous hour, so an entry written by a
	// clock a little behind is still read.
	keep := hour.Add(-time.Hour)
	var errs []error
	for h := from; !h.After(hour); h = h.Add(time.Hour) {
		left, err := n.retryHour(ctx, h, now)
		if err != nil {
			errs = append(errs, err)
		}
		if left && h.Before(keep) {
			keep = h
		}
	}
	if !keep.Equal(cur.Hour) {
		if err := n.items.Put(ctx, cursorRecord{PK: pkCursor, SK: skCursor, Hour: keep}, false); err != nil {
			errs = append(errs, fmt.Errorf("retry deliveries: %w", err))
		}
	}
	return errors.Join(errs...)
}

// retryHour handles the due entries of the hour h, a few at a time; left
// reports whether entries remain (not due yet, or failed).
func (n *Notifier) retryHour(ctx context.Context, h, now time.Time) (left bool, err error) {
	var due []dueRecord
	if err := n.items.Query(ctx, duePK(h), "AT#", &due); err != nil {
		return true, fmt.Errorf("retry deliveries of %s: %w", duePK(h), err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, retryWorkers)
	)
	for _, e := range due {
		if e.At.After(now) {
			left = true // not due yet
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := n.retry(ctx, e, now)
			if err == nil {
				err = n.items.Delete(ctx, e.PK, e.SK)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return left || len(errs) > 0, errors.Join(errs...)
}

// retry makes the next attempt of the delivery of the entry e if it is
// still pending and due at now.
func (n *Notifier) retry(ctx context.Context, e dueRecord, now time.Time) error {
	rec, err := n.current(ctx, e.OrgID, e.Key)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return nil // its claim was never written
	}
	if err != nil {
		return err
	}
	if rec.Status != StatusPending || rec.NextAttempt.After(now) {
		return nil
	}
	c, won, err := n.claim(ctx, rec)
	if err != nil || !won {
		return err
	}
	_, err = n.attempt(ctx, c)
	return err
}
