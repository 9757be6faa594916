package storetest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	const hold = 500 * time.Millisecond
	db := storetest.NewWithConflicts(t, hold)
	key := func(pk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: "X"}}
	}
	add := func(pk string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(db.Table), Key: key(pk), UpdateExpression: aws.String("ADD n :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
		}}
	}
	transact := func(items ...types.TransactWriteItem) error {
		_, err := db.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	}
	count := func(pk string) string {
		out, err := db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(db.Table), Key: key(pk), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := out.Item["n"].(*types.AttributeValueMemberN); ok {
			return n.Value
		}
		return "none"
	}
	// inFlight runs a transaction on pk and returns once it holds its item:
	// the emulator has seen it arrive and claims its items at once.
	inFlight := func(pk string) <-chan error {
		before := db.Conflicts().Transactions
		done := make(chan error, 1)
		go func() { done <- transact(add(pk)) }()
		for db.Conflicts().Transactions == before {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(hold / 10)
		return done
	}

	t.Run("a transaction overlapping another on one item is cancelled with TransactionConflict on that item only", func(t *testing.T) {
		first := inFlight("A")
		err := transact(add("B"), add("A"))
		tce, ok := errors.AsType[*types.TransactionCanceledException](err)
		if !ok {
			t.Fatalf("second transaction: got %v, want a TransactionCanceledException", err)
		}
		var codes []string
		for _, r := range tce.CancellationReasons {
			codes = append(codes, aws.ToString(r.Code))
		}
		if len(codes) != 2 || codes[0] != "None" || codes[1] != "TransactionConflict" {
			t.Errorf("cancellation reasons %v, want [None TransactionConflict]", codes)
		}
		if err := <-first; err != nil {
			t.Fatalf("first transaction: %v", err)
		}
		if got := count("A"); got != "1" {
			t.Errorf("A counted %s, want 1: only the first transaction applies", got)
		}
		if got := count("B"); got != "none" {
			t.Errorf("B counted %s, want none: a cancelled transaction changes nothing", got)
		}
		if err := transact(add("B"), add("A")); err != nil {
			t.Errorf("the same transaction once the first finished: %v", err)
		}
	})

	t.Run("a single write of an item a transaction holds is refused with TransactionConflictException", func(t *testing.T) {
		first := inFlight("C")
		_, err := db.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(db.Table), Key: key("C"), UpdateExpression: aws.String("ADD n :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
		})
		if _, ok := errors.AsType[*types.TransactionConflictException](err); !ok {
			t.Errorf("update during a transaction: got %v, want a TransactionConflictException", err)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if got := count("C"); got != "1" {
			t.Errorf("C counted %s, want 1", got)
		}
	})

	t.Run("transactions on different items do not conflict", func(t *testing.T) {
		before := db.Conflicts()
		first := inFlight("D")
		if err := transact(add("E")); err != nil {
			t.Errorf("transaction on another item: %v", err)
		}
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if got := db.Conflicts(); got.Cancelled != before.Cancelled || got.Transactions != before.Transactions+2 {
			t.Errorf("stats %+v after %+v, want two more transactions and no more cancelled", got, before)
		}
	})
}
