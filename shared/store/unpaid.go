package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// maxRefreshAttempts bounds how often one refresh reads again.
const maxRefreshAttempts = 30

// refreshUnpaid writes onto the ACCOUNT item the due date of the
// organisation's oldest unpaid invoice, when the first of them makes it
// past due, and the total its unpaid invoices are owed, so that one read
// of that item (an allowance) knows whether the organisation is past due
// (invariant 12). Every write that opens, pays or voids an invoice calls it
// afterwards; it is safe to repeat.
//
// Refreshes are ordered by the item's unpaid_rev: one writes only if no
// other wrote since it read the revision, and else reads again, so the
// last write always reflects every invoice change before it. Every
// write also puts the organisation's past-due watch, in the same
// transaction.
func (s *Store) refreshUnpaid(ctx context.Context, orgID string) error {
	for attempt := 0; ; attempt++ {
		var acct accountRecord
		if err := s.Items().Get(ctx, orgPK(orgID), skAccount, &acct); err != nil {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		in, err := s.query(orgPK(orgID), beginsWith(prefixInvoice), false)
		if err != nil {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		var oldest, pastDue time.Time
		var total money.Money
		err = each(ctx, s, in, func(r invoiceRecord) error {
			if (r.Status != InvoiceOpen && r.Status != InvoiceUncollectible) || r.Due <= 0 {
				return nil
			}
			if oldest.IsZero() || r.DueDate.Before(oldest) {
				oldest = r.DueDate.UTC()
			}
			if at := r.invoice().pastDueAt(); pastDue.IsZero() || at.Before(pastDue) {
				pastDue = at
			}
			var err error
			total, err = total.Add(r.Due)
			return err
		})
		if err != nil {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		rev := expression.Name("unpaid_rev")
		cond := expression.AttributeExists(expression.Name(AttrPK)).
			And(expression.Or(expression.AttributeNotExists(rev), rev.Equal(expression.Value(acct.UnpaidRev))))
		upd := expression.Set(expression.Name("oldest_due"), expression.Value(oldest)).
			Set(expression.Name("past_due_from"), expression.Value(pastDue)).
			Set(expression.Name("unpaid_due"), expression.Value(total)).
			Set(rev, expression.Value(acct.UnpaidRev+1))
		e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
		if err != nil {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		write := []types.TransactWriteItem{{Update: s.update(key(orgPK(orgID), skAccount), e, true)}}
		if !pastDue.IsZero() {
			// The watch that tells the organisation, once, when it
			// becomes past due (PastDueWatches).
			watch, err := attributevalue.MarshalMap(pastDueWatch{PK: pkPastDue, SK: watchSK(pastDue, orgID), OrgID: orgID, From: pastDue})
			if err != nil {
				return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
			}
			write = append(write, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: watch}})
		}
		err = s.transact(ctx, write)
		if err == nil {
			return nil
		}
		if !conditionFailed(cancelReasons(err), 0) || attempt >= maxRefreshAttempts {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		// Another refresh wrote meanwhile: read again, after a jittered
		// pause so that concurrent refreshes do not keep colliding.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.IntN(5*(attempt+1))+1) * time.Millisecond):
		}
	}
}

// pastDueAt is when the invoice, unpaid, makes its organisation past due.
func (inv Invoice) pastDueAt() time.Time {
	if !inv.PastDueAt.IsZero() {
		return inv.PastDueAt
	}
	return inv.DueDate.Add(billing.DefaultPastDueGrace).UTC()
}

// pkPastDue is the partition of the past-due watches: one item per
// organisation with an unpaid invoice, sorted by when it becomes past due
// (SK <RFC 3339 time>#<org>). Refreshes write it; PastDueWatches reads
// the ones that are due and drops each once handled. The partition holds
// one item per organisation that owes money, written when an invoice
// opens or is paid, so it stays far below a partition's write limit.
const pkPastDue = "PASTDUE"

// watchLayout formats a watch's time so that sort keys sort by time.
const watchLayout = "2006-01-02T15:04:05Z"

func watchSK(from time.Time, orgID string) string {
	return from.UTC().Format(watchLayout) + "#" + orgID
}

type pastDueWatch struct {
	PK    string    `dynamodbav:"PK"`
	SK    string    `dynamodbav:"SK"`
	OrgID string    `dynamodbav:"org_id"`
	From  time.Time `dynamodbav:"from"`
}

// PastDueWatch says that the organisation OrgID was to become past due at
// From, unless it paid before.
type PastDueWatch struct {
	OrgID string
	From  time.Time
}

// PastDueWatches calls fn, oldest first, with every watch whose time is at
// or before now, and drops each watch fn returns nil for. fn decides from
// the account whether the organisation is still past due from that time
// (a watch outlives the invoice paid before it: refreshes never delete).
// It stops at fn's first error, keeping that watch for the next run.
func (s *Store) PastDueWatches(ctx context.Context, now time.Time, fn func(PastDueWatch) error) error {
	// Every sort key up to now's second, whatever the organisation: '$'
	// sorts after the '#' that ends the time.
	in, err := s.query(pkPastDue, func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.LessThan(expression.Value(now.UTC().Format(watchLayout) + "$"))
	}, false)
	if err != nil {
		return fmt.Errorf("past-due watches: %w", err)
	}
	err = each(ctx, s, in, func(w pastDueWatch) error {
		if err := fn(PastDueWatch{OrgID: w.OrgID, From: w.From.UTC()}); err != nil {
			return err
		}
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(w.PK, w.SK)})
		return err
	})
	if err != nil {
		return fmt.Errorf("past-due watches: %w", err)
	}
	return nil
}
