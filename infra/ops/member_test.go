package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store/storetest"
)

func TestMember(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := db.Store(clock)
	env := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": db.URL, "TABLE_NAME": db.Table}
	ops := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &out, clock)
		return out.String(), err
	}
	for _, id := range []string{"s1", "s2"} {
		if err := st.PutSession(ctx, "acme", id, "you@acme.test", billing.RoleAdmin, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutSession(ctx, "acme", "s3", "other@acme.test", billing.RoleAdmin, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	t.Run("a new role applies to every live session of the member at once", func(t *testing.T) {
		out, err := ops("member", "-org", "acme", "-email", "you@acme.test", "-role", "viewer")
		if err != nil || !strings.Contains(out, "you@acme.test is now viewer in 2 live session(s) of acme.") || !strings.Contains(out, "Cognito") {
			t.Fatalf("out %q, err %v", out, err)
		}
		for id, want := range map[string]billing.Role{"s1": billing.RoleViewer, "s2": billing.RoleViewer, "s3": billing.RoleAdmin} {
			if got, err := st.SessionRole(ctx, "acme", id); got != want || err != nil {
				t.Errorf("%s: %q, %v; want %q", id, got, err, want)
			}
		}
	})

	t.Run("remove ends the member's sessions", func(t *testing.T) {
		out, err := ops("member", "-org", "acme", "-email", "you@acme.test", "-role", "remove")
		if err != nil || !strings.Contains(out, "Ended 2 live session(s) of you@acme.test in acme.") {
			t.Fatalf("out %q, err %v", out, err)
		}
		if _, err := st.SessionRole(ctx, "acme", "s1"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("s1: %v, want ended", err)
		}
	})

	t.Run("mistakes are refused", func(t *testing.T) {
		for _, args := range [][]string{
			{"member", "-org", "acme", "-email", "you@acme.test", "-role", "owner"},
			{"member", "-org", "acme", "-email", "you@acme.test"},
			{"member", "-org", "Bad Org", "-email", "you@acme.test", "-role", "viewer"},
			{"member", "-org", "acme", "-email", "nobody", "-role", "viewer"},
			{"member", "-org", "acme", "-email", "you@acme.test", "-role", "viewer", "extra"},
		} {
			if _, err := ops(args...); err == nil {
				t.Errorf("%q: no error", args)
			}
		}
		if _, err := ops("member", "-org", "acme", "-email", "you@acme.test", "-role", "owner"); !errors.Is(err, errUsage) {
			t.Errorf("an unknown role: %v, want the usage", err)
		}
	})
}
