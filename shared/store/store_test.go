package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var now = time.Date(2026, 11, 27, 15, 4, 5, 0, time.UTC)

func clock() time.Time { return now }

func newOrg(t *testing.T, s *store.Store, id string, trial money.Money) {
	t.Helper()
	err := s.CreateOrg(context.Background(), store.NewOrg{
		Org: billing.Org{ID: id, Name: "Org " + id}, TrialCredits: trial, OverageLimit: money.Dollars(5),
	})
	if err != nil {
		t.Fatalf("create org %s: %v", id, err)
	}
}

func history(t *testing.T, s *store.Store, org string) []billing.Transaction {
	t.Helper()
	var txs []billing.Transaction
	if err := s.EachTransaction(context.Background(), org, func(tx billing.Transaction) error {
		txs = append(txs, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return txs
}

func sum(txs []billing.Transaction) (ledger, credits money.Money) {
	for _, tx := range txs {
		ledger += tx.Amount
		if tx.Amount > 0 {
			credits += tx.Amount
		}
	}
	return ledger, credits
}

func TestCreateOrg(t *testing.T) {
	ctx := context.Background()

	t.Run("a new organisation starts with its trial credits as one transaction", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		newOrg(t, s, "acme", money.Dollars(10))
		acct, err := s.Account(ctx, "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		if acct.Ledger != money.Dollars(10) || acct.TotalCredits != money.Dollars(10) || acct.OverageLimit != money.Dollars(5) {
			t.Errorf("account = %+v", acct)
		}
		txs := history(t, s, "acme")
		if len(txs) != 1 || txs[0].Description != billing.DescFreeTrial || txs[0].Amount != money.Dollars(10) {
			t.Errorf("history = %+v", txs)
		}
	})

	t.Run("creating an existing organisation is a conflict and changes nothing", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		newOrg(t, s, "acme", money.Dollars(10))
		err := s.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: "acme", Name: "Again"}, TrialCredits: money.Dollars(99)})
		if billing.ErrorCode(err) != billing.ECONFLICT {
			t.Fatalf("err = %v, want conflict", err)
		}
		acct, _ := s.Account(ctx, "acme", now)
		if acct.Ledger != money.Dollars(10) || len(history(t, s, "acme")) != 1 {
			t.Errorf("account changed: %+v", acct)
		}
	})

	t.Run("a bad organisation id is refused", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		err := s.CreateOrg(ctx, store.NewOrg{Org: billing.Org{ID: "Bad Id!", Name: "x"}})
		if billing.ErrorCode(err) != billing.EINVALID {
			t.Fatalf("err = %v, want invalid", err)
		}
	})

	t.Run("an unknown organisation is not found", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		if _, err := s.Account(ctx, "nobody", now); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Fatalf("err = %v, want not found", err)
		}
		_, err := s.AppendTransaction(ctx, "nobody", billing.NewTransaction{Description: "x", Amount: 1})
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Fatalf("append err = %v, want not found", err)
		}
	})
}

