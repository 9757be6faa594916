package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// SetAddress replaces the invoice address of the organisation's PROFILE
// item and records entry in its audit trail, in one transaction. Only the
// address attributes are set: the billing email and the payment customer
// stay as they are. before is the address the caller read and built
// entry from; when the stored address differs (a concurrent save), nothing is
// written and it returns ECONFLICT. It returns ENOTFOUND for an unknown
// organisation. The caller validates the address.
func (s *Store) SetAddress(ctx context.Context, orgID string, before, after billing.Address, entry billing.AuditEntry) error {
	err := s.setProfile(ctx, orgID, addressAttrs(before), addressAttrs(after), entry,
		"The invoice address was changed by someone else while you were editing it. Nothing was saved: open the page again to see it.")
	if err != nil {
		return fmt.Errorf("set address %s: %w", orgID, err)
	}
	return nil
}

// SetBillingEmail replaces the billing email of the organisation's PROFILE
// item and records entry in its audit trail, in one transaction, leaving
// the address and the payment customer as they are. before is the email
// the caller read; when the stored one differs, nothing is written and it
// returns ECONFLICT. It returns ENOTFOUND for an unknown organisation. The
// caller validates the email.
func (s *Store) SetBillingEmail(ctx context.Context, orgID, before, after string, entry billing.AuditEntry) error {
	err := s.setProfile(ctx, orgID, map[string]string{"billing_email": before}, map[string]string{"billing_email": after}, entry,
		"The billing email was changed by someone else while you were editing it. Nothing was saved: open the page again to see it.")
	if err != nil {
		return fmt.Errorf("set billing email %s: %w", orgID, err)
	}
	return nil
}

// addressAttrs are the PROFILE attributes of an address (the names of
// profileRecord's tags).
func addressAttrs(a billing.Address) map[string]string {
	return map[string]string{
		"company_name": a.CompanyName, "address1": a.Address1, "address2": a.Address2, "city": a.City,
		"postal_code": a.PostalCode, "region": a.Region, "country": a.Country, "po_number": a.PONumber,
	}
}

// setProfile sets the PROFILE attributes of after (UpdateItem SET, so
// every other attribute stays), on condition that each still holds its
// value in before (a missing attribute counts as ""), and puts the audit entry, in one
// transaction. A failed condition is ENOTFOUND for an unknown organisation
// and ECONFLICT with conflict otherwise.
func (s *Store) setProfile(ctx context.Context, orgID string, before, after map[string]string, entry billing.AuditEntry, conflict string) error {
	var upd expression.UpdateBuilder
	cond := expression.AttributeExists(expression.Name(AttrPK))
	for _, attr := range slices.Sorted(maps.Keys(after)) {
		name := expression.Name(attr)
		upd = upd.Set(name, expression.Value(after[attr]))
		was := name.Equal(expression.Value(before[attr]))
		if before[attr] == "" {
			was = expression.AttributeNotExists(name).Or(was)
		}
		cond = cond.And(was)
	}
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{{Update: s.update(key(orgPK(orgID), skProfile), e, true)}}
	if len(entry.Changes) > 0 {
		put, err := s.auditPut(orgID, entry)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	err = s.transact(ctx, items)
	if conditionFailed(cancelReasons(err), 0) {
		if _, err := s.Profile(ctx, orgID); err != nil {
			return err
		}
		return billing.Errorf(billing.ECONFLICT, "%s", conflict)
	}
	return err
}
