package store

import (
	"context"
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
)

const prefixOrder = "ORDER#"

// orderSK is the sort key of the order of a payment paid at paid: orders
// sort by when they were paid, and each order's adjustments sort right
// after it (adjustmentRecord).
func orderSK(paid time.Time, paymentID string) string {
	return prefixOrder + paid.UTC().Format(time.RFC3339Nano) + "#" + paymentID
}

// adjustmentsAhead is how many adjustments a run of orders reads in its
// one request besides the orders (refunds and disputes are rare); a run
// whose orders have more costs another request per this many.
const adjustmentsAhead = 40

// OrderRun is a run of an organisation's paid orders in the order of the
// history, each with its adjustments, and each order's position: its
// place in that order, for the next run.
type OrderRun struct {
	Orders []Order
	Pos    []string
	// More reports whether more orders lie beyond the run, in the
	// direction it was read; Beyond is then the position of the next.
	More   bool
	Beyond string
}

// ValidOrderPos reports whether pos can be a position of an order ("" is
// the top of the history).
func ValidOrderPos(pos string) bool {
	return pos == "" || strings.HasPrefix(pos, prefixOrder) && !strings.Contains(pos, adjustmentMark)
}

// ValidInvoicePos reports whether pos can be a position of an invoice (""
// is the top of the history).
func ValidInvoicePos(pos string) bool { return pos == "" || strings.HasPrefix(pos, prefixInvoice) }

// InvoicePos is the position of an invoice in the history, comparable
// with the positions of the others.
func InvoicePos(inv Invoice) string { return invoiceSK(inv.ID) }

// OrdersAt reads up to limit of the organisation's paid orders, with their
// adjustments: older than pos, newest first ("" reads from the newest);
// or, with newer, pos and newer ones, oldest first ("" reads none). It
// returns EINVALID for a pos that is not an order's. Only
// the partition of orgID is read, so a position taken from another
// organisation's history shows nothing of it.
//
// Each order's adjustments sort right after it, so any page costs one
// request, orders and adjustments together, when its orders have up to
// adjustmentsAhead adjustments.
func (s *Store) OrdersAt(ctx context.Context, orgID, pos string, newer bool, limit int) (OrderRun, error) {
	if !ValidOrderPos(pos) {
		return OrderRun{}, billing.FieldError("cursor", "That page link is not valid; start from the first page.")
	}
	if newer && pos == "" {
		return OrderRun{}, nil
	}
	var in *dynamodb.QueryInput
	var err error
	if newer {
		// Ascending from the order at pos: each order, then its
		// adjustments.
		in, err = s.query(orgPK(orgID), func(k expression.KeyBuilder) expression.KeyConditionBuilder {
			return k.Between(expression.Value(pos), expression.Value(prefixOrder+"\U0010FFFF"))
		}, false)
	} else {
		// Descending below the order at pos (its adjustments sort above
		// it): each order's adjustments, then the order.
		in, err = s.query(orgPK(orgID), beginsWith(prefixOrder), true)
		if in != nil && pos != "" {
			in.ExclusiveStartKey = key(orgPK(orgID), pos)
		}
	}
	if err != nil {
		return OrderRun{}, fmt.Errorf("orders %s: %w", orgID, err)
	}
	// One more order than the run, to know whether there are more; it
	// comes after the adjustments of the run's orders either way.
	in.Limit = aws.Int32(int32(limit + 1 + adjustmentsAhead))
	var run OrderRun
	var adjs []adjustmentRecord
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return OrderRun{}, fmt.Errorf("orders %s: %w", orgID, err)
		}
		for _, item := range out.Items {
			if err := run.add(item, &adjs); err != nil {
				return OrderRun{}, fmt.Errorf("orders %s: %w", orgID, err)
			}
		}
		if out.LastEvaluatedKey == nil || len(run.Orders) > limit {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if run.More = len(run.Orders) > limit; run.More {
		run.Beyond = run.Pos[limit]
		run.Orders, run.Pos = run.Orders[:limit], run.Pos[:limit]
	}
	attachAdjustments(run.Orders, adjs)
	return run, nil
}

// attachAdjustments gives each order its adjustments among adjs, oldest
// first.
func attachAdjustments(orders []Order, adjs []adjustmentRecord) {
	byPayment := map[string][]Adjustment{}
	for _, r := range adjs {
		byPayment[r.PaymentID] = append(byPayment[r.PaymentID], r.adjustment())
	}
	for i := range orders {
		adj := byPayment[orders[i].ID]
		slices.SortStableFunc(adj, func(a, b Adjustment) int { return a.Created.Compare(b.Created) })
		orders[i].Adjustments = adj
	}
}

// add adds an order item to the run, or an adjustment item to adjs.
func (run *OrderRun) add(item map[string]types.AttributeValue, adjs *[]adjustmentRecord) error {
	sk := skOf(item)
	if strings.Contains(sk, adjustmentMark) {
		var r adjustmentRecord
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		*adjs = append(*adjs, r)
		return nil
	}
	var r orderRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return err
	}
	run.Orders = append(run.Orders, r.order())
	run.Pos = append(run.Pos, sk)
	return nil
}

func (r orderRecord) order() Order {
	return Order{ID: r.ID, OrgID: r.OrgID, Amount: r.Amount, Method: r.Method, Created: r.Created, PaidAt: r.PaidAt,
		TransactionID: r.TransactionID, Issued: r.Issued.parties()}
}

func (r adjustmentRecord) adjustment() Adjustment {
	return Adjustment{Key: r.Key, PaymentID: r.PaymentID, Kind: r.Kind, Amount: r.Amount, Description: r.Description,
		Created: r.Created, TransactionID: r.TransactionID}
}
