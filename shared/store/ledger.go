package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AppendTransaction appends a balance transaction and changes the account's
// ledger balance (and Total Credits, for a credit) in one DynamoDB
// transaction, so the ledger balance always equals the sum of the history.
//
// It returns EINVALID for a bad transaction, ENOTFOUND for an unknown
// organisation, and ECONFLICT when nt.Key was already used. A retry of the
// same request after a lost answer is recognised and returns the
// transaction written the first time.
func (s *Store) AppendTransaction(ctx context.Context, orgID string, nt billing.NewTransaction) (billing.Transaction, error) {
	return s.appendTransaction(ctx, orgID, nt, nil)
}

// appendTransaction appends nt; with, when set, returns more new items to
// write in the same transaction, given the transaction's id. Each must not
// exist yet.
func (s *Store) appendTransaction(ctx context.Context, orgID string, nt billing.NewTransaction, with func(txID string) ([]any, error)) (billing.Transaction, error) {
	if err := nt.Validate(); err != nil {
		return billing.Transaction{}, err
	}
	if nt.Created.IsZero() {
		nt.Created = s.now()
	}
	rec := txRecord{
		PK: orgPK(orgID), ID: s.newID("bt", nt.Created), OrgID: orgID,
		Description: nt.Description, Amount: nt.Amount, Created: nt.Created.UTC(), Key: nt.Key,
	}
	rec.SK = txSK(rec.ID)
	put, err := s.putNew(rec)
	if err != nil {
		return billing.Transaction{}, fmt.Errorf("append transaction %s: %w", orgID, err)
	}

	upd := expression.Add(expression.Name("ledger"), expression.Value(nt.Amount)).
		Add(expression.Name("tx_count"), expression.Value(1))
	if nt.Amount > 0 {
		upd = upd.Add(expression.Name("total_credits"), expression.Value(nt.Amount))
	}
	cond := expression.AttributeExists(expression.Name(AttrPK))
	e, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return billing.Transaction{}, fmt.Errorf("append transaction %s: %w", orgID, err)
	}
	items := []types.TransactWriteItem{{Put: put}, {Update: s.update(key(orgPK(orgID), skAccount), e, true)}}
	if nt.Key != "" {
		guard, err := s.putNew(struct {
			PK   string `dynamodbav:"PK"`
			SK   string `dynamodbav:"SK"`
			TxID string `dynamodbav:"tx_id"`
		}{orgPK(orgID), txKeySK(nt.Key), rec.ID})
		if err != nil {
			return billing.Transaction{}, fmt.Errorf("append transaction %s: %w", orgID, err)
		}
		items = append(items, types.TransactWriteItem{Put: guard})
	}
	if with != nil {
		extra, err := with(rec.ID)
		if err != nil {
			return billing.Transaction{}, fmt.Errorf("append transaction %s: %w", orgID, err)
		}
		for _, x := range extra {
			put, err := s.putNew(x)
			if err != nil {
				return billing.Transaction{}, fmt.Errorf("append transaction %s: %w", orgID, err)
			}
			items = append(items, types.TransactWriteItem{Put: put})
		}
	}

	err = s.transact(ctx, items)
	reasons := cancelReasons(err)
	switch {
	case err == nil:
		return rec.transaction(), nil
	case conditionFailed(reasons, 0):
		// Our own id already exists: this request was applied before and
		// its answer lost. Return what was written.
		return s.transaction(ctx, orgID, rec.ID)
	case conditionFailed(reasons, 1):
		return billing.Transaction{}, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	case conditionFailed(reasons, 2):
		return billing.Transaction{}, billing.Errorf(billing.ECONFLICT, "This transaction was already recorded.")
	}
	return billing.Transaction{}, fmt.Errorf("append transaction %s: %w", orgID, err)
}

// transaction reads one balance transaction; ENOTFOUND when it is missing.
func (s *Store) transaction(ctx context.Context, orgID, id string) (billing.Transaction, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), txSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return billing.Transaction{}, fmt.Errorf("get transaction %s/%s: %w", orgID, id, err)
	}
	if out.Item == nil {
		return billing.Transaction{}, billing.Errorf(billing.ENOTFOUND, "Transaction %s not found.", id)
	}
	var rec txRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return billing.Transaction{}, fmt.Errorf("get transaction %s/%s: %w", orgID, id, err)
	}
	return rec.transaction(), nil
}

// Transactions returns one page of the organisation's balance history,
// newest first, of at most limit rows, starting after cursor ("" for the
// first page). It returns EINVALID for a cursor it did not issue.
func (s *Store) Transactions(ctx context.Context, orgID, cursor string, limit int) (billing.TransactionPage, error) {
	if limit < 1 || limit > 500 {
		limit = 50
	}
	in, err := s.txQuery(orgID)
	if err != nil {
		return billing.TransactionPage{}, err
	}
	if cursor != "" {
		sk, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(sk), prefixTx) {
			return billing.TransactionPage{}, billing.FieldError("cursor", "That page link is not valid; start from the first page.")
		}
		in.ExclusiveStartKey = key(orgPK(orgID), string(sk))
	}
	// Ask for one more than a page, so the last page carries no cursor.
	in.Limit = aws.Int32(int32(limit + 1))
	var recs []txRecord
	for len(recs) <= limit {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return billing.TransactionPage{}, fmt.Errorf("list transactions %s: %w", orgID, err)
		}
		var page []txRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return billing.TransactionPage{}, fmt.Errorf("list transactions %s: %w", orgID, err)
		}
		recs = append(recs, page...)
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	var page billing.TransactionPage
	if len(recs) > limit {
		recs = recs[:limit]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(recs[limit-1].SK))
	}
	for _, r := range recs {
		page.Items = append(page.Items, r.transaction())
	}
	return page, nil
}

// EachTransaction calls fn for every balance transaction of the
// organisation, newest first, reading the history in pages; it stops at
// fn's first error and returns it.
func (s *Store) EachTransaction(ctx context.Context, orgID string, fn func(billing.Transaction) error) error {
	in, err := s.txQuery(orgID)
	if err != nil {
		return err
	}
	return each(ctx, s, in, func(r txRecord) error { return fn(r.transaction()) })
}

func (s *Store) txQuery(orgID string) (*dynamodb.QueryInput, error) {
	in, err := s.query(orgPK(orgID), beginsWith(prefixTx), true)
	if err != nil {
		return nil, fmt.Errorf("transactions query %s: %w", orgID, err)
	}
	return in, nil
}
