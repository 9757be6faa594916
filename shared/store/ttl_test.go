package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestUsageEventTTL: a usage event's idempotency record expires (DynamoDB
// TTL on expires_at) a day after the window in which the usage API accepts
// an event, never sooner, so an id cannot count twice. The embedded server
// does not apply TTL, so the test reads the attribute.
func TestUsageEventTTL(t *testing.T) {
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", money.Dollars(10))
	ev := billing.UsageEvent{ID: "evt-ttl", OrgID: "acme", Amount: money.MustParse("0.25"), Time: now.Add(-time.Minute)}
	if _, err := s.RecordUsage(t.Context(), "acme", now, []billing.UsageEvent{ev}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(ev.ID))
	out, err := db.Client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(db.Table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "EVT#acme#" + hex.EncodeToString(sum[:])},
		"SK": &types.AttributeValueMemberS{Value: "EVT"},
	}})
	if err != nil || out.Item == nil {
		t.Fatalf("the event's record: %v, %v", out, err)
	}
	n, ok := out.Item["expires_at"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("expires_at is %#v, want a number (epoch seconds, as DynamoDB TTL reads it)", out.Item["expires_at"])
	}
	got, err := strconv.ParseInt(n.Value, 10, 64)
	if want := now.Add(billing.UsageRetention + 24*time.Hour).Unix(); err != nil || got != want {
		t.Errorf("expires_at %s, want %d: %v after the event is recorded", n.Value, want, billing.UsageRetention+24*time.Hour)
	}
}
