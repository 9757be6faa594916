package store_test

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
)

func TestReviewDailyCloseLostAnswer(t *testing.T) {
	noon := shardNoon()
	d1, d2, d3 := noon.AddDate(0, 0, -2), noon.AddDate(0, 0, -1), noon
	db := storetest.New(t)
	clock := timetest.NewClock(d1)
	s := db.Store(clock.Now)
	newOrg(t, s, "acme", money.Dollars(100))
	recordOne(t, s, "acme", "d1", d1, 1_000_003)
	clock.Set(d2)
	recordOne(t, s, "acme", "d2", d2, 2_000_005)
	// The reset of the day after d1 closes it normally: the RECENT item
	// now exists with its full window.
	if err := s.CloseDays(t.Context(), "acme", d2.Truncate(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.Set(d3)
	want := map[string]money.Money{billing.Day(d1): 1_000_003, billing.Day(d2): 2_000_005}
	if got := overviewDays(t, s, "acme", d3); !maps.Equal(got, want) {
		t.Fatalf("Overview days before the reset %v, want %v", got, want)
	}

	// The reset of d2 closes it; DynamoDB applies the close, but its
	// answer is lost and the SDK sends the transaction again.
	lossy := &storetest.LoseAnswers{Base: http.DefaultTransport, Lose: func(n int32) bool { return n == 1 }}
	if err := db.StoreOver(t, lossy, clock.Now).CloseDays(t.Context(), "acme", d3.Truncate(24*time.Hour)); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if lossy.Lost() != 1 {
		t.Fatalf("the test lost %d answers, want 1", lossy.Lost())
	}
	if used, ok := dayItem(t, db, "acme", billing.Day(d2)); !ok || used != 2_000_005 {
		t.Fatalf("DAY#%s: %v (exists %v), want 2.000005 once", billing.Day(d2), used, ok)
	}
	if got := dailyUsage(t, s, "acme", d1.AddDate(0, 0, -1), d3); !maps.Equal(got, want) {
		t.Errorf("daily usage %v, want %v", got, want)
	}
	if got := overviewDays(t, s, "acme", d3); !maps.Equal(got, want) {
		t.Errorf("Overview days after a reset whose answer was lost: %v, want %v (yesterday closed, but RECENT not refreshed)", got, want)
	}
	_, days, _, err := s.SpendView(t.Context(), "acme", d3.AddDate(0, 0, -7), d3)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(days, want) {
		t.Errorf("Spend Management days after a reset whose answer was lost: %v, want %v", days, want)
	}
}

func TestReviewMonthEndWriteAfterClose(t *testing.T) {
	// The period that ended last, and its last seconds.
	start := billing.PeriodStart(time.Now())
	last := start.Add(-time.Second)
	clock := timetest.NewClock(last.Add(-10 * time.Minute))
	db := storetest.New(t)
	s := db.Store(clock.Now)
	newOrg(t, s, "acme", money.Dollars(100))
	recordOne(t, s, "acme", "early", clock.Now(), 5_000_000)

	// The close of the period runs just after midnight.
	clock.Set(start.Add(time.Second))
	if got := dueOrgs(t, s, store.DueUsageIn(last)); !slices.Equal(got, []string{"acme"}) {
		t.Fatalf("due for the close of %s: %v, want [acme]", last.Format("2006-01"), got)
	}
	inv, err := closeCycle(t.Context(), s, "acme", last)
	if err != nil || inv.Usage != 5_000_000 {
		t.Fatalf("close: %+v, %v", inv, err)
	}
	// A request that started at 23:59:59.95 lands after the close (its
	// transaction retried through conflicts): its usage belongs to the
	// next period, and is left in Usage This Period for it.
	recordOne(t, s, "acme", "in-flight", start.Add(-50*time.Millisecond), 7_000_000)
	if a := account(t, s, "acme", clock.Now()); a.UsagePeriod != 7_000_000 {
		t.Fatalf("Usage This Period %v, want the 7.00 that landed after the close", a.UsagePeriod)
	}
	// The next close must find the organisation, or the 7.00 is never
	// invoiced (unless acme uses more later).
	if got := dueOrgs(t, s, store.DueUsageIn(start)); !slices.Equal(got, []string{"acme"}) {
		t.Errorf("due for the close of %s: %v, want [acme]: it holds 7.00 of uninvoiced usage", start.Format("2006-01"), got)
	}
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

// reviewShardOf is the shard a usage request whose first event is id
// writes among n (counters.go, usageShard).
func reviewShardOf(id string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

func TestReviewUsagePeriodMaximum(t *testing.T) {
	// The maximum is per counter shard (billing.MaxUsageCounter): a shard
	// refuses what would pass it, another shard of the organisation takes
	// it, and the organisation's total stays within MaxCounterShards times
	// the maximum.
	noon := shardNoon()
	db := storetest.New(t)
	s := db.Store(func() time.Time { return noon })
	newOrg(t, s, "acme", money.Dollars(100))
	setShards(t, s, "acme", 2)
	// Shard 0 holds Usage This Period half an event below the maximum,
	// as a year of heavy usage would have left it.
	db.SetUsagePeriod(t, "acme", billing.MaxUsageCounter-billing.MaxUsageEvent/2)
	outcomes := map[int][]store.UsageOutcome{}
	for i := 0; len(outcomes[0]) < 2 || len(outcomes[1]) < 2; i++ {
		id := fmt.Sprintf("big-%d", i)
		shard := reviewShardOf(id, 2)
		out, err := s.RecordUsage(t.Context(), "acme", noon, []billing.UsageEvent{{ID: id, OrgID: "acme", Amount: billing.MaxUsageEvent, Time: noon}})
		if err != nil {
			t.Fatal(err)
		}
		outcomes[shard] = append(outcomes[shard], out[0])
	}
	for _, o := range outcomes[0] {
		if o != store.UsageOverLimit {
			t.Errorf("events for the full shard 0: %v, want over_limit", outcomes[0])
		}
	}
	for _, o := range outcomes[1] {
		if o != store.UsageAccepted {
			t.Errorf("events for shard 1: %v, want accepted", outcomes[1])
		}
	}
	shards := readShards(t, db, "acme")
	for n, sh := range shards {
		if sh.period > billing.MaxUsageCounter {
			t.Errorf("shard %d holds %v, past the maximum %v", n, sh.period, billing.MaxUsageCounter)
		}
	}
	want := billing.MaxUsageCounter - billing.MaxUsageEvent/2 + money.Money(len(outcomes[1]))*billing.MaxUsageEvent
	if a := account(t, s, "acme", noon); a.UsagePeriod != want {
		t.Errorf("Usage This Period %v, want %v (over the one-shard maximum, within 2 shards' maxima)", a.UsagePeriod, want)
	}
}

func TestReviewLateUsageOverLimit(t *testing.T) {
	noon := shardNoon()
	db := storetest.New(t)
	s := db.Store(func() time.Time { return noon })
	newOrg(t, s, "acme", money.Dollars(100))
	db.SetUsagePeriod(t, "acme", billing.MaxUsageCounter-money.Dollars(1))
	// Today takes the slot of the day before yesterday.
	if err := s.AddUsage(t.Context(), "acme", noon, 5); err != nil {
		t.Fatal(err)
	}
	// Usage of the day before yesterday, late, that does not fit Usage
	// This Period: refused as over the limit, like any other usage that
	// does not fit, not as a slot that "kept changing".
	err := s.AddUsage(t.Context(), "acme", noon.AddDate(0, 0, -2), money.Dollars(2))
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("late usage past the maximum: %v, want EINVALID (a counter would pass the maximum)", err)
	}
	// The usage API path: a late request of the same day.
	out, err := s.RecordUsage(t.Context(), "acme", noon.AddDate(0, 0, -2), []billing.UsageEvent{{ID: "late", OrgID: "acme", Amount: money.Dollars(2), Time: noon.AddDate(0, 0, -2)}})
	if err != nil || out[0] != store.UsageOverLimit {
		t.Errorf("late recording past the maximum: %v, %v; want over_limit", out, err)
	}
	if a := account(t, s, "acme", noon); a.UsagePeriod != billing.MaxUsageCounter-money.Dollars(1)+5 {
		t.Errorf("Usage This Period %v, want nothing added", a.UsagePeriod)
	}
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
		lossy := &storetest.LoseAnswers{Base: http.DefaultTransport, Lose: func(n int32) bool { return n == 2 }}
		w := db.StoreOver(t, lossy, clock.Now)
		setShards(t, w, "acme", 4) // w knows the count (a read, no transaction)
		recordOne(t, w, "acme", "d2", d2, 3_000_001)
		if lossy.Lost() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.Lost())
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
		lossy := &storetest.LoseAnswers{Base: http.DefaultTransport, Lose: func(n int32) bool { return n == 1 }}
		c := db.StoreOver(t, lossy, func() time.Time { return noon })
		inv := store.Invoice{OrgID: "acme", Period: billing.PeriodStart(noon), Created: noon,
			Usage: total - 4, Applied: total - 4, Status: store.InvoicePaid}
		got, created, err := c.CloseCycle(t.Context(), inv, money.Dollars(10))
		if err != nil || !created || got.Usage != total-4 {
			t.Fatalf("close: %+v, created %v, %v; want ours, created", got, created, err)
		}
		if lossy.Lost() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.Lost())
		}
		if p := periodOfShards(readShards(t, db, "acme")); p != 4 {
			t.Errorf("the shards hold %v after the cut, want 0.000004", p)
		}
		if a := account(t, s, "acme", noon); a.UsagePeriod != 4 || a.Ledger != money.Dollars(10)-(total-4) {
			t.Errorf("account: period %v, ledger %v", a.UsagePeriod, a.Ledger)
		}
	})
}

