package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// query returns a strongly consistent Query of partition pk, narrowed to
// the sort keys sk matches when sk is set, in sort key order or reversed.
func (s *Store) query(pk string, sk func(expression.KeyBuilder) expression.KeyConditionBuilder, reverse bool) (*dynamodb.QueryInput, error) {
	kc := expression.Key(AttrPK).Equal(expression.Value(pk))
	if sk != nil {
		kc = kc.And(sk(expression.Key(AttrSK)))
	}
	e, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    e.KeyCondition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
		ScanIndexForward:          aws.Bool(!reverse),
		ConsistentRead:            aws.Bool(true),
	}, nil
}

// each runs in page by page and calls fn with every item decoded as a T;
// it stops at fn's first error and returns it.
func each[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, fn func(T) error) error {
	return eachItem(ctx, s, in, func(item map[string]types.AttributeValue) error {
		var r T
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return err
		}
		return fn(r)
	})
}

// eachItem runs in page by page and calls fn with every raw item; it stops
// at fn's first error and returns it.
func eachItem(ctx context.Context, s *Store, in *dynamodb.QueryInput, fn func(map[string]types.AttributeValue) error) error {
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// beginsWith matches sort keys starting with prefix.
func beginsWith(prefix string) func(expression.KeyBuilder) expression.KeyConditionBuilder {
	return func(k expression.KeyBuilder) expression.KeyConditionBuilder { return k.BeginsWith(prefix) }
}
