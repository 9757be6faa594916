package store

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"
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

// Kinds of balance transaction the history can be filtered by. The store
// knows them by their amounts and by the descriptions the system writes.
const (
	TxAll     = ""
	TxCredits = "credits" // purchases, grants, disputes won: every credit
	TxUsage   = "usage"   // credit applied to an invoice of usage
	TxRefunds = "refunds" // refunds and disputes of a top-up
)

// Descriptions of refunds and disputes start with these (see
// payments.RefundDescription and payments.DisputeDescription).
const (
	refundPrefix  = "Refund of "
	disputePrefix = "Disputed payment "
)

// ValidTxKind reports whether kind is one of the kinds above.
func ValidTxKind(kind string) bool {
	return kind == TxAll || kind == TxCredits || kind == TxUsage || kind == TxRefunds
}

// txFilter is the filter of kind's transactions, false for all.
func txFilter(kind string) (expression.ConditionBuilder, bool) {
	amount, desc := expression.Name("amount"), expression.Name("description")
	switch kind {
	case TxCredits:
		return amount.GreaterThan(expression.Value(0)), true
	case TxUsage:
		return desc.Equal(expression.Value(billing.DescAppliedCredit)), true
	case TxRefunds:
		return amount.LessThan(expression.Value(0)).
			And(expression.BeginsWith(desc, refundPrefix).Or(expression.BeginsWith(desc, disputePrefix))), true
	}
	return expression.ConditionBuilder{}, false
}

// TxQuery asks for one page of the balance history.
type TxQuery struct {
	Kind string // one of the Tx kinds
	// After, when set, asks for the transactions older than the one it
	// names; Before, when set, for those newer. Both are cursors of a
	// TxPage; neither asks for the newest.
	After, Before string
	Limit         int // 1–500; 50 otherwise
}

// TxPage is one page of the balance history, newest first, with the
// cursors of the neighbouring pages ("" for none).
type TxPage struct {
	Items        []billing.Transaction
	Newer, Older string
	// Top reports that fewer than a page lie above Before: the newest page
	// shows them.
	Top bool
}

// txScanBudget is how many requests one page may make, and
// txFilteredLimit how many transactions each of them reads when filtering.
// A page of a rare kind may come up short; its Older cursor goes on.
const (
	txScanBudget    = 2
	txFilteredLimit = 500
)

// TransactionsAt returns the page of the organisation's balance history q
// asks for, in at most 2 DynamoDB requests. Cursors name only a sort key
// of the organisation's own partition, so one taken from another
// organisation reads nothing of it. It returns EINVALID for a cursor it
// did not issue or an unknown kind.
func (s *Store) TransactionsAt(ctx context.Context, orgID string, q TxQuery) (TxPage, error) {
	if q.Limit < 1 || q.Limit > 500 {
		q.Limit = 50
	}
	if !ValidTxKind(q.Kind) {
		return TxPage{}, billing.FieldError("kind", "That filter is not valid; choose one of the filters shown.")
	}
	in, err := s.txQuery(orgID)
	if err != nil {
		return TxPage{}, err
	}
	newer := q.Before != ""
	if from := cmp.Or(q.Before, q.After); from != "" {
		sk, err := base64.RawURLEncoding.DecodeString(from)
		if err != nil || !strings.HasPrefix(string(sk), prefixTx) {
			return TxPage{}, billing.FieldError("cursor", "That page link is not valid; start from the first page.")
		}
		in.ExclusiveStartKey = key(orgPK(orgID), string(sk))
	}
	in.ScanIndexForward = aws.Bool(newer)
	in.Limit = aws.Int32(int32(q.Limit + 1))
	if f, ok := txFilter(q.Kind); ok {
		e, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(orgPK(orgID))).
			And(expression.Key(AttrSK).BeginsWith(prefixTx))).WithFilter(f).Build()
		if err != nil {
			return TxPage{}, fmt.Errorf("list transactions %s: %w", orgID, err)
		}
		in.KeyConditionExpression, in.FilterExpression = e.KeyCondition(), e.Filter()
		in.ExpressionAttributeNames, in.ExpressionAttributeValues = e.Names(), e.Values()
		in.Limit = aws.Int32(txFilteredLimit)
	}
	// Ask for one more than a page, so a page knows whether another follows.
	var recs []txRecord
	var stopped string // where the budget ran out, "" at the end
	for range txScanBudget {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return TxPage{}, fmt.Errorf("list transactions %s: %w", orgID, err)
		}
		var page []txRecord
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return TxPage{}, fmt.Errorf("list transactions %s: %w", orgID, err)
		}
		recs, stopped = append(recs, page...), skOf(out.LastEvaluatedKey)
		if stopped == "" || len(recs) > q.Limit {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	more := len(recs) > q.Limit || stopped != ""
	if len(recs) > q.Limit {
		recs = recs[:q.Limit]
		stopped = recs[q.Limit-1].SK
	}
	cur := func(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }
	var page TxPage
	if newer {
		if !more {
			return TxPage{Top: true}, nil
		}
		slices.Reverse(recs)
		page.Newer = cur(stopped)
		page.Older = q.Before
		if len(recs) > 0 {
			page.Older = cur(recs[len(recs)-1].SK)
		}
	} else {
		if more {
			page.Older = cur(stopped)
		}
		if q.After != "" && len(recs) > 0 {
			page.Newer = cur(recs[0].SK)
		}
	}
	for _, r := range recs {
		page.Items = append(page.Items, r.transaction())
	}
	return page, nil
}

// Transactions returns one page of the organisation's balance history,
// newest first, of at most limit rows, starting after cursor ("" for the
// first page). It returns EINVALID for a cursor it did not issue.
func (s *Store) Transactions(ctx context.Context, orgID, cursor string, limit int) (billing.TransactionPage, error) {
	p, err := s.TransactionsAt(ctx, orgID, TxQuery{After: cursor, Limit: limit})
	return billing.TransactionPage{Items: p.Items, Next: p.Older}, err
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

// EachTransactionBetween calls fn for every balance transaction of the
// organisation created in [from, to), newest first, reading the history in
// pages of at most 1 MB; it stops at fn's first error and returns it. A
// zero from or to leaves that end open.
func (s *Store) EachTransactionBetween(ctx context.Context, orgID string, from, to time.Time, fn func(billing.Transaction) error) error {
	// A transaction's id is a ULID of its creation time, whose first 10
	// characters are the millisecond: the range is a range of sort keys.
	lo, hi := prefixTx, prefixTx+"~"
	if !from.IsZero() {
		lo = prefixTx + "bt_" + ulidTime(from)
	}
	if !to.IsZero() {
		hi = prefixTx + "bt_" + ulidTime(to.Add(-time.Millisecond)) + "~"
	}
	in, err := s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
		return k.Between(expression.Value(lo), expression.Value(hi))
	}, true)
	if err != nil {
		return fmt.Errorf("transactions query %s: %w", orgID, err)
	}
	return each(ctx, s, in, func(r txRecord) error { return fn(r.transaction()) })
}

// ulidTime is the time part of a ULID made at t.
func ulidTime(t time.Time) string {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(t)) // fails only after the year 10889
	return id.String()[:10]
}

func (s *Store) txQuery(orgID string) (*dynamodb.QueryInput, error) {
	in, err := s.query(orgPK(orgID), beginsWith(prefixTx), true)
	if err != nil {
		return nil, fmt.Errorf("transactions query %s: %w", orgID, err)
	}
	return in, nil
}