// reviewHoldRecent forwards requests, but holds the first write of a
// RECENT item until release is closed, after telling arrived.
type reviewHoldRecent struct {
	base    http.RoundTripper
	once    sync.Once
	arrived chan struct{}
	release chan struct{}
}

func (h *reviewHoldRecent) RoundTrip(r *http.Request) (*http.Response, error) {
	// The rewrite of RECENT: a put, in a transaction with the check of
	// its revision.
	if r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.TransactWriteItems" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"RECENT"`)) {
			held := false
			h.once.Do(func() { held = true })
			if held {
				close(h.arrived)
				<-h.release
			}
		}
	}
	return h.base.RoundTrip(r)
}

func TestReviewRecentRace(t *testing.T) {
	noon := shardNoon()
	d0, d1, d2 := noon.AddDate(0, 0, -2), noon.AddDate(0, 0, -1), noon
	db := storetest.New(t)
	clock := timetest.NewClock(d0)
	s := db.Store(clock.Now)
	newOrg(t, s, "acme", money.Dollars(100))
	recordOne(t, s, "acme", "d0", d0, 1_000_003)
	clock.Set(d1)
	recordOne(t, s, "acme", "d1", d1, 2_000_005)
	// Just after midnight: the first write of d2 finds d0 in its slot (a
	// request in flight at the last midnight put it back after that
	// reset) and closes it, while the reset of d2 closes d1.
	clock.Set(d2.Truncate(24 * time.Hour).Add(time.Second))
	hold := &reviewHoldRecent{base: http.DefaultTransport, arrived: make(chan struct{}), release: make(chan struct{})}
	w := db.StoreOver(t, hold, clock.Now)
	done := make(chan struct{})
	go func() {
		defer close(done)
		out, err := w.RecordUsage(t.Context(), "acme", clock.Now(), []billing.UsageEvent{{ID: "d2", OrgID: "acme", Amount: 3_000_007, Time: clock.Now()}})
		if err != nil || out[0] != store.UsageAccepted {
			t.Errorf("record: %v, %v", out, err)
		}
	}()
	select {
	case <-hold.arrived: // the writer closed d0 and read the closed days
	case <-done:
		t.Fatal("the write did not close the day before yesterday")
	}
	if err := s.CloseDays(t.Context(), "acme", clock.Now()); err != nil {
		t.Fatal(err)
	}
	close(hold.release)
	<-done
	want := map[string]money.Money{billing.Day(d0): 1_000_003, billing.Day(d1): 2_000_005, billing.Day(d2): 3_000_007}
	if got := dailyUsage(t, s, "acme", d0.AddDate(0, 0, -1), d2); !maps.Equal(got, want) {
		t.Errorf("daily usage %v, want %v", got, want)
	}
	if got := overviewDays(t, s, "acme", d2); !maps.Equal(got, want) {
		t.Errorf("Overview days %v, want %v: the writer's refresh of RECENT, from before the reset closed yesterday, landed after the reset's", got, want)
	}
}

