package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// DefaultCard summarises the organisation's default card on its PROFILE
// item (attribute default_card), so the Overview can tell that
// auto-recharge has no usable card without asking the payment provider.
// It is rewritten wherever the default card changes: our pages and the
// provider's webhook.
type DefaultCard struct {
	// Known is false for an organisation whose summary was never written
	// (from before it existed): nothing is known, so nothing is claimed.
	Known bool `dynamodbav:"known"`
	// ID is the card's payment method id (pm_…), for the webhook to tell
	// whether a card detached or updated is the default.
	ID string `dynamodbav:"id,omitempty"`
	// Label names the card, "Visa •••• 4242"; "" when there is no
	// default card.
	Label    string `dynamodbav:"label,omitempty"`
	Last4    string `dynamodbav:"last4,omitempty"`
	ExpMonth int    `dynamodbav:"exp_month,omitempty"`
	ExpYear  int    `dynamodbav:"exp_year,omitempty"`
}

// None reports whether the organisation is known to have no default card.
func (c DefaultCard) None() bool { return c.Known && c.Label == "" }

// Expired reports whether the default card is known to have expired by
// now: its expiry month is before now's (a card works through the last
// day of its month).
func (c DefaultCard) Expired(now time.Time) bool {
	if !c.Known || c.Label == "" {
		return false
	}
	y, m, _ := now.UTC().Date()
	return c.ExpYear < y || c.ExpYear == y && c.ExpMonth < int(m)
}

// SetDefaultCard records the summary of the organisation's default card
// (Known is set; a zero card records "none"). Every other attribute of the
// PROFILE item stays. It returns ENOTFOUND for an unknown organisation.
func (s *Store) SetDefaultCard(ctx context.Context, orgID string, c DefaultCard) error {
	c.Known = true
	av, err := attributevalue.Marshal(c)
	if err != nil {
		return fmt.Errorf("set default card %s: %w", orgID, err)
	}
	e, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name(attrDefaultCard), expression.Value(av))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))).Build()
	if err != nil {
		return fmt.Errorf("set default card %s: %w", orgID, err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{{Update: s.update(key(orgPK(orgID), skProfile), e, true)}})
	if conditionFailed(cancelReasons(err), 0) {
		return billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	if err != nil {
		return fmt.Errorf("set default card %s: %w", orgID, err)
	}
	return nil
}

// DefaultCard returns the summary of the organisation's default card (not
// Known when never recorded). It returns ENOTFOUND for an unknown
// organisation.
func (s *Store) DefaultCard(ctx context.Context, orgID string) (DefaultCard, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), skProfile), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return DefaultCard{}, fmt.Errorf("read default card %s: %w", orgID, err)
	}
	if out.Item == nil {
		return DefaultCard{}, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	c, err := defaultCardOf(out.Item)
	if err != nil {
		return DefaultCard{}, fmt.Errorf("read default card %s: %w", orgID, err)
	}
	return c, nil
}

const attrDefaultCard = "default_card"

// defaultCardOf reads the default card summary of a PROFILE item; the
// zero DefaultCard (not Known) when it has none.
func defaultCardOf(item map[string]types.AttributeValue) (DefaultCard, error) {
	var c DefaultCard
	av, ok := item[attrDefaultCard]
	if !ok {
		return c, nil
	}
	err := attributevalue.Unmarshal(av, &c)
	return c, err
}
