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
// history as paid.
type Order struct {
	ID      string // the payment's id: pi_… or cs_…
	OrgID   string
	Amount  money.Money
	Method  string // e.g. "Visa •••• 4242" or "Cryptocurrency"
	Created time.Time
	PaidAt  time.Time
	// TransactionID is the balance transaction that credited it.
	TransactionID string
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
}

// CreditPayment credits a successful payment exactly once: the balance
// transaction (keyed by the payment id), the ledger, Total Credits and the
// paid order are written in one transaction. A payment credited before
// (the synchronous answer and the webhook both report it) returns
// (false, nil) and changes nothing.
func (s *Store) CreditPayment(ctx context.Context, orgID string, p PaymentCredit) (bool, error) {
	if p.Amount <= 0 || p.PaymentID == "" {
		return false, billing.FieldError("amount", "A payment credit needs a payment id and a positive amount.")
	}
	if p.Paid.IsZero() {
		p.Paid = s.now()
	}
	order := orderRecord{
		PK: orgPK(orgID), SK: "ORDER#" + p.Paid.UTC().Format(time.RFC3339Nano) + "#" + p.PaymentID, ID: p.PaymentID, OrgID: orgID,
		Amount: p.Amount, Method: p.Method, Created: p.Paid.UTC(), PaidAt: p.Paid.UTC(),
	}
	_, err := s.appendTransaction(ctx, orgID, billing.NewTransaction{
		Description: p.Description, Amount: p.Amount, Created: p.Paid, Key: p.PaymentID,
	}, func(txID string) (any, error) {
		order.TransactionID = txID
		return order, nil
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// Orders returns the organisation's paid orders, newest first.
func (s *Store) Orders(ctx context.Context, orgID string) ([]Order, error) {
	in, err := s.query(orgPK(orgID), beginsWith("ORDER#"), true)
	if err != nil {
		return nil, fmt.Errorf("orders %s: %w", orgID, err)
	}
	var orders []Order
	err = each(ctx, s, in, func(r orderRecord) error {
		orders = append(orders, Order{ID: r.ID, OrgID: r.OrgID, Amount: r.Amount, Method: r.Method, Created: r.Created, PaidAt: r.PaidAt, TransactionID: r.TransactionID})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("orders %s: %w", orgID, err)
	}
	return orders, nil
}
