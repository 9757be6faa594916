package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestSessions(t *testing.T) {
	db := storetest.New(t)
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := db.Store(func() time.Time { return at })
	ctx := t.Context()
	expires := at.Add(12 * time.Hour)
	put := func(t *testing.T, org, id, email string, role billing.Role) {
		t.Helper()
		if err := s.PutSession(ctx, org, id, email, role, expires); err != nil {
			t.Fatal(err)
		}
	}
	role := func(org, id string) (billing.Role, string) {
		r, err := s.SessionRole(ctx, org, id)
		return r, billing.ErrorCode(err)
	}

	t.Run("a recorded session is live with its role, and only in its organisation", func(t *testing.T) {
		put(t, "acme", "s1", "you@acme.test", billing.RoleAdmin)
		if r, code := role("acme", "s1"); r != billing.RoleAdmin || code != "" {
			t.Errorf("role %q, code %q", r, code)
		}
		if _, code := role("globex", "s1"); code != billing.ENOTFOUND {
			t.Errorf("another organisation's look-up: code %q, want not found", code)
		}
		if err := s.PutSession(ctx, "acme", "s1", "x@acme.test", billing.RoleAdmin, expires); billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("a second record with the id: %v, want a conflict", err)
		}
	})

	t.Run("the record expires with its cookie: expires_at is its TTL", func(t *testing.T) {
		out, err := db.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(db.Table), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#acme"}, "SK": &types.AttributeValueMemberS{Value: "SESSION#s1"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		ttl, _ := out.Item["expires_at"].(*types.AttributeValueMemberN)
		if ttl == nil || ttl.Value != strconv.FormatInt(expires.Unix(), 10) {
			t.Errorf("expires_at %v, want %d", out.Item["expires_at"], expires.Unix())
		}
		later := db.Store(func() time.Time { return expires })
		if _, err := later.SessionRole(ctx, "acme", "s1"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("at its expiry: %v, want not found", err)
		}
	})

	t.Run("a revoked session is no longer live, and revoking twice or an unknown one is fine", func(t *testing.T) {
		put(t, "acme", "s2", "you@acme.test", billing.RoleAdmin)
		for range 2 {
			if err := s.RevokeSession(ctx, "acme", "s2"); err != nil {
				t.Fatal(err)
			}
		}
		if _, code := role("acme", "s2"); code != billing.ENOTFOUND {
			t.Errorf("code %q, want not found", code)
		}
		if err := s.RevokeSession(ctx, "acme", "never"); err != nil {
			t.Errorf("revoking an unknown session: %v", err)
		}
		if _, code := role("acme", "never"); code != billing.ENOTFOUND {
			t.Errorf("revoking an unknown session created it: code %q", code)
		}
	})

	t.Run("an operator's role change applies to every live session of the member, in any case, and no one else's", func(t *testing.T) {
		put(t, "roles", "a1", "Ann@Roles.test", billing.RoleAdmin)
		put(t, "roles", "a2", "ann@roles.test", billing.RoleAdmin)
		put(t, "roles", "b1", "bob@roles.test", billing.RoleAdmin)
		put(t, "other", "a3", "ann@roles.test", billing.RoleAdmin)
		n, err := s.SetMemberRole(ctx, "roles", "ANN@roles.test", billing.RoleViewer)
		if err != nil || n != 2 {
			t.Fatalf("changed %d, err %v; want 2", n, err)
		}
		for _, c := range []struct {
			org, id string
			want    billing.Role
		}{{"roles", "a1", billing.RoleViewer}, {"roles", "a2", billing.RoleViewer}, {"roles", "b1", billing.RoleAdmin}, {"other", "a3", billing.RoleAdmin}} {
			if r, code := role(c.org, c.id); r != c.want || code != "" {
				t.Errorf("%s/%s: role %q, code %q; want %q", c.org, c.id, r, code, c.want)
			}
		}
	})

	t.Run("removing a member ends all their sessions", func(t *testing.T) {
		n, err := s.SetMemberRole(ctx, "roles", "ann@roles.test", "")
		if err != nil || n != 2 {
			t.Fatalf("removed %d, err %v; want 2", n, err)
		}
		for _, id := range []string{"a1", "a2"} {
			if _, code := role("roles", id); code != billing.ENOTFOUND {
				t.Errorf("%s: code %q, want not found", id, code)
			}
		}
		if r, _ := role("roles", "b1"); r != billing.RoleAdmin {
			t.Errorf("another member's session: role %q", r)
		}
		if n, err := s.SetMemberRole(ctx, "roles", "ann@roles.test", billing.RoleAdmin); err != nil || n != 0 {
			t.Errorf("a role change after removal changed %d (err %v); a removed session stays ended", n, err)
		}
		if _, err := s.SetMemberRole(ctx, "roles", "ann@roles.test", "owner"); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("an unknown role: %v, want invalid", err)
		}
	})
}
