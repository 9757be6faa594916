package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Card change marks tell the payment provider's webhook that a change of
// a card it reports was made through our pages, which record it in the
// audit trail themselves:
//
//	CARDCHG#<org>   <kind>#<card>   written before the change is asked of
//	                                the provider; expires_at (TTL) an hour on
//
// The webhook consumes the mark (deletes it) and records nothing; with no
// mark, the change was made elsewhere (the provider's dashboard or API)
// and the webhook records it.
const (
	prefixCardMark = "CARDCHG#"
	cardMarkTTL    = time.Hour
)

// CardChange is the kind of change of a card a mark announces.
type CardChange string

// The changes of a card our pages make.
const (
	CardSetDefault CardChange = "default"
	CardRemoved    CardChange = "removed"
)

type cardMarkRecord struct {
	PK      string `dynamodbav:"PK"`         // CARDCHG#<org>
	SK      string `dynamodbav:"SK"`         // <kind>#<card>
	Expires int64  `dynamodbav:"expires_at"` // AttrTTL, epoch seconds
}

func cardMarkKey(orgID string, kind CardChange, cardID string) map[string]types.AttributeValue {
	return key(prefixCardMark+orgID, string(kind)+"#"+cardID)
}

// MarkCardChange announces that the change kind of the organisation's
// card cardID is being made, and recorded, by our pages. It replaces an
// earlier mark of the same change, so its hour starts again.
func (s *Store) MarkCardChange(ctx context.Context, orgID string, kind CardChange, cardID string) error {
	err := s.Items().Put(ctx, cardMarkRecord{PK: prefixCardMark + orgID, SK: string(kind) + "#" + cardID,
		Expires: s.now().Add(cardMarkTTL).Unix()}, false)
	if err != nil {
		return fmt.Errorf("mark card change of %s: %w", orgID, err)
	}
	return nil
}

// UnmarkCardChange takes back the mark of a change that was not made.
func (s *Store) UnmarkCardChange(ctx context.Context, orgID string, kind CardChange, cardID string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: cardMarkKey(orgID, kind, cardID)})
	if err != nil {
		return fmt.Errorf("unmark card change of %s: %w", orgID, err)
	}
	return nil
}

// ConsumeCardChange deletes the mark of the change and reports whether
// there was one that had not expired, that is whether our pages made and
// recorded the change. A mark is consumed once: a second call reports
// false. An expired mark (the embedded server keeps them) is not consumed.
func (s *Store) ConsumeCardChange(ctx context.Context, orgID string, kind CardChange, cardID string) (bool, error) {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: cardMarkKey(orgID, kind, cardID),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #ttl > :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Unix(), 10)}},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("consume card change of %s: %w", orgID, err)
	}
	return true, nil
}
