package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/auth"
	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestOps(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	env := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": db.URL, "TABLE_NAME": db.Table, "TRIAL_CREDITS": "5.00"}
	ops := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &out, clock)
		return out.String(), err
	}

	t.Run("an operator creates an organisation with the configured trial credits", func(t *testing.T) {
		out, err := ops("create-org", "-name", "Newco Ltd", "-overage", "40", "newco")
		if err != nil || !strings.Contains(out, "Created newco (Newco Ltd) with $5.00 trial credits and a $40.00 overage limit.") {
			t.Fatalf("out %q, err %v", out, err)
		}
		acct, err := db.Store(clock).Account(ctx, "newco", now)
		if err != nil || acct.Ledger != 5_000_000 || acct.OverageLimit != 40_000_000 {
			t.Errorf("account %+v, err %v", acct, err)
		}
	})

	t.Run("a grant is a balance transaction with its description, refused twice with one key", func(t *testing.T) {
		now = now.Add(time.Minute) // after the trial grant, so history order is certain
		out, err := ops("grant", "-description", "Goodwill credit", "-key", "ticket-42", "newco", "12.345678")
		if err != nil || !strings.Contains(out, `Granted $12.35 to newco as "Goodwill credit"`) {
			t.Fatalf("out %q, err %v", out, err)
		}
		if _, err := ops("grant", "-key", "ticket-42", "newco", "12"); err == nil || !strings.Contains(err.Error(), "already recorded") {
			t.Errorf("second grant: %v", err)
		}
		page, _ := db.Store(clock).Transactions(ctx, "newco", "", 10)
		if len(page.Items) != 2 || page.Items[0].Description != "Goodwill credit" || page.Items[0].Amount != 12_345_678 {
			t.Errorf("history %+v", page.Items)
		}
	})

	t.Run("the overage limit can be set and show prints every figure at full precision", func(t *testing.T) {
		now = now.Add(time.Minute) // after the grant, so Recent changes' order is certain
		if _, err := ops("set-overage", "newco", "7.5"); err != nil {
			t.Fatal(err)
		}
		out, err := ops("show", "newco")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Total Credits", "17.345678", "Overage Protection", "7.50", "Available to Use", "24.845678", "Daily hard limit", "off"} {
			if !strings.Contains(out, want) {
				t.Errorf("show lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("grants and overage changes are in Recent changes, made by the operator", func(t *testing.T) {
		changes, err := db.Store(clock).RecentChanges(ctx, "newco", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range changes {
			if c.Actor == "operator" {
				got = append(got, c.Summary())
			}
		}
		want := []string{`Overage Protection: "$40.00" → "$7.50"`, `granted $12.35 as "Goodwill credit"`}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("operator changes %q, want %q", got, want)
		}
	})

	t.Run("list shows every organisation", func(t *testing.T) {
		out, err := ops("list")
		if err != nil || !strings.Contains(out, "newco\tNewco Ltd\tcreated 2026-11-27") {
			t.Errorf("out %q, err %v", out, err)
		}
	})

	t.Run("set-shards spreads an organisation's usage over more counter shards, and only adds", func(t *testing.T) {
		st := db.Store(clock)
		before, err := st.Account(ctx, "newco", now)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ops("set-shards", "newco", "4")
		if err != nil || !strings.Contains(out, "newco has 4 usage counter shards (was 1)") {
			t.Fatalf("out %q, err %v", out, err)
		}
		// A usage writer learns the count from its next read of the
		// account, as the usage API's does after every recording. Then
		// forty one-event requests land on every shard, and the figures
		// add them all up.
		if _, err := st.Account(ctx, "newco", now); err != nil {
			t.Fatal(err)
		}
		var want int64
		for i := range 40 {
			e := billing.UsageEvent{ID: "ops-" + strconv.Itoa(i), OrgID: "newco", Amount: money.Money(1000 + i), Time: now}
			if out, err := st.RecordUsage(ctx, "newco", now, []billing.UsageEvent{e}); err != nil || out[0] != store.UsageAccepted {
				t.Fatalf("record %s: %v %v", e.ID, out, err)
			}
			want += int64(e.Amount)
		}
		for shard := range 4 {
			var c struct {
				Period int64 `dynamodbav:"usage_period"`
			}
			k := store.CounterKey("newco", shard)
			pk := k["PK"].(*types.AttributeValueMemberS).Value
			if err := st.Items().Get(ctx, pk, "COUNTERS", &c); err != nil || c.Period <= 0 {
				t.Errorf("shard %d: usage this period %d (err %v), want some of the forty requests", shard, c.Period, err)
			}
		}
		after, err := st.Account(ctx, "newco", now)
		if err != nil || after.UsagePeriod-before.UsagePeriod != money.Money(want) || after.UsedToday-before.UsedToday != money.Money(want) {
			t.Errorf("usage this period %v → %v, today %v → %v; want both up by %v (err %v)", before.UsagePeriod, after.UsagePeriod, before.UsedToday, after.UsedToday, money.Money(want), err)
		}
		out, err = ops("show", "newco")
		if err != nil || !strings.Contains(out, "Usage counter shards") || !strings.Contains(out, "4\n") {
			t.Errorf("show: %q, err %v", out, err)
		}
		for _, args := range [][]string{{"set-shards", "newco", "2"}, {"set-shards", "newco", "17"}, {"set-shards", "newco", "0"}, {"set-shards", "newco", "x"}, {"set-shards", "nobody", "2"}} {
			if _, err := ops(args...); err == nil {
				t.Errorf("%v: no error", args)
			}
		}
		if _, err := ops("set-shards", "newco", "2"); err == nil || !strings.Contains(err.Error(), "can only be added") {
			t.Errorf("lowering: %v, want it refused saying shards can only be added", err)
		}
		if n, err := st.CounterShards(ctx, "newco"); n != 4 || err != nil {
			t.Errorf("%d shards (err %v) after the refused changes, want 4", n, err)
		}
	})

	t.Run("mistakes get a clear message and change nothing", func(t *testing.T) {
		for _, args := range [][]string{
			{"grant", "nobody", "5"},
			{"grant", "newco", "-5"},
			{"grant", "newco", "0"},
			{"grant", "newco", "1.2345678"},
			{"set-overage", "nobody", "5"},
			{"show", "nobody"},
			{"create-org", "-name", "Again", "newco"},
			{"create-org", "-name", "Bad", "Bad Id"},
			{"frobnicate"},
			{},
		} {
			if _, err := ops(args...); err == nil {
				t.Errorf("%v: no error", args)
			}
		}
		acct, _ := db.Store(clock).Account(ctx, "newco", now)
		if acct.Ledger != 17_345_678 || acct.OverageLimit != 7_500_000 || acct.Name != "Newco Ltd" {
			t.Errorf("account changed: %+v", acct)
		}
		if _, err := db.Store(clock).Account(ctx, "nobody", now); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("nobody exists now: %v", err)
		}
	})
}