func TestAppendTransaction(t *testing.T) {
	ctx := context.Background()

	t.Run("after concurrent appends the ledger equals the sum of the history", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		newOrg(t, s, "acme", money.Dollars(10))
		const workers, each = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					amount := money.Money((w*each + i + 1) * 1234567)
					if i%3 == 0 {
						amount = -amount / 2
					}
					if _, err := s.AppendTransaction(ctx, "acme", billing.NewTransaction{Description: fmt.Sprintf("w%d-%d", w, i), Amount: amount}); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		txs := history(t, s, "acme")
		if len(txs) != workers*each+1 {
			t.Fatalf("history has %d rows, want %d", len(txs), workers*each+1)
		}
		ledger, credits := sum(txs)
		acct, err := s.Account(ctx, "acme", now)
		if err != nil {
			t.Fatal(err)
		}
		if acct.Ledger != ledger || acct.TotalCredits != credits {
			t.Errorf("account ledger %v credits %v, history sums to %v and %v", acct.Ledger, acct.TotalCredits, ledger, credits)
		}
	})

	t.Run("a keyed transaction is written once however often it is appended", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		newOrg(t, s, "acme", 0)
		var ok, conflicts atomic.Int32
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				_, err := s.AppendTransaction(ctx, "acme", billing.NewTransaction{Description: "Stripe Payment Intent pi_1 via Add Credits", Amount: money.Dollars(25), Key: "pi_1"})
				switch billing.ErrorCode(err) {
				case "":
					ok.Add(1)
				case billing.ECONFLICT:
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || conflicts.Load() != 5 {
			t.Errorf("ok=%d conflicts=%d, want 1 and 5", ok.Load(), conflicts.Load())
		}
		acct, _ := s.Account(ctx, "acme", now)
		if acct.Ledger != money.Dollars(25) || len(history(t, s, "acme")) != 1 {
			t.Errorf("ledger = %v", acct.Ledger)
		}
	})

	t.Run("a retry after a lost answer is applied once", func(t *testing.T) {
		db := storetest.New(t)
		lossy := &loseFirstAnswer{op: "TransactWriteItems", after: 1}
		client, err := store.NewClient(ctx, db.URL, &http.Client{Transport: lossy})
		if err != nil {
			t.Fatal(err)
		}
		s := store.New(client, db.Table, clock)
		newOrg(t, s, "acme", 0) // the first transaction goes through untouched
		tx, err := s.AppendTransaction(ctx, "acme", billing.NewTransaction{Description: "Top-up", Amount: money.Dollars(7)})
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		if lossy.lost.Load() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.lost.Load())
		}
		txs := history(t, s, "acme")
		acct, _ := s.Account(ctx, "acme", now)
		if len(txs) != 1 || txs[0].ID != tx.ID || acct.Ledger != money.Dollars(7) {
			t.Errorf("history %+v, ledger %v: want one $7 row", txs, acct.Ledger)
		}
	})

	t.Run("invalid transactions are refused and change nothing", func(t *testing.T) {
		s := storetest.New(t).Store(clock)
		newOrg(t, s, "acme", money.Dollars(1))
		for _, nt := range []billing.NewTransaction{{Description: "", Amount: 1}, {Description: "zero", Amount: 0}} {
			if _, err := s.AppendTransaction(ctx, "acme", nt); billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("%+v: err = %v, want invalid", nt, err)
			}
		}
		if len(history(t, s, "acme")) != 1 {
			t.Error("history changed")
		}
	})
}

func TestTransactions(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t).Store(clock)
	newOrg(t, s, "acme", 0)
	newOrg(t, s, "other", money.Dollars(3))
	for i := range 7 {
		at := now.Add(time.Duration(i) * time.Hour)
		if _, err := s.AppendTransaction(ctx, "acme", billing.NewTransaction{Description: fmt.Sprintf("t%d", i), Amount: money.Dollars(int64(i + 1)), Created: at}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("pages run newest first and the last page has no cursor", func(t *testing.T) {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := s.Transactions(ctx, "acme", cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range page.Items {
				got = append(got, tx.Description)
			}
			if page.Next == "" {
				if pages != 2 {
					t.Errorf("got %d pages, want 3", pages+1)
				}
				break
			}
			cursor = page.Next
		}
		want := "[t6 t5 t4 t3 t2 t1 t0]"
		if fmt.Sprint(got) != want {
			t.Errorf("got %v, want %s", got, want)
		}
	})

	t.Run("an exact multiple of the page size ends without an empty page", func(t *testing.T) {
		page, err := s.Transactions(ctx, "other", "", 1)
		if err != nil || len(page.Items) != 1 || page.Next != "" {
			t.Errorf("page = %+v, err %v", page, err)
		}
	})

	t.Run("a forged cursor is refused", func(t *testing.T) {
		if _, err := s.Transactions(ctx, "acme", "not-a-cursor!", 3); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("err = %v, want invalid", err)
		}
	})

	t.Run("another organisation's history never shows", func(t *testing.T) {
		page, err := s.Transactions(ctx, "other", "", 50)
		if err != nil || len(page.Items) != 1 || page.Items[0].Amount != money.Dollars(3) {
			t.Fatalf("other's history %+v, %v; want its one $3 grant", page.Items, err)
		}
		for _, tx := range page.Items {
			if tx.OrgID != "other" {
				t.Errorf("saw %+v", tx)
			}
		}
	})
}

