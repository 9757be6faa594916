package store

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Profile returns the organisation's profile (address, billing email,
// payment customer). It returns ENOTFOUND for an unknown organisation.
func (s *Store) Profile(ctx context.Context, orgID string) (billing.Profile, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), skProfile), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return billing.Profile{}, fmt.Errorf("read profile %s: %w", orgID, err)
	}
	if out.Item == nil {
		return billing.Profile{}, billing.Errorf(billing.ENOTFOUND, "Organisation %s not found.", orgID)
	}
	var rec profileRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return billing.Profile{}, fmt.Errorf("read profile %s: %w", orgID, err)
	}
	return rec.profile(), nil
}

// customerRecord maps a payment customer to its organisation, so a
// provider event finds the organisation with one strongly consistent read.
type customerRecord struct {
	PK    string `dynamodbav:"PK"` // CUS#<customer id>
	SK    string `dynamodbav:"SK"` // CUSTOMER
	OrgID string `dynamodbav:"org_id"`
}

func customerKey(customerID string) map[string]types.AttributeValue {
	return key("CUS#"+customerID, "CUSTOMER")
}

// SetCustomerID records the organisation's payment customer, and the
// customer → organisation mapping, unless a customer is recorded already;
// it returns the one that is: of two concurrent first payments, both end
// up using the same customer.
func (s *Store) SetCustomerID(ctx context.Context, orgID, customerID string) (string, error) {
	e, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("customer_id"), expression.Value(customerID))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK)).
			And(expression.AttributeNotExists(expression.Name("customer_id")))).Build()
	if err != nil {
		return "", fmt.Errorf("set customer %s: %w", orgID, err)
	}
	mapping, err := s.putNew(customerRecord{PK: "CUS#" + customerID, SK: "CUSTOMER", OrgID: orgID})
	if err != nil {
		return "", fmt.Errorf("set customer %s: %w", orgID, err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: s.update(key(orgPK(orgID), skProfile), e, true)},
		{Put: mapping},
	})
	if reasons := cancelReasons(err); conditionFailed(reasons, 0) || conditionFailed(reasons, 1) {
		p, err := s.Profile(ctx, orgID)
		if err != nil {
			return "", err
		}
		if p.CustomerID == "" {
			return "", billing.Errorf(billing.ECONFLICT, "Customer %s belongs to another organisation.", customerID)
		}
		return p.CustomerID, nil
	}
	if err != nil {
		return "", fmt.Errorf("set customer %s: %w", orgID, err)
	}
	return customerID, nil
}

// OrgByCustomer returns the organisation of a payment customer, with one
// strongly consistent read; ENOTFOUND when no organisation has it.
func (s *Store) OrgByCustomer(ctx context.Context, customerID string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: customerKey(customerID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("org by customer %s: %w", customerID, err)
	}
	if out.Item == nil {
		return "", billing.Errorf(billing.ENOTFOUND, "No organisation has customer %s.", customerID)
	}
	var rec customerRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return "", fmt.Errorf("org by customer %s: %w", customerID, err)
	}
	return rec.OrgID, nil
}

// Order is a purchase of usage credits, listed in the order and invoice
// history as paid, with what was refunded or disputed of it since.
type Order struct {
	ID      string // the payment's id: pi_… or cs_…
	OrgID   string
	Amount  money.Money
	Method  string // e.g. "Visa •••• 4242" or "Cryptocurrency"
	Created time.Time
	PaidAt  time.Time
	// TransactionID is the balance transaction that credited it.
	TransactionID string
	// Adjustments are the refunds and disputes of the order, oldest first.
	Adjustments []Adjustment
	// Issued are the seller and the buyer of its receipt as they stood
	// when it was credited; not Recorded on orders credited before parties
	// were recorded.
	Issued Parties
}

// Refunded is the sum of the order's refunds.
func (o Order) Refunded() money.Money {
	var sum money.Money
	for _, a := range o.Adjustments {
		if a.Kind == AdjustRefund {
			sum -= a.Amount
		}
	}
	return sum
}

// Disputed is what disputes of the order hold back now: disputed amounts
// less those won back.
func (o Order) Disputed() money.Money {
	var sum money.Money
	for _, a := range o.Adjustments {
		if a.Kind == AdjustDispute || a.Kind == AdjustDisputeWon {
			sum -= a.Amount
		}
	}
	return sum
}

type orderRecord struct {
	PK            string      `dynamodbav:"PK"`
	SK            string      `dynamodbav:"SK"`
	ID            string      `dynamodbav:"id"`
	OrgID         string      `dynamodbav:"org_id"`
	Amount        money.Money `dynamodbav:"amount"`
	Method        string      `dynamodbav:"method"`
	Created       time.Time   `dynamodbav:"created"`
	PaidAt        time.Time   `dynamodbav:"paid_at"`
	TransactionID string      `dynamodbav:"tx_id"`
	Issued        *Parties    `dynamodbav:"issued,omitempty"`
}

