// Package store keeps the billing data in one DynamoDB table, spoken to
// with the real aws-sdk-go-v2 client (in AWS, or against the embedded
// minidyn server locally and in tests).
//
// Layout of the single table (PK, SK are strings):
//
//	ORG#<org>   ACCOUNT          ledger, limits and settings read on every allowance check, and the
//	                             number of counter shards; recording usage only reads it
//	CTR#<org>#<n> COUNTERS       counter shard n: its part of Usage This Period and two day slots
//	                             (the hot items, ~200 bytes whatever the daily reset does; counters.go)
//	ORG#<org>   PROFILE          invoice address and billing email
//	ORG#<org>   AUDIT#<id>       one saved settings change: who, when, what (ids sort by time)
//	ORG#<org>   DAY#<yyyy-mm-dd> the usage of a closed UTC day (moved out of the shards' slots by the daily close)
//	ORG#<org>   RECENT           the last 30 closed days, for the Overview and Spend Management (recent.go)
//	ORG#<org>   RECENT#REV       the revision of the closed days, which RECENT's rewrite checks
//	ORG#<org>   TX#<id>          one balance transaction (append-only; ids sort by time)
//	ORG#<org>   TXKEY#<key>      idempotency guard of a keyed balance transaction
//	ORGS        ORG#<org>        the list of organisations, for operators and schedules
//	CUS#<cus>   CUSTOMER         the organisation of a payment customer
//	EVT#<org>#<hash>  EVT        the idempotency record of a usage event
//	NOTIFY#<org>  DAY#<day>      the day's notification flags
//	CARDCHG#<org>  <kind>#<card>  a change of a card our pages make, for its webhook (cardmarks.go)
//	DUE#recharge#<shard>  ORG#<org>  an organisation with auto-recharge on, for the sweep (due.go)
//
// Components that own items use prefixes of their own (SB… for the
// sandbox provider, STRIPE… for Stripe events). GSI1 (GSI1PK, GSI1SK) is a
// sparse index kept for look-ups by an outside id that must be listed, not
// just found (e.g. invoices by number); nothing writes it yet. DueDay0,
// DueDay1, DueMonth0 and DueMonth1 are the sparse indexes of the
// organisations with usage on a day or in a month (due.go).
package store

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Key attribute and index names of the table. template.yaml must declare
// the same; a test checks it.
const (
	AttrPK     = "PK"
	AttrSK     = "SK"
	AttrGSI1PK = "GSI1PK"
	AttrGSI1SK = "GSI1SK"
	IndexGSI1  = "GSI1"
	// AttrTTL is the attribute DynamoDB's TTL reads (epoch seconds). The
	// embedded server does not expire items, so readers also check it.
	AttrTTL = "expires_at"
)

// TableInput returns the definition of the billing table named name: the
// one definition the local server, the tests and template.yaml share.
func TableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrSK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrGSI1PK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrGSI1SK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(dueIndexes[IndexDueDay0]), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(dueIndexes[IndexDueDay1]), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(dueIndexes[IndexDueMonth0]), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(dueIndexes[IndexDueMonth1]), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexGSI1),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrGSI1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		},
			// The sparse indexes of due work (due.go): keys only.
			dueIndex(IndexDueDay0), dueIndex(IndexDueDay1), dueIndex(IndexDueMonth0), dueIndex(IndexDueMonth1),
		},
	}
}

// dueIndex is the definition of the due GSI name, keyed by its attribute.
func dueIndex(name string) types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName:  aws.String(name),
		KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(dueIndexes[name]), KeyType: types.KeyTypeHash}},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
	}
}
