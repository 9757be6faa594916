package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB's own limits for TransactWriteItems. The embedded server does
// not enforce them, so transact does, before anything is sent.
const (
	MaxTransactActions = 100
	MaxTransactBytes   = 4 << 20
)

// Errors of transact's own checks, for errors.Is.
var (
	ErrTooManyActions = errors.New("transaction has more than 100 actions")
	ErrTooLarge       = errors.New("transaction is larger than 4 MB")
	ErrSameItemTwice  = errors.New("transaction has two actions on one item")
)

// transact writes items as one DynamoDB transaction after checking
// DynamoDB's limits. It never sets ClientRequestToken: idempotency comes
// from conditions on our own items, so a replayed request is detected the
// same way by DynamoDB and by the embedded server. A cancellation caused
// only by conflicting concurrent writes (TransactionConflict) changed
// nothing and is retried (retryConflicts).
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	if err := checkTransaction(items); err != nil {
		return err
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	return retryConflicts(ctx, func() error {
		_, err := s.db.TransactWriteItems(ctx, in)
		return err
	}, onlyConflicts)
}

// Retries of a write refused for a conflict: attempt n waits a random time
// below min(conflictBackoffCap, conflictBackoffBase·2ⁿ) ("full jitter"), so
// writers that collided spread out instead of colliding again, and tries
// again for as long as conflictRetryBudget from the first attempt, well
// within a usage request's 10 s timeout. A short cap keeps probing a busy
// item often, so no writer waits behind a long sleep while the item is free.
const (
	conflictBackoffBase = 2 * time.Millisecond
	conflictBackoffCap  = 64 * time.Millisecond
	conflictRetryBudget = 3 * time.Second
)

// retryConflicts calls write until it succeeds, fails for another reason
// than conflict, or conflictRetryBudget has passed; it returns write's last
// error (or ctx's).
func retryConflicts(ctx context.Context, write func() error, conflict func(error) bool) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := write()
		if !conflict(err) || time.Since(start) >= conflictRetryBudget {
			return err
		}
		ceiling := min(conflictBackoffCap, conflictBackoffBase<<min(attempt, 16))
		if err := sleep(ctx, rand.N(ceiling)); err != nil {
			return err
		}
	}
}

// checkTransaction enforces DynamoDB's limits on a transaction: at most 100
// actions, at most 4 MB, and one action per item.
func checkTransaction(items []types.TransactWriteItem) error {
	if len(items) > MaxTransactActions {
		return fmt.Errorf("%w: %d", ErrTooManyActions, len(items))
	}
	seen := make(map[string]bool, len(items))
	size := 0
	for _, it := range items {
		table, key, item := describeAction(it)
		id := table + "\x00" + keyString(key)
		if seen[id] {
			return fmt.Errorf("%w: %s", ErrSameItemTwice, keyString(key))
		}
		seen[id] = true
		size += ItemSize(item)
	}
	if size > MaxTransactBytes {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
	}
	return nil
}

func describeAction(it types.TransactWriteItem) (table string, key, item map[string]types.AttributeValue) {
	switch {
	case it.Put != nil:
		k := map[string]types.AttributeValue{AttrPK: it.Put.Item[AttrPK], AttrSK: it.Put.Item[AttrSK]}
		return aws.ToString(it.Put.TableName), k, it.Put.Item
	case it.Update != nil:
		return aws.ToString(it.Update.TableName), it.Update.Key, it.Update.Key
	case it.Delete != nil:
		return aws.ToString(it.Delete.TableName), it.Delete.Key, it.Delete.Key
	case it.ConditionCheck != nil:
		return aws.ToString(it.ConditionCheck.TableName), it.ConditionCheck.Key, it.ConditionCheck.Key
	}
	return "", nil, nil
}

func keyString(key map[string]types.AttributeValue) string {
	str := func(name string) string {
		if v, ok := key[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return str(AttrPK) + "|" + str(AttrSK)
}

// cancelReasons returns the per-action cancellation codes of a cancelled
// transaction ("ConditionalCheckFailed", "TransactionConflict", "None"…),
// or nil when err is not a cancellation.
func cancelReasons(err error) []string {
	tce, ok := errors.AsType[*types.TransactionCanceledException](err)
	if !ok {
		return nil
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes
}

// conditionFailed reports whether action i of a cancelled transaction
// failed its condition.
func conditionFailed(reasons []string, i int) bool {
	return i < len(reasons) && isConditionReason(reasons[i])
}

// isConditionReason reports whether a cancellation code is a failed
// condition.
func isConditionReason(code string) bool { return code == "ConditionalCheckFailed" }

func onlyConflicts(err error) bool {
	reasons := cancelReasons(err)
	conflict := false
	for _, r := range reasons {
		switch r {
		case "TransactionConflict":
			conflict = true
		case "", "None":
		default:
			return false
		}
	}
	return conflict
}

// isWriteConflict reports whether a single-item write was refused because
// a transaction in flight holds the item; it changed nothing.
func isWriteConflict(err error) bool {
	_, ok := errors.AsType[*types.TransactionConflictException](err)
	return ok
}

// isConditionFailed reports whether a single-item write failed its condition.
func isConditionFailed(err error) bool {
	_, ok := errors.AsType[*types.ConditionalCheckFailedException](err)
	return ok
}