func TestOpsEnvironment(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ops := func(env map[string]string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &out, clock)
		return out.String(), err
	}

	t.Run("with neither TABLE_NAME nor an endpoint it refuses, saying what to set, before looking for credentials", func(t *testing.T) {
		for _, args := range [][]string{{"list"}, {"show", "acme"}, {"grant", "acme", "5"}} {
			_, err := ops(map[string]string{}, args...)
			if !errors.Is(err, errNoTable) {
				t.Fatalf("%v: %v, want errNoTable", args, err)
			}
			for _, want := range []string{"TABLE_NAME", "AWS_ENDPOINT_URL_DYNAMODB", "make run"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the message does not mention %s: %v", want, err)
				}
			}
		}
	})

	key := []byte("0123456789abcdef0123456789abcdef")
	db := storetest.New(t)
	withKey := map[string]string{"SESSION_KEY": hex.EncodeToString(key), "AWS_ENDPOINT_URL_DYNAMODB": db.URL, "TABLE_NAME": db.Table}
	if err := db.Store(clock).CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: "acme", Name: "Acme Inc."}}); err != nil {
		t.Fatal(err)
	}
	sessions, err := auth.NewSessions(key, true, clock)
	if err != nil {
		t.Fatal(err)
	}
	sessions.UseRecords(db.Store(clock))
	request := func(method, cookie string) *http.Request {
		r, _ := http.NewRequest(method, "/billing", nil)
		r.Header.Set("Cookie", cookie)
		return r
	}

	t.Run("session-cookie records a session and prints its cookie, which the functions accept, for the organisation and role asked", func(t *testing.T) {
		out, err := ops(withKey, "session-cookie", "-org", "acme", "-role", "viewer")
		if err != nil {
			t.Fatal(err)
		}
		cookie := strings.TrimSpace(out)
		name, value, ok := strings.Cut(cookie, "=")
		if !ok || name != auth.CookieName || strings.Contains(value, " ") {
			t.Fatalf("out %q, want %s=<value> on one line", out, auth.CookieName)
		}
		s, err := sessions.Live(request(http.MethodPost, cookie))
		if err != nil || s.OrgID != "acme" || s.Role != billing.RoleViewer || s.Email != "viewer@acme.test" || s.ID == "" {
			t.Errorf("session %+v, %v; want acme's recorded viewer session", s, err)
		}
		other, _ := auth.NewSessions([]byte("another key, 32 bytes long......"), true, clock)
		if _, ok := other.Read(request(http.MethodGet, cookie)); ok {
			t.Error("another key accepts the cookie")
		}

		t.Run("and signing out with it ends it, as any session", func(t *testing.T) {
			if err := sessions.SignOut(httptest.NewRecorder(), request(http.MethodPost, cookie)); err != nil {
				t.Fatal(err)
			}
			fresh, _ := auth.NewSessions(key, true, clock)
			fresh.UseRecords(db.Store(clock))
			if s, err := fresh.Live(request(http.MethodGet, cookie)); !errors.Is(err, auth.ErrNoSession) {
				t.Errorf("after sign-out the cookie still gives %+v, %v", s, err)
			}
		})
	})

	t.Run("session-cookie needs SESSION_KEY, a table, an organisation that exists and a valid member", func(t *testing.T) {
		noKey := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": db.URL, "TABLE_NAME": db.Table}
		if _, err := ops(noKey, "session-cookie", "-org", "acme"); err == nil || !strings.Contains(err.Error(), "SESSION_KEY") {
			t.Errorf("without SESSION_KEY: %v", err)
		}
		if _, err := ops(map[string]string{"SESSION_KEY": withKey["SESSION_KEY"]}, "session-cookie", "-org", "acme"); !errors.Is(err, errNoTable) {
			t.Errorf("without a table: %v, want errNoTable", err)
		}
		if _, err := ops(withKey, "session-cookie", "-org", "nobody"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("an unknown organisation: %v", err)
		}
		for _, args := range [][]string{{"-org", "acme", "-role", "owner"}, {"-role", "admin"}, {"-org", "acme", "extra"}} {
			if out, err := ops(withKey, append([]string{"session-cookie"}, args...)...); err == nil {
				t.Errorf("%v: no error, printed %q", args, out)
			}
		}
	})
}
