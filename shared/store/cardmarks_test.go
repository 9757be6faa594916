package store_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestCardChangeMarks: a mark of a change our pages make to a card is
// consumed once, by the webhook reporting that very change (organisation,
// kind and card), within its hour; it carries its expiry as the TTL.
func TestCardChangeMarks(t *testing.T) {
	var mu sync.Mutex
	at := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); at = at.Add(d) }
	db := storetest.New(t)
	s := db.Store(clock)
	ctx := t.Context()
	consume := func(t *testing.T, org string, kind store.CardChange, card string) bool {
		t.Helper()
		ok, err := s.ConsumeCardChange(ctx, org, kind, card)
		if err != nil {
			t.Fatalf("consume %s %s %s: %v", org, kind, card, err)
		}
		return ok
	}
	mark := func(t *testing.T, org string, kind store.CardChange, card string) {
		t.Helper()
		if err := s.MarkCardChange(ctx, org, kind, card); err != nil {
			t.Fatalf("mark %s %s %s: %v", org, kind, card, err)
		}
	}

	t.Run("a mark is consumed once, only by its own organisation, kind and card", func(t *testing.T) {
		mark(t, "acme", store.CardRemoved, "pm_1")
		if consume(t, "globex", store.CardRemoved, "pm_1") || consume(t, "acme", store.CardSetDefault, "pm_1") || consume(t, "acme", store.CardRemoved, "pm_2") {
			t.Error("another organisation, kind or card consumed the mark")
		}
		if !consume(t, "acme", store.CardRemoved, "pm_1") {
			t.Fatal("the mark was not consumed")
		}
		if consume(t, "acme", store.CardRemoved, "pm_1") {
			t.Error("the mark was consumed twice")
		}
	})

	t.Run("no mark is not consumed", func(t *testing.T) {
		if consume(t, "acme", store.CardSetDefault, "pm_never") {
			t.Error("a change never marked was consumed")
		}
	})

	t.Run("a mark expires an hour after it is made: its TTL, and not consumed after it", func(t *testing.T) {
		mark(t, "acme", store.CardSetDefault, "pm_1")
		out, err := db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(db.Table), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "CARDCHG#acme"}, "SK": &types.AttributeValueMemberS{Value: "default#pm_1"},
		}})
		if err != nil || out.Item == nil {
			t.Fatalf("the mark's item: %v, %v", out, err)
		}
		n, _ := out.Item[store.AttrTTL].(*types.AttributeValueMemberN)
		if want := strconv.FormatInt(clock().Add(time.Hour).Unix(), 10); n == nil || n.Value != want {
			t.Errorf("%s = %v, want %s (epoch seconds an hour on)", store.AttrTTL, out.Item[store.AttrTTL], want)
		}
		advance(time.Hour)
		if consume(t, "acme", store.CardSetDefault, "pm_1") {
			t.Error("an expired mark was consumed")
		}
		// Marking the change again starts a new hour.
		mark(t, "acme", store.CardSetDefault, "pm_1")
		advance(time.Hour - time.Second)
		if !consume(t, "acme", store.CardSetDefault, "pm_1") {
			t.Error("a mark renewed within its hour was not consumed")
		}
	})

	t.Run("an unmarked change is not consumed", func(t *testing.T) {
		mark(t, "acme", store.CardRemoved, "pm_3")
		if err := s.UnmarkCardChange(ctx, "acme", store.CardRemoved, "pm_3"); err != nil {
			t.Fatal(err)
		}
		if consume(t, "acme", store.CardRemoved, "pm_3") {
			t.Error("a mark taken back was consumed")
		}
	})
}