func TestOverviewRead(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", money.Dollars(10))
	if err := s.AddUsage(ctx, "acme", now, money.MustParse("1.25")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, "acme", now.Add(-24*time.Hour), money.MustParse("2")); err != nil {
		t.Fatal(err)
	}
	db.Reset()
	acct, _, err := s.Overview(ctx, "acme", now)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(db.Requests()); n != 1 {
		t.Errorf("overview took %d requests, want 1", n)
	}
	if acct.UsedToday != money.MustParse("1.25") || acct.UsagePeriod != money.MustParse("3.25") {
		t.Errorf("account = %+v", acct)
	}
}

func TestTransactLimits(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", 0)
	put := func(sk string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(db.Table), Item: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "T"}, "SK": &types.AttributeValueMemberS{Value: sk},
		}}}
	}
	t.Run("more than 100 actions never reach DynamoDB", func(t *testing.T) {
		items := make([]types.TransactWriteItem, 101)
		for i := range items {
			items[i] = put(fmt.Sprint(i))
		}
		db.Reset()
		err := store.Transact(s, ctx, items)
		if !errors.Is(err, store.ErrTooManyActions) || len(db.Requests()) != 0 {
			t.Errorf("err = %v after %d requests", err, len(db.Requests()))
		}
		if err := store.Transact(s, ctx, items[:100]); err != nil {
			t.Errorf("100 actions: %v", err)
		}
	})
	t.Run("two actions on one item are refused", func(t *testing.T) {
		err := store.Transact(s, ctx, []types.TransactWriteItem{put("x"), put("x")})
		if !errors.Is(err, store.ErrSameItemTwice) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("more than 4 MB is refused", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), 300_000)
		items := make([]types.TransactWriteItem, 15)
		for i := range items {
			items[i] = put(fmt.Sprint(i))
			items[i].Put.Item["blob"] = &types.AttributeValueMemberB{Value: big}
		}
		if err := store.Transact(s, ctx, items); !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("err = %v", err)
		}
	})
}

// loseFirstAnswer forwards requests, but for the after-th request of op it
// throws the server's answer away and reports a 500, as a timeout or a
// broken connection would: the SDK retries a request that was applied.
type loseFirstAnswer struct {
	op    string
	after int32
	seen  atomic.Int32
	lost  atomic.Int32
}

func (l *loseFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.Header.Get("X-Amz-Target") != "DynamoDB_20120810."+l.op {
		return resp, err
	}
	if l.seen.Add(1) != l.after+1 || l.lost.Load() > 0 {
		return resp, nil
	}
	l.lost.Add(1)
	_ = resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusInternalServerError,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(bytes.NewReader([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"lost"}`))),
		Request:    r,
	}, nil
}

var _ dynamodb.HTTPClient = (*http.Client)(nil)

func TestCloseDays(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	s := db.Store(clock)
	newOrg(t, s, "acme", money.Dollars(10))
	want := map[string]money.Money{}
	for n := range 5 {
		at := now.AddDate(0, 0, -n)
		u := money.Money(1_000_001 * (n + 1))
		if err := s.AddUsage(ctx, "acme", at, u); err != nil {
			t.Fatal(err)
		}
		want[billing.Day(at)] = u
	}
	usage := func() map[string]money.Money {
		t.Helper()
		got, err := s.DailyUsage(ctx, "acme", now.AddDate(0, 0, -10), now)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("closing old days keeps every day's usage and today's figure", func(t *testing.T) {
		if err := s.CloseDays(ctx, "acme", now.AddDate(0, 0, -1)); err != nil {
			t.Fatal(err)
		}
		if got := usage(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
		acct, _ := s.Account(ctx, "acme", now)
		if acct.UsedToday != want[billing.Day(now)] || acct.UsagePeriod != 15_000_015 {
			t.Errorf("account %+v", acct)
		}
	})

	t.Run("closing again, or concurrently, changes nothing", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := s.CloseDays(ctx, "acme", now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := usage(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
	})
}