func TestReviewSetCounterShardsLostAnswer(t *testing.T) {
	noon := shardNoon()
	db := storetest.New(t)
	s := db.Store(func() time.Time { return noon })
	newOrg(t, s, "acme", money.Dollars(10))
	lossy := &storetest.LoseAnswers{Base: http.DefaultTransport, Lose: func(n int32) bool { return n == 1 }}
	old, err := db.StoreOver(t, lossy, func() time.Time { return noon }).SetCounterShards(t.Context(), "acme", 4)
	if lossy.Lost() != 1 {
		t.Fatalf("the test lost %d answers, want 1", lossy.Lost())
	}
	if n, cerr := s.CounterShards(t.Context(), "acme"); cerr != nil || n != 4 {
		t.Fatalf("%d shards (%v): the change was applied", n, cerr)
	}
	// The change happened: the operator tool must hear so (it audits the
	// change only then, and a second run finds nothing to change).
	if err != nil || old != 1 {
		t.Errorf("set 4 shards, its answer lost: was %d, %v; want 1 and no error: the change was applied", old, err)
	}
}

// ---- shared/usage/shards_review_test.go (package usage_test): the failing test below is in /tmp/review_failing_usage_test.go.txt, a complete copy of that file ----
//
// func TestReviewLateResetAfterLazyClose(t *testing.T) {
// 	d0 := shardsNoon().AddDate(0, 0, -2)
// 	m := newMeter(t, d0)
// 	m.createOrg("acme")
// 	m.spend("acme", "2", "1")
// 	// The recording that passes the email threshold cannot publish it
// 	// (EventBridge fails): its flag stays pending for the reset.
// 	failing := usage.NewService(m.st, &failingPublisher{next: m.bus, fail: 1000}, m.clock.Now, m.log)
// 	if res, err := failing.Record(t.Context(), []usage.Input{event("a", "acme", "1.5", d0)}); err != nil || res[0].Status != usage.StatusAccepted {
// 		t.Fatalf("record: %v %+v", err, res)
// 	}
// 	m.wantCrossings("with EventBridge failing")
// 	// The reset at the next midnight does not get through (its message
// 	// waits in the DLQ); two days later the first write closes d0 itself.
// 	d2 := m.clock.Advance(48 * time.Hour)
// 	m.use("acme", "b", "0.01")
// 	// The reset of d0 is redriven: the day is over, and its crossing,
// 	// never published, goes out now.
// 	if err := m.svc.ResetOrg(t.Context(), "acme", billing.NextMidnight(d0)); err != nil {
// 		t.Fatal(err)
// 	}
// 	m.wantCrossings("after the redriven reset of "+billing.Day(d0), "spend.threshold_reached acme:"+billing.Day(d0)+":email_threshold")
// 	_ = d2
// }
