package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// refreshUnpaid writes onto the ACCOUNT item the due date of the
// organisation's oldest unpaid invoice and the total its unpaid invoices
// are owed, so that one read of that item (an allowance) knows whether the
// organisation is past due (invariant 12). Every write that opens, pays or
// voids an invoice calls it afterwards; it is safe to repeat.
//
// Refreshes are ordered by the item's unpaid_rev: one writes only if no
// other wrote since it read the revision, and else reads again, so the
// last write always reflects every invoice change before it.
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
		var oldest time.Time
		var total money.Money
		err = each(ctx, s, in, func(r invoiceRecord) error {
			if (r.Status != InvoiceOpen && r.Status != InvoiceUncollectible) || r.Due <= 0 {
				return nil
			}
			if oldest.IsZero() || r.DueDate.Before(oldest) {
				oldest = r.DueDate.UTC()
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
			Set(expression.Name("unpaid_due"), expression.Value(total)).
			Set(rev, expression.Value(acct.UnpaidRev+1))
		e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
		if err != nil {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		err = s.updateItem(ctx, s.update(key(orgPK(orgID), skAccount), e, true))
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) || attempt >= 10 {
			return fmt.Errorf("refresh unpaid invoices %s: %w", orgID, err)
		}
		// Another refresh wrote meanwhile: read again.
	}
}
