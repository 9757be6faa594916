package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Session records live in the organisation's partition:
//
//	ORG#<org>   SESSION#<id>   one signed-in session: member, role, expiry,
//	                           revoked flag; expires_at (TTL) removes it
//
// The cookie names the id (signed); the record decides whether the session
// still lives and with which role.
const prefixSession = "SESSION#"

func sessionSK(id string) string { return prefixSession + id }

// sessionRecord is one session as the table keeps it.
type sessionRecord struct {
	PK      string    `dynamodbav:"PK"`
	SK      string    `dynamodbav:"SK"`
	Email   string    `dynamodbav:"email"`
	Member  string    `dynamodbav:"member"` // the email in lower case, for MemberSessions
	Role    string    `dynamodbav:"role"`
	Created time.Time `dynamodbav:"created"`
	Expires int64     `dynamodbav:"expires_at"` // AttrTTL, epoch seconds
	Revoked bool      `dynamodbav:"revoked"`
}

// PutSession records the new live session id of orgID for the member email
// with role, until expires (also its TTL). It returns ECONFLICT when the id
// is taken.
func (s *Store) PutSession(ctx context.Context, orgID, id, email string, role billing.Role, expires time.Time) error {
	rec := sessionRecord{
		PK: orgPK(orgID), SK: sessionSK(id), Email: email, Member: strings.ToLower(email), Role: string(role),
		Created: s.now().UTC(), Expires: expires.Unix(),
	}
	put, err := s.putNew(rec)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression})
	if isConditionFailed(err) {
		return billing.Errorf(billing.ECONFLICT, "That session already exists.")
	}
	if err != nil {
		return fmt.Errorf("put session of %s: %w", orgID, err)
	}
	return nil
}

// SessionRole returns the role of the live session id of orgID, read
// strongly consistent: ENOTFOUND when there is no such session, it was
// revoked, or it has expired (the embedded server keeps expired items).
func (s *Store) SessionRole(ctx context.Context, orgID, id string) (billing.Role, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), sessionSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("get session of %s: %w", orgID, err)
	}
	ended := billing.Errorf(billing.ENOTFOUND, "Your session has ended.")
	if out.Item == nil {
		return "", ended
	}
	var rec sessionRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return "", fmt.Errorf("get session of %s: %w", orgID, err)
	}
	if rec.Revoked || s.now().Unix() >= rec.Expires {
		return "", ended
	}
	return billing.Role(rec.Role), nil
}

// RevokeSession ends the session id of orgID. Ending one that has ended or
// never existed is not an error (and creates nothing).
func (s *Store) RevokeSession(ctx context.Context, orgID, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), sessionSK(id)),
		UpdateExpression:          aws.String("SET revoked = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("revoke session of %s: %w", orgID, err)
	}
	return nil
}

// SetMemberRole changes the role of every live session of the member email
// (any case) of orgID to role, or, when role is "", revokes them all. It
// returns how many sessions it changed. A session signed in meanwhile is
// not changed: the identity provider's role applies to it.
func (s *Store) SetMemberRole(ctx context.Context, orgID, email string, role billing.Role) (int, error) {
	if role != "" && !role.Valid() {
		return 0, billing.FieldError("role", "Role must be admin or viewer.")
	}
	in, err := s.query(orgPK(orgID), beginsWith(prefixSession), false)
	if err != nil {
		return 0, fmt.Errorf("sessions of %s: %w", orgID, err)
	}
	var ids []string
	member, now := strings.ToLower(email), s.now().Unix()
	err = each(ctx, s, in, func(r sessionRecord) error {
		if r.Member == member && !r.Revoked && now < r.Expires {
			ids = append(ids, strings.TrimPrefix(r.SK, prefixSession))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sessions of %s: %w", orgID, err)
	}
	for i, id := range ids {
		update, values := "SET revoked = :t", map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}
		if role != "" {
			update, values = "SET #role = :r", map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: string(role)}}
		}
		in := &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: key(orgPK(orgID), sessionSK(id)),
			UpdateExpression: aws.String(update), ConditionExpression: aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: values,
		}
		if role != "" {
			in.ExpressionAttributeNames = map[string]string{"#role": "role"}
		}
		if _, err := s.db.UpdateItem(ctx, in); err != nil && !isConditionFailed(err) {
			return i, fmt.Errorf("update session of %s: %w", orgID, err)
		}
	}
	return len(ids), nil
}
