package store_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// reviewLoseAnswers forwards requests; for the TransactWriteItems requests
// lose picks (1-based), it throws DynamoDB's answer away after the server
// applied the request and answers 500, as a timeout or a broken
// connection would: the SDK then retries a request that already happened.
type reviewLoseAnswers struct {
	base http.RoundTripper
	lose func(n int32) bool
	seen atomic.Int32
	lost atomic.Int32
}

func (l *reviewLoseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil || r.Header.Get("X-Amz-Target") != "DynamoDB_20120810.TransactWriteItems" || !l.lose(l.seen.Add(1)) {
		return resp, err
	}
	l.lost.Add(1)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusInternalServerError,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(bytes.NewReader([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost"}`))),
		Request:    r,
	}, nil
}

// reviewStoreOver is a Store on db's table whose requests go through
// transport, with the SDK's retries quick (as in the usage tests).
func reviewStoreOver(t *testing.T, db *storetest.DB, transport http.RoundTripper, now func() time.Time) *store.Store {
	t.Helper()
	base, err := store.NewClient(t.Context(), db.URL, &http.Client{Transport: transport})
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.New(base.Options(), func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxBackoff = 5 * time.Millisecond
			so.RateLimiter = ratelimit.None
		})
	})
	return store.New(client, db.Table, now)
}

func TestReviewHotResetUnderConflicts(t *testing.T) {
	noon := shardNoon()
	yesterday, today := noon.AddDate(0, 0, -1), noon
	db := storetest.NewWithConflicts(t, 3*time.Millisecond)
	clock := timetest.NewClock(yesterday)
	s := db.Store(clock.Now)
	newOrg(t, s, "acme", money.Dollars(1000))
	setShards(t, s, "acme", 8)
	sumY := fillShards(t, db, s, "acme", 8, yesterday, "y", 10_007)
	clock.Set(today.Truncate(24 * time.Hour).Add(time.Minute)) // 00:01

	// 16 callers record today's usage, one event a request, as a hot
	// organisation does, while the daily reset closes yesterday.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var todaySum money.Money
	for g := range 16 {
		wg.Go(func() {
			w := db.Store(clock.Now)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				amount := money.Money(1_000 + g)
				out, err := w.RecordUsage(t.Context(), "acme", clock.Now(), []billing.UsageEvent{{ID: fmt.Sprintf("t-%d-%d", g, i), OrgID: "acme", Amount: amount, Time: clock.Now()}})
				if err != nil || out[0] != store.UsageAccepted {
					t.Errorf("record: %v, %v", out, err)
					return
				}
				mu.Lock()
				todaySum += amount
				mu.Unlock()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	err := s.CloseDays(t.Context(), "acme", clock.Now())
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Errorf("the reset of a hot organisation under load failed after %v: %v", took, err)
	}
	if used, ok := dayItem(t, db, "acme", billing.Day(yesterday)); !ok || used != sumY {
		t.Errorf("DAY#%s: %v (exists %v), want %v: yesterday closed by the reset", billing.Day(yesterday), used, ok, sumY)
	}
	if a := account(t, s, "acme", clock.Now()); a.UsagePeriod != sumY+todaySum || a.UsedToday != todaySum {
		t.Errorf("account: period %v, today %v; want %v and %v", a.UsagePeriod, a.UsedToday, sumY+todaySum, todaySum)
	}
	t.Logf("reset took %v; conflict emulator: %+v", took, db.Conflicts())
}

func TestReviewLostAnswersOnShards(t *testing.T) {
	noon := shardNoon()

	t.Run("a write that closes the day before yesterday, its close's answer lost, counts that day once", func(t *testing.T) {
		d0, d2 := noon.AddDate(0, 0, -2), noon
		db := storetest.New(t)
		clock := timetest.NewClock(d0)
		s := db.Store(clock.Now)
		newOrg(t, s, "acme", money.Dollars(100))
		setShards(t, s, "acme", 4)
		sum0 := fillShards(t, db, s, "acme", 4, d0, "d0", 10_007)
		clock.Set(d2)
		// The first transaction is the write, refused (the slot holds d0);
		// the second is the close, whose answer is lost.
		lossy := &reviewLoseAnswers{base: http.DefaultTransport, lose: func(n int32) bool { return n == 2 }}
		w := reviewStoreOver(t, db, lossy, clock.Now)
		setShards(t, w, "acme", 4) // w knows the count
		lossy.seen.Store(0)
		recordOne(t, w, "acme", "d2", d2, 3_000_001)
		if lossy.lost.Load() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.lost.Load())
		}
		if used, ok := dayItem(t, db, "acme", billing.Day(d0)); !ok || used != sum0 {
			t.Errorf("DAY#%s: %v (exists %v), want %v once", billing.Day(d0), used, ok, sum0)
		}
		want := map[string]money.Money{billing.Day(d0): sum0, billing.Day(d2): 3_000_001}
		if got := dailyUsage(t, s, "acme", d0.AddDate(0, 0, -1), d2); !maps.Equal(got, want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
		if got := overviewDays(t, s, "acme", d2); !maps.Equal(got, want) {
			t.Errorf("Overview days %v, want %v", got, want)
		}
		if a := account(t, s, "acme", d2); a.UsagePeriod != sum0+3_000_001 || a.UsedToday != 3_000_001 {
			t.Errorf("account: period %v, today %v; want %v and 3.000001", a.UsagePeriod, a.UsedToday, sum0+3_000_001)
		}
	})

	t.Run("a cycle close over the shards, its answer lost, writes one invoice and cuts its usage once", func(t *testing.T) {
		db := storetest.New(t)
		s := db.Store(func() time.Time { return noon })
		newOrg(t, s, "acme", money.Dollars(10))
		setShards(t, s, "acme", 4)
		total := fillShards(t, db, s, "acme", 4, noon, "u", 10_007)
		lossy := &reviewLoseAnswers{base: http.DefaultTransport, lose: func(n int32) bool { return n == 1 }}
		c := reviewStoreOver(t, db, lossy, func() time.Time { return noon })
		inv := store.Invoice{OrgID: "acme", Period: billing.PeriodStart(noon), Created: noon,
			Usage: total - 4, Applied: total - 4, Status: store.InvoicePaid}
		got, created, err := c.CloseCycle(t.Context(), inv, money.Dollars(10))
		if err != nil || !created || got.Usage != total-4 {
			t.Fatalf("close: %+v, created %v, %v; want ours, created", got, created, err)
		}
		if lossy.lost.Load() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.lost.Load())
		}
		if p := periodOfShards(readShards(t, db, "acme")); p != 4 {
			t.Errorf("the shards hold %v after the cut, want 0.000004", p)
		}
		if a := account(t, s, "acme", noon); a.UsagePeriod != 4 || a.Ledger != money.Dollars(10)-(total-4) {
			t.Errorf("account: period %v, ledger %v", a.UsagePeriod, a.Ledger)
		}
	})
}
