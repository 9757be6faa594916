package store

import (
	"context"
	"fmt"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Items is plain item access for a component that owns its own items in
// the table, such as the sandbox payment provider. Records are structs
// with dynamodbav tags and PK and SK attributes; the caller owns the key
// prefixes it uses, which must not collide with the store's (ORG#, ORGS,
// EVT#, NOTIFY#).
type Items struct{ s *Store }

// Items returns plain item access to the table.
func (s *Store) Items() Items { return Items{s} }

// Put writes record; with onlyNew it returns ECONFLICT when an item with
// its key exists.
func (it Items) Put(ctx context.Context, record any, onlyNew bool) error {
	put, err := it.s.putNew(record)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item}
	if onlyNew {
		in.ConditionExpression = put.ConditionExpression
	}
	_, err = it.s.db.PutItem(ctx, in)
	if isConditionFailed(err) {
		return billing.Errorf(billing.ECONFLICT, "That already exists.")
	}
	if err != nil {
		return fmt.Errorf("put %T: %w", record, err)
	}
	return nil
}

// Get reads the item pk/sk into out, strongly consistent; ENOTFOUND when
// it does not exist.
func (it Items) Get(ctx context.Context, pk, sk string, out any) error {
	res, err := it.s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(it.s.table), Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", pk, sk, err)
	}
	if res.Item == nil {
		return billing.Errorf(billing.ENOTFOUND, "Not found.")
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return fmt.Errorf("get %s/%s: %w", pk, sk, err)
	}
	return nil
}

// Query reads every item of partition pk whose sort key starts with
// prefix, in sort key order, into out (a pointer to a slice of records).
func (it Items) Query(ctx context.Context, pk, prefix string, out any) error {
	in, err := it.s.query(pk, beginsWith(prefix), false)
	if err != nil {
		return fmt.Errorf("query %s: %w", pk, err)
	}
	var items []map[string]types.AttributeValue
	err = eachItem(ctx, it.s, in, func(item map[string]types.AttributeValue) error {
		items = append(items, item)
		return nil
	})
	if err == nil {
		err = attributevalue.UnmarshalListOfMaps(items, out)
	}
	if err != nil {
		return fmt.Errorf("query %s: %w", pk, err)
	}
	return nil
}

// QueryFirst reads, in one request, at most n items of partition pk whose
// sort key starts with prefix, the first in sort key order, into out (a
// pointer to a slice of records).
func (it Items) QueryFirst(ctx context.Context, pk, prefix string, n int32, out any) error {
	in, err := it.s.query(pk, beginsWith(prefix), false)
	if err != nil {
		return fmt.Errorf("query %s: %w", pk, err)
	}
	in.Limit = aws.Int32(n)
	res, err := it.s.db.Query(ctx, in)
	if err == nil {
		err = attributevalue.UnmarshalListOfMaps(res.Items, out)
	}
	if err != nil {
		return fmt.Errorf("query %s: %w", pk, err)
	}
	return nil
}

// Delete removes the item pk/sk, if it exists.
func (it Items) Delete(ctx context.Context, pk, sk string) error {
	if _, err := it.s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(it.s.table), Key: key(pk, sk)}); err != nil {
		return fmt.Errorf("delete %s/%s: %w", pk, sk, err)
	}
	return nil
}