// PaymentCredit is a successful payment to credit.
type PaymentCredit struct {
	PaymentID string // pi_… or cs_…
	Amount    money.Money
	// Description is the balance transaction's, e.g. "Stripe Payment
	// Intent pi_… via Add Credits".
	Description string
	Method      string
	Paid        time.Time
	// AliasID, when set, is another id the payment is known by (a
	// checkout's PaymentIntent, which its refunds and disputes name).
	AliasID string
}

// aliasRecord maps another id of a credited payment to the id it was
// credited under.
type aliasRecord struct {
	PK        string `dynamodbav:"PK"` // ORG#<org>
	SK        string `dynamodbav:"SK"` // PAYALIAS#<alias>
	PaymentID string `dynamodbav:"payment_id"`
}

const prefixAlias = "PAYALIAS#"

// CreditPayment credits a successful payment exactly once: the balance
// transaction (keyed by the payment id), the ledger, Total Credits, the
// paid order and the payment's alias are written in one transaction. A
// payment credited before (the synchronous answer and the webhook both
// report it) returns (false, nil) and changes nothing. The order records
// the parties of its receipt from the store's issuer (IssueWith), read
// before the write; a failure to read them fails the credit, to be retried.
func (s *Store) CreditPayment(ctx context.Context, orgID string, p PaymentCredit) (bool, error) {
	if p.Amount <= 0 || p.PaymentID == "" {
		return false, billing.FieldError("amount", "A payment credit needs a payment id and a positive amount.")
	}
	if p.Paid.IsZero() {
		p.Paid = s.now()
	}
	issued, err := s.issue(ctx, orgID)
	if err != nil {
		return false, fmt.Errorf("credit payment %s: %w", p.PaymentID, err)
	}
	order := orderRecord{
		PK: orgPK(orgID), SK: orderSK(p.Paid, p.PaymentID), ID: p.PaymentID, OrgID: orgID,
		Amount: p.Amount, Method: p.Method, Created: p.Paid.UTC(), PaidAt: p.Paid.UTC(), Issued: issued.record(),
	}
	_, err = s.appendTransaction(ctx, orgID, billing.NewTransaction{
		Description: p.Description, Amount: p.Amount, Created: p.Paid, Key: p.PaymentID,
	}, func(txID string) ([]any, error) {
		order.TransactionID = txID
		extra := []any{order}
		if p.AliasID != "" && p.AliasID != p.PaymentID {
			extra = append(extra, aliasRecord{PK: orgPK(orgID), SK: prefixAlias + p.AliasID, PaymentID: p.PaymentID})
		}
		return extra, nil
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// AddPaymentAlias records alias as another id of the payment credited as
// paymentID (a checkout credited before its PaymentIntent was recorded
// with it). An alias recorded before is left as it is.
func (s *Store) AddPaymentAlias(ctx context.Context, orgID, alias, paymentID string) error {
	if alias == "" || paymentID == "" || alias == paymentID {
		return nil
	}
	err := s.Items().Put(ctx, aliasRecord{PK: orgPK(orgID), SK: prefixAlias + alias, PaymentID: paymentID}, true)
	if err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
		return fmt.Errorf("payment alias %s: %w", alias, err)
	}
	return nil
}

// Credited is a payment credited to an organisation.
type Credited struct {
	PaymentID string // the id it was credited under
	Amount    money.Money
}

// CreditedPayment finds the credit of a payment by its id or its alias
// (a checkout's PaymentIntent), with strongly consistent reads. It
// returns ENOTFOUND when the payment was never credited to the
// organisation.
func (s *Store) CreditedPayment(ctx context.Context, orgID, id string) (Credited, error) {
	if id == "" {
		return Credited{}, billing.Errorf(billing.ENOTFOUND, "No such payment.")
	}
	var alias aliasRecord
	switch err := s.Items().Get(ctx, orgPK(orgID), prefixAlias+id, &alias); {
	case err == nil:
		id = alias.PaymentID
	case billing.ErrorCode(err) != billing.ENOTFOUND:
		return Credited{}, fmt.Errorf("credited payment %s: %w", id, err)
	}
	tx, err := s.credit(ctx, orgID, id)
	if err != nil {
		return Credited{}, fmt.Errorf("credited payment %s: %w", id, err)
	}
	return Credited{PaymentID: id, Amount: tx.Amount}, nil
}

// credit reads the balance transaction that credited the payment
// paymentID (its id, not an alias), with strongly consistent reads; it
// returns ENOTFOUND when the payment was never credited to the
// organisation.
func (s *Store) credit(ctx context.Context, orgID, paymentID string) (billing.Transaction, error) {
	var guard struct {
		TxID string `dynamodbav:"tx_id"`
	}
	if err := s.Items().Get(ctx, orgPK(orgID), txKeySK(paymentID), &guard); err != nil {
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			return billing.Transaction{}, billing.Errorf(billing.ENOTFOUND, "No such payment.")
		}
		return billing.Transaction{}, err
	}
	return s.transaction(ctx, orgID, guard.TxID)
}

// creditedOrder returns the sort key of the order of the payment
// paymentID (the id it was credited under). The order was written with
// its balance transaction, and its key is made of the payment's time,
// which the transaction holds; the order is read to make sure. It returns
// ENOTFOUND when the payment was never credited to the organisation.
func (s *Store) creditedOrder(ctx context.Context, orgID, paymentID string) (string, error) {
	tx, err := s.credit(ctx, orgID, paymentID)
	if err != nil {
		return "", err
	}
	sk := orderSK(tx.Created, paymentID)
	var order orderRecord
	switch err := s.Items().Get(ctx, orgPK(orgID), sk, &order); {
	case billing.ErrorCode(err) == billing.ENOTFOUND:
		// Not the caller's mistake: the credit was written without it.
		return "", fmt.Errorf("order %s of credit %s is missing", sk, tx.ID)
	case err != nil:
		return "", fmt.Errorf("order of credit %s: %w", tx.ID, err)
	}
	if order.TransactionID != tx.ID {
		return "", fmt.Errorf("order %s was credited by %s, not %s", sk, order.TransactionID, tx.ID)
	}
	return sk, nil
}

// Kinds of adjustment of a credited payment.
const (
	AdjustRefund     = "refund"
	AdjustDispute    = "dispute"
	AdjustDisputeWon = "dispute_won"
)

// Adjustment is a change to a credited payment after it was credited: a
// refund or a dispute debits it, a won dispute credits it back.
type Adjustment struct {
	// Key makes the adjustment happen once, e.g. "refund:re_…".
	Key string
	// PaymentID is the id the payment was credited under.
	PaymentID string
	Kind      string
	// Amount is signed: negative for a debit.
	Amount      money.Money
	Description string
	Created     time.Time
	// TransactionID is the balance transaction that made it.
	TransactionID string
}

// adjustmentRecord is an adjustment, stored right after its order: its
// sort key is the order's, then adjustmentMark and the adjustment's key,
// so that a range of orders read holds their adjustments too.
type adjustmentRecord struct {
	PK            string      `dynamodbav:"PK"` // ORG#<org>
	SK            string      `dynamodbav:"SK"` // ORDER#<paid>#<payment>#ADJ#<key>
	Key           string      `dynamodbav:"key"`
	PaymentID     string      `dynamodbav:"payment_id"`
	Kind          string      `dynamodbav:"kind"`
	Amount        money.Money `dynamodbav:"amount"`
	Description   string      `dynamodbav:"description"`
	Created       time.Time   `dynamodbav:"created"`
	TransactionID string      `dynamodbav:"tx_id"`
}

// adjustmentMark separates an order's sort key from the key of one of its
// adjustments; payment ids hold no '#'.
const adjustmentMark = "#ADJ#"

// AdjustPayment records a refund or dispute of a credited payment exactly
// once per a.Key: the balance transaction (keyed by a.Key), the ledger
// change and the adjustment shown on the order are one DynamoDB
// transaction. It returns (false, nil) when a.Key was applied before,
// EINVALID for an adjustment without key, payment, kind or amount, and
// ENOTFOUND when a.PaymentID was never credited to the organisation. It
// first reads where the payment's order lies (three strongly consistent
// reads), to store the adjustment next to it.
func (s *Store) AdjustPayment(ctx context.Context, orgID string, a Adjustment) (bool, error) {
	if a.Key == "" || a.PaymentID == "" || a.Kind == "" || a.Amount == 0 {
		return false, billing.FieldError("amount", "A payment adjustment needs a key, a payment, a kind and an amount.")
	}
	if a.Created.IsZero() {
		a.Created = s.now()
	}
	order, err := s.creditedOrder(ctx, orgID, a.PaymentID)
	if err != nil {
		return false, fmt.Errorf("adjust payment %s: %w", a.PaymentID, err)
	}
	rec := adjustmentRecord{PK: orgPK(orgID), SK: order + adjustmentMark + a.Key, Key: a.Key, PaymentID: a.PaymentID,
		Kind: a.Kind, Amount: a.Amount, Description: a.Description, Created: a.Created.UTC()}
	_, err = s.appendTransaction(ctx, orgID, billing.NewTransaction{
		Description: a.Description, Amount: a.Amount, Created: a.Created, Key: a.Key,
	}, func(txID string) ([]any, error) {
		rec.TransactionID = txID
		return []any{rec}, nil
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("adjust payment %s: %w", a.PaymentID, err)
	}
	return true, nil
}

// Orders returns the organisation's paid orders, newest first, each with
// its adjustments, read together in one run of requests.
func (s *Store) Orders(ctx context.Context, orgID string) ([]Order, error) {
	in, err := s.query(orgPK(orgID), beginsWith(prefixOrder), true)
	if err != nil {
		return nil, fmt.Errorf("orders %s: %w", orgID, err)
	}
	var run OrderRun
	var adjs []adjustmentRecord
	if err := eachItem(ctx, s, in, func(item map[string]types.AttributeValue) error { return run.add(item, &adjs) }); err != nil {
		return nil, fmt.Errorf("orders %s: %w", orgID, err)
	}
	attachAdjustments(run.Orders, adjs)
	return run.Orders, nil
}
