package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// shardNoon is midday UTC of the real day the tests run: the counter
// shard tests move a clock of their own from it and meet nothing that
// reads the real clock.
func shardNoon() time.Time { return time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour) }

// shard is one counter shard as stored, read straight from DynamoDB.
type shard struct {
	item   map[string]types.AttributeValue
	period money.Money
	days   map[string]money.Money // the days its two slots hold, with their usage
}

// readShards returns the counter shards of org that exist, by shard
// number, each read on its own with the SDK (consistent).
func readShards(t *testing.T, db *storetest.DB, org string) map[int]shard {
	t.Helper()
	out := map[int]shard{}
	for n := range store.MaxCounterShards + 1 {
		res, err := db.Client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(db.Table), Key: store.CounterKey(org, n), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("shard %d of %s: %v", n, org, err)
		}
		if res.Item == nil {
			continue
		}
		sh := shard{item: res.Item, period: storetest.MoneyAttr(t, res.Item, "usage_period"), days: map[string]money.Money{}}
		for _, p := range []string{"0", "1"} {
			if day, _ := res.Item["d"+p].(*types.AttributeValueMemberS); day != nil && day.Value != "" {
				sh.days[day.Value] = storetest.MoneyAttr(t, res.Item, "u"+p)
			}
		}
		out[n] = sh
	}
	return out
}

// shardsHolding counts the shards whose slots hold day.
func shardsHolding(shards map[int]shard, day string) int {
	n := 0
	for _, sh := range shards {
		if _, ok := sh.days[day]; ok {
			n++
		}
	}
	return n
}

// periodOfShards is the sum of the shards' Usage This Period.
func periodOfShards(shards map[int]shard) money.Money {
	var sum money.Money
	for _, sh := range shards {
		sum += sh.period
	}
	return sum
}

// dayItem returns the usage of org's DAY# item of day, and whether it
// exists.
func dayItem(t *testing.T, db *storetest.DB, org, day string) (money.Money, bool) {
	t.Helper()
	res, err := db.Client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(db.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "DAY#" + day}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Item == nil {
		return 0, false
	}
	return storetest.MoneyAttr(t, res.Item, "used"), true
}

// recordOne records one event of amount at at as a request of its own, so
// that its id alone chooses the shard, and checks it is accepted.
func recordOne(t *testing.T, s *store.Store, org, id string, at time.Time, amount money.Money) {
	t.Helper()
	out, err := s.RecordUsage(t.Context(), org, at, []billing.UsageEvent{{ID: id, OrgID: org, Amount: amount, Time: at}})
	if err != nil || len(out) != 1 || out[0] != store.UsageAccepted {
		t.Fatalf("record %s: %v, %v; want accepted", id, out, err)
	}
}

// fillShards records single-event requests at at (of unit and a little
// more each), one after the other,
// until every one of org's n shards holds usage of the day (so that any
// later write of the same slot meets it), and returns their total.
func fillShards(t *testing.T, db *storetest.DB, s *store.Store, org string, n int, at time.Time, prefix string, unit money.Money) money.Money {
	t.Helper()
	var total money.Money
	for i := range 200 {
		amount := unit + money.Money(131*i)
		recordOne(t, s, org, fmt.Sprintf("%s-%03d", prefix, i), at, amount)
		total += amount
		if i%n == n-1 && shardsHolding(readShards(t, db, org), billing.Day(at)) == n {
			return total
		}
	}
	t.Fatalf("200 requests on %s did not reach all %d shards of %s", billing.Day(at), n, org)
	return 0
}

func setShards(t *testing.T, s *store.Store, org string, n int) {
	t.Helper()
	if _, err := s.SetCounterShards(t.Context(), org, n); err != nil {
		t.Fatalf("set %d shards of %s: %v", n, org, err)
	}
}

func dailyUsage(t *testing.T, s *store.Store, org string, from, to time.Time) map[string]money.Money {
	t.Helper()
	days, err := s.DailyUsage(t.Context(), org, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return days
}

func overviewDays(t *testing.T, s *store.Store, org string, now time.Time) map[string]money.Money {
	t.Helper()
	_, _, days, err := s.OverviewWithDays(t.Context(), org, now)
	if err != nil {
		t.Fatal(err)
	}
	return days
}

func account(t *testing.T, s *store.Store, org string, now time.Time) billing.Account {
	t.Helper()
	a, err := s.Account(t.Context(), org, now)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// written returns the items ("PK|SK") the write requests among reqs
// write.
func written(t *testing.T, reqs []storetest.Request) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		out = append(out, writes(t, r)...)
	}
	return out
}

// writes returns the items ("PK|SK") a request writes: the Put, Update and
// Delete actions of a transaction (not its condition checks), the item of
// a single write or of a batch write; none for a read.
func writes(t *testing.T, r storetest.Request) []string {
	t.Helper()
	type action struct {
		Item map[string]json.RawMessage
		Key  map[string]json.RawMessage
	}
	var out []string
	add := func(as ...*action) {
		for _, a := range as {
			if a == nil {
				continue
			}
			attrs := a.Key
			if a.Item != nil {
				attrs = a.Item
			}
			var pk, sk struct{ S string }
			if json.Unmarshal(attrs["PK"], &pk) != nil || json.Unmarshal(attrs["SK"], &sk) != nil {
				t.Fatalf("a write without a string key: %v", attrs)
			}
			out = append(out, pk.S+"|"+sk.S)
		}
	}
	switch r.Op {
	case "TransactWriteItems":
		var body struct {
			TransactItems []struct{ Put, Update, Delete *action }
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, it := range body.TransactItems {
			add(it.Put, it.Update, it.Delete)
		}
	case "PutItem", "UpdateItem", "DeleteItem":
		var a action
		if err := json.Unmarshal(r.Body, &a); err != nil {
			t.Fatal(err)
		}
		add(&a)
	case "BatchWriteItem":
		var body struct {
			RequestItems map[string][]struct{ PutRequest, DeleteRequest *action }
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, reqs := range body.RequestItems {
			for _, w := range reqs {
				add(w.PutRequest, w.DeleteRequest)
			}
		}
	}
	return out
}

func TestCounterShardsDailyReset(t *testing.T) {
	noon := shardNoon()
	d0, d1, d2, d3 := noon.AddDate(0, 0, -3), noon.AddDate(0, 0, -2), noon.AddDate(0, 0, -1), noon
	day0, day1, day2 := billing.Day(d0), billing.Day(d1), billing.Day(d2)
	week := func(t *testing.T, s *store.Store) map[string]money.Money {
		t.Helper()
		return dailyUsage(t, s, "acme", d0.AddDate(0, 0, -7), d3.AddDate(0, 0, 1))
	}
	// setup gives acme 8 shards, each holding usage of d0 and d1 (two
	// days of the two slots), the clock at d1.
	setup := func(t *testing.T) (*storetest.DB, *timetest.Clock, *store.Store, money.Money, money.Money) {
		t.Helper()
		db := storetest.New(t)
		clock := timetest.NewClock(d0)
		s := db.Store(clock.Now)
		newOrg(t, s, "acme", money.Dollars(100))
		setShards(t, s, "acme", 8)
		sum0 := fillShards(t, db, s, "acme", 8, d0, "d0", 10_007)
		clock.Set(d1)
		sum1 := fillShards(t, db, s, "acme", 8, d1, "d1", 200_003)
		return db, clock, s, sum0, sum1
	}

	t.Run("the reset moves a day from every shard into one DAY# item with their sum, once, however often and concurrently it runs", func(t *testing.T) {
		db, clock, s, sum0, sum1 := setup(t)
		want := map[string]money.Money{day0: sum0, day1: sum1}
		if got := week(t, s); !maps.Equal(got, want) {
			t.Fatalf("daily usage before the reset %v, want %v", got, want)
		}
		if got := overviewDays(t, s, "acme", d1); !maps.Equal(got, want) {
			t.Fatalf("Overview days before the reset %v, want %v", got, want)
		}
		for _, d := range []time.Time{d0, d1} {
			if got := dueOrgs(t, s, store.DueUsageOn(d)); !slices.Equal(got, []string{"acme"}) {
				t.Errorf("organisations due for %s: %v, want acme once, found by its shards", billing.Day(d), got)
			}
		}

		clock.Set(d1.Add(13 * time.Hour)) // 01:00 the next day
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := s.CloseDays(t.Context(), "acme", d2); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		used, ok := dayItem(t, db, "acme", day0)
		if !ok || used != sum0 {
			t.Errorf("DAY#%s: %v (exists %v), want the sum of the shards %v", day0, used, ok, sum0)
		}
		used, ok = dayItem(t, db, "acme", day1)
		if !ok || used != sum1 {
			t.Errorf("DAY#%s: %v (exists %v), want the sum of the shards %v, counted once by 4 concurrent resets", day1, used, ok, sum1)
		}
		shards := readShards(t, db, "acme")
		if n := shardsHolding(shards, day0) + shardsHolding(shards, day1); n != 0 {
			t.Errorf("%d slots still hold a closed day", n)
		}
		if p := periodOfShards(shards); p != sum0+sum1 {
			t.Errorf("the shards' Usage This Period %v, want %v: a reset never touches it", p, sum0+sum1)
		}
		if got := week(t, s); !maps.Equal(got, want) {
			t.Errorf("daily usage after the reset %v, want %v", got, want)
		}
		if got := overviewDays(t, s, "acme", d2); !maps.Equal(got, want) {
			t.Errorf("Overview days after the reset %v, want %v", got, want)
		}

		if err := s.CloseDays(t.Context(), "acme", d2); err != nil {
			t.Fatal(err)
		}
		if got := week(t, s); !maps.Equal(got, want) {
			t.Errorf("daily usage after a repeated reset %v, want %v", got, want)
		}
		if a := account(t, s, "acme", d2); a.UsagePeriod != sum0+sum1 || a.UsedToday != 0 {
			t.Errorf("account after the reset: period %v, today %v; want %v and 0", a.UsagePeriod, a.UsedToday, sum0+sum1)
		}
	})

	t.Run("without a reset, a write whose slot holds the day before yesterday closes that day on every shard itself", func(t *testing.T) {
		db, clock, s, sum0, sum1 := setup(t)
		clock.Set(d2)
		db.Reset()
		recordOne(t, s, "acme", "d2-first", d2, 3_000_001)
		if n := len(written(t, db.Requests())); n == 0 {
			t.Fatal("no write recorded")
		}

		shards := readShards(t, db, "acme")
		if n := shardsHolding(shards, day0); n != 0 {
			t.Errorf("%d shards still hold %s after a write of %s met it", n, day0, day2)
		}
		if n := shardsHolding(shards, day1); n != 8 {
			t.Errorf("%d shards hold %s, want all 8: yesterday is not closed by today's writes", n, day1)
		}
		if used, ok := dayItem(t, db, "acme", day0); !ok || used != sum0 {
			t.Errorf("DAY#%s: %v (exists %v), want %v: every shard's usage of the day, once", day0, used, ok, sum0)
		}
		want := map[string]money.Money{day0: sum0, day1: sum1, day2: 3_000_001}
		if got := week(t, s); !maps.Equal(got, want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
		if got := overviewDays(t, s, "acme", d2); !maps.Equal(got, want) {
			t.Errorf("Overview days %v, want %v", got, want)
		}
		if a := account(t, s, "acme", d2); a.UsagePeriod != sum0+sum1+3_000_001 || a.UsedToday != 3_000_001 {
			t.Errorf("account: period %v, today %v; want %v and 3.000001", a.UsagePeriod, a.UsedToday, sum0+sum1+3_000_001)
		}

		t.Run("and usage of an old day whose slot a newer day took lands in the day's DAY# item", func(t *testing.T) {
			// AddUsage writes the first shard: give it today's usage in
			// the slot of day0, then add usage of day0, late.
			if err := s.AddUsage(t.Context(), "acme", d2, 5); err != nil {
				t.Fatal(err)
			}
			if held := readShards(t, db, "acme")[0].days; held[day2] == 0 {
				t.Fatalf("shard 0 holds %v, want %s in the slot of %s", held, day2, day0)
			}
			if err := s.AddUsage(t.Context(), "acme", d0, 7_000_003); err != nil {
				t.Fatal(err)
			}
			if used, _ := dayItem(t, db, "acme", day0); used != sum0+7_000_003 {
				t.Errorf("DAY#%s: %v, want %v + the late 7.000003", day0, used, sum0)
			}
			shards := readShards(t, db, "acme")
			if shardsHolding(shards, day0) != 0 || shards[0].days[day2] == 0 {
				t.Errorf("shard 0 holds %v: the late usage took the slot of a newer day", shards[0].days)
			}
			want := map[string]money.Money{day0: sum0 + 7_000_003, day1: sum1, day2: 3_000_006}
			if got := week(t, s); !maps.Equal(got, want) {
				t.Errorf("daily usage %v, want %v", got, want)
			}
			if got := overviewDays(t, s, "acme", d2); !maps.Equal(got, want) {
				t.Errorf("Overview days %v, want %v", got, want)
			}
			total := sum0 + sum1 + 3_000_006 + 7_000_003
			if a := account(t, s, "acme", d2); a.UsagePeriod != total || a.UsedToday != 3_000_006 {
				t.Errorf("account: period %v, today %v; want %v and 3.000006", a.UsagePeriod, a.UsedToday, total)
			}
			// The late write must not take today's mark off the shard
			// (today and day0 share a slot and its mark): the reset at
			// midnight must still find acme, and the month's close too.
			if got := dueOrgs(t, s, store.DueUsageOn(d2)); !slices.Equal(got, []string{"acme"}) {
				t.Errorf("organisations due for the reset of %s after the late write: %v, want [acme]", day2, got)
			}
			if got := dueOrgs(t, s, store.DueUsageIn(d2)); !slices.Equal(got, []string{"acme"}) {
				t.Errorf("organisations due for the close of %s after the late write: %v, want [acme]", d2.Format("2006-01"), got)
			}
		})
	})

	t.Run("a reset and writes that close the same day at once count it once", func(t *testing.T) {
		db, clock, s, sum0, sum1 := setup(t)
		clock.Set(d2)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var today money.Money
		for g := range 8 {
			wg.Go(func() {
				if g%2 == 0 {
					if err := s.CloseDays(t.Context(), "acme", d2); err != nil {
						t.Error(err)
					}
					return
				}
				for i := range 4 {
					amount := money.Money(1_000 + 10*g + i)
					recordOne(t, db.Store(clock.Now), "acme", fmt.Sprintf("d2-%d-%d", g, i), d2, amount)
					mu.Lock()
					today += amount
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if err := s.CloseDays(t.Context(), "acme", d2); err != nil {
			t.Fatal(err)
		}
		want := map[string]money.Money{day0: sum0, day1: sum1, day2: today}
		if got := week(t, s); !maps.Equal(got, want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
		if used, _ := dayItem(t, db, "acme", day0); used != sum0 {
			t.Errorf("DAY#%s: %v, want %v", day0, used, sum0)
		}
		if p := periodOfShards(readShards(t, db, "acme")); p != sum0+sum1+today {
			t.Errorf("the shards' Usage This Period %v, want %v", p, sum0+sum1+today)
		}
	})
}

func TestCounterShardSize(t *testing.T) {
	// The longest organisation id, and usage every day for two months
	// with no daily reset: each day's first write closes the day before
	// yesterday itself, so the shard holds two days whatever happens.
	org := strings.Repeat("o", 62) + "9"
	if err := billing.ValidateOrgID(org); err != nil {
		t.Fatal(err)
	}
	noon := shardNoon()
	clock := timetest.NewClock(noon)
	db := storetest.New(t)
	s := db.Store(clock.Now)
	newOrg(t, s, org, money.Dollars(100))
	// Usage This Period near the counters' maximum, for the longest
	// numbers a shard can hold.
	db.SetUsagePeriod(t, org, billing.MaxUsageCounter-money.Dollars(100_000_000)-123_457)
	period := billing.MaxUsageCounter - money.Dollars(100_000_000) - 123_457

	const days = 60
	db.Reset()
	biggest, wantDays := 0, map[string]money.Money{}
	for d := range days {
		clock.Set(noon.AddDate(0, 0, d))
		at := clock.Now()
		var events []billing.UsageEvent
		var sum money.Money
		for i := range 10 {
			amount := billing.MaxUsageEvent - money.Money(1+i)*7_777
			events = append(events, billing.UsageEvent{ID: fmt.Sprintf("e-%d-%d", d, i), OrgID: org, Amount: amount, Time: at})
			sum += amount
		}
		out, err := s.RecordUsage(t.Context(), org, at, events)
		if err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		for i, o := range out {
			if o != store.UsageAccepted {
				t.Fatalf("day %d event %d: %s", d, i, o)
			}
		}
		period += sum
		wantDays[billing.Day(at)] = sum
		item := readShards(t, db, org)[0].item
		size := store.ItemSize(item)
		biggest = max(biggest, size)
		if size >= 400 {
			t.Fatalf("day %d: the counter shard is %d bytes, want under 400: %v", d, size, item)
		}
	}
	t.Logf("largest counter shard over %d days without a reset: %d bytes", days, biggest)

	for _, k := range written(t, db.Requests()) {
		if strings.HasPrefix(k, "ORG#"+org+"|ACCOUNT") {
			t.Fatalf("recording usage wrote the ACCOUNT item (%s)", k)
		}
	}
	last := noon.AddDate(0, 0, days-1)
	if got := dailyUsage(t, s, org, noon, last); !maps.Equal(got, wantDays) {
		t.Errorf("daily usage over the %d days: %d days, want %d; %v", days, len(got), len(wantDays), got)
	}
	if a := account(t, s, org, last); a.UsagePeriod != period || a.UsedToday != wantDays[billing.Day(last)] {
		t.Errorf("account: period %v, today %v; want %v and %v", a.UsagePeriod, a.UsedToday, period, wantDays[billing.Day(last)])
	}
}

// closeCycle closes the billing period of at for org as the invoicing
// service does: it reads the account, computes the invoice from it (all
// of Usage This Period, credit applied up to the ledger) and computes
// again when CloseCycle answers that the account changed meanwhile.
func closeCycle(ctx context.Context, s *store.Store, org string, at time.Time) (store.Invoice, error) {
	for range 20 {
		a, err := s.Account(ctx, org, at)
		if err != nil {
			return store.Invoice{}, err
		}
		applied := min(max(a.Ledger, 0), a.UsagePeriod)
		inv := store.Invoice{OrgID: org, Period: billing.PeriodStart(at), Created: at,
			Usage: a.UsagePeriod, Applied: applied, Due: a.UsagePeriod - applied, Status: store.InvoicePaid}
		if inv.Due > 0 {
			inv.Status = store.InvoiceOpen
		}
		got, created, err := s.CloseCycle(ctx, inv, a.Ledger)
		switch {
		case billing.ErrorCode(err) == billing.ECONFLICT:
			continue
		case err == nil && !created:
			return got, fmt.Errorf("the period was closed already, by %s", got.ID)
		}
		return got, err
	}
	return store.Invoice{}, errors.New("the cycle close conflicted 20 times")
}

func TestCounterShardsCycleClose(t *testing.T) {
	noon := shardNoon()

	t.Run("one transaction writes the invoice and cuts exactly its usage from the shards", func(t *testing.T) {
		db := storetest.New(t)
		s := db.Store(func() time.Time { return noon })
		newOrg(t, s, "acme", money.Dollars(10))
		setShards(t, s, "acme", 8)
		total := fillShards(t, db, s, "acme", 8, noon, "u", 10_007)
		inv := store.Invoice{OrgID: "acme", Period: billing.PeriodStart(noon), Created: noon,
			Usage: total - 4, Applied: total - 4, Status: store.InvoicePaid}

		db.Reset()
		got, created, err := s.CloseCycle(t.Context(), inv, money.Dollars(10))
		if err != nil || !created || got.Usage != total-4 {
			t.Fatalf("close cycle: %+v, created %v, %v", got, created, err)
		}
		// The request that writes the invoice's period cuts the shards;
		// no other request touches them.
		closes, cutElsewhere := 0, 0
		for _, r := range db.Requests() {
			keys := strings.Join(writes(t, r), " ")
			cut := strings.Count(keys, "CTR#acme#")
			switch {
			case strings.Contains(keys, "|INVPERIOD#"):
				closes++
				if r.Op != "TransactWriteItems" || cut < 2 || !strings.Contains(keys, "|INVOICE#") {
					t.Errorf("the close wrote %s in a %s; want one transaction with the invoice and the cut of at least 2 shards", keys, r.Op)
				}
			case cut > 0:
				cutElsewhere++
			}
		}
		if closes != 1 || cutElsewhere != 0 {
			t.Errorf("%d requests wrote the invoice's period and %d others the shards; want the one transaction", closes, cutElsewhere)
		}
		shards := readShards(t, db, "acme")
		if p := periodOfShards(shards); p != 4 {
			t.Errorf("the shards hold %v of Usage This Period after the cut, want the 0.000004 not invoiced", p)
		}
		for n, sh := range shards {
			if sh.period < 0 {
				t.Errorf("shard %d: Usage This Period %v, below zero", n, sh.period)
			}
		}
		a := account(t, s, "acme", noon)
		if a.UsagePeriod != 4 || a.Ledger != money.Dollars(10)-(total-4) || a.UsedToday != total {
			t.Errorf("account %+v: want period 0.000004, ledger 10 − %v, today's usage untouched", a, total-4)
		}
		if ledger, _ := sum(history(t, s, "acme")); ledger != a.Ledger {
			t.Errorf("history sums to %v, ledger %v", ledger, a.Ledger)
		}
	})

	t.Run("usage recorded while the cycle closes, through DynamoDB's conflicts, stays for the next period: accepted = invoiced + Usage This Period", func(t *testing.T) {
		db := storetest.NewWithConflicts(t, 3*time.Millisecond)
		s := db.Store(func() time.Time { return noon })
		newOrg(t, s, "acme", money.Dollars(1000))
		setShards(t, s, "acme", 8)
		var mu sync.Mutex
		var accepted money.Money
		record := func(g, from, n int) {
			for i := from; i < from+n; i++ {
				amount := money.Money(100_003 + 17*i + 1_000*g)
				out, err := s.RecordUsage(t.Context(), "acme", noon, []billing.UsageEvent{{ID: fmt.Sprintf("e-%d-%d", g, i), OrgID: "acme", Amount: amount, Time: noon}})
				if err != nil || out[0] != store.UsageAccepted {
					t.Errorf("record e-%d-%d: %v, %v", g, i, out, err)
					continue
				}
				mu.Lock()
				accepted += amount
				mu.Unlock()
			}
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() { record(g, 0, 8) })
		}
		wg.Wait()
		before := accepted

		var inv store.Invoice
		for g := range 6 {
			wg.Go(func() { record(g, 100, 10) })
		}
		wg.Go(func() {
			var err error
			if inv, err = closeCycle(t.Context(), s, "acme", noon); err != nil {
				t.Errorf("close cycle: %v", err)
			}
		})
		wg.Wait()

		a := account(t, s, "acme", noon)
		if inv.Usage < before || inv.Usage+a.UsagePeriod != accepted {
			t.Errorf("invoiced %v + Usage This Period %v ≠ accepted %v (or less than the %v recorded before the close)", inv.Usage, a.UsagePeriod, accepted, before)
		}
		if p := periodOfShards(readShards(t, db, "acme")); p != a.UsagePeriod {
			t.Errorf("the shards hold %v, the account reads %v", p, a.UsagePeriod)
		}
		if stored, err := s.InvoiceOfPeriod(t.Context(), "acme", noon); err != nil || stored.ID != inv.ID || stored.Usage != inv.Usage {
			t.Errorf("invoice of the period %+v, %v; want %s of %v", stored, err, inv.ID, inv.Usage)
		}
		if a.Ledger != money.Dollars(1000)-inv.Applied || inv.Applied != inv.Usage {
			t.Errorf("ledger %v, applied %v of %v", a.Ledger, inv.Applied, inv.Usage)
		}
		again, created, err := s.CloseCycle(t.Context(), store.Invoice{OrgID: "acme", Period: billing.PeriodStart(noon), Usage: 1, Due: 1}, a.Ledger)
		if err != nil || created || again.ID != inv.ID {
			t.Errorf("a second close: %s, created %v, %v; want %s unchanged", again.ID, created, err, inv.ID)
		}
		if b := account(t, s, "acme", noon); b.UsagePeriod != a.UsagePeriod {
			t.Errorf("a second close cut usage: %v, want %v", b.UsagePeriod, a.UsagePeriod)
		}
		t.Logf("conflict emulator: %+v", db.Conflicts())
	})
}

// rawAccount is the organisation's ACCOUNT item as stored.
func rawAccount(t *testing.T, db *storetest.DB, org string) map[string]types.AttributeValue {
	t.Helper()
	res, err := db.Client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(db.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "ACCOUNT"}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Item
}

func TestSetCounterShards(t *testing.T) {
	noon := shardNoon()
	clock := func() time.Time { return noon }

	t.Run("shards are only added, 1 to 16; a refused change changes nothing", func(t *testing.T) {
		db := storetest.New(t)
		s := db.Store(clock)
		newOrg(t, s, "acme", money.Dollars(10))
		recordOne(t, s, "acme", "before", noon, 1_234_567)
		if old, err := s.SetCounterShards(t.Context(), "acme", 4); err != nil || old != 1 {
			t.Fatalf("set 4 shards: was %d, %v; want 1", old, err)
		}
		shards := readShards(t, db, "acme")
		if n, err := s.CounterShards(t.Context(), "acme"); err != nil || n != 4 || len(shards) != 4 || shards[0].period != 1_234_567 || periodOfShards(shards) != 1_234_567 {
			t.Fatalf("%d shards (%v), stored %d; want 4, with the usage of shard 0 kept", n, err, len(shards))
		}
		for _, n := range []int{3, 1, 0, -1, 17, 100} {
			acct, shardsBefore := rawAccount(t, db, "acme"), readShards(t, db, "acme")
			if _, err := s.SetCounterShards(t.Context(), "acme", n); billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("set %d shards with 4: %v, want invalid", n, err)
			}
			if got := readShards(t, db, "acme"); !reflect.DeepEqual(got, shardsBefore) || !reflect.DeepEqual(rawAccount(t, db, "acme"), acct) {
				t.Errorf("a refused %d changed the shards or the account", n)
			}
		}
		if old, err := s.SetCounterShards(t.Context(), "acme", 4); err != nil || old != 4 || len(readShards(t, db, "acme")) != 4 {
			t.Errorf("setting the same count: was %d, %v; want 4, nothing changed", old, err)
		}
		if old, err := s.SetCounterShards(t.Context(), "acme", store.MaxCounterShards); err != nil || old != 4 {
			t.Errorf("set %d shards: was %d, %v", store.MaxCounterShards, old, err)
		}
		if got := readShards(t, db, "acme"); len(got) != store.MaxCounterShards || periodOfShards(got) != 1_234_567 {
			t.Errorf("%d shards stored holding %v, want %d holding 1.234567", len(got), periodOfShards(got), store.MaxCounterShards)
		}
		if _, err := s.SetCounterShards(t.Context(), "nobody", 4); billing.ErrorCode(err) != billing.ENOTFOUND || len(readShards(t, db, "nobody")) != 0 {
			t.Errorf("an unknown organisation: %v, want not found and no shard", err)
		}
	})

	t.Run("concurrent changes, through DynamoDB's conflicts, leave one consistent count, and usage recorded meanwhile counts exactly", func(t *testing.T) {
		db := storetest.NewWithConflicts(t, 3*time.Millisecond)
		newOrg(t, db.Store(clock), "acme", money.Dollars(10))
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted money.Money
			set      []int
		)
		for _, n := range []int{2, 3, 5, 8, 9, 12, 16, 4} {
			wg.Go(func() {
				_, err := db.Store(clock).SetCounterShards(t.Context(), "acme", n)
				switch code := billing.ErrorCode(err); {
				case err == nil:
					mu.Lock()
					set = append(set, n)
					mu.Unlock()
				case code != billing.EINVALID && code != billing.ECONFLICT:
					t.Errorf("set %d shards: %v, want done, or refused as lower or raced", n, err)
				}
			})
		}
		for g := range 4 {
			wg.Go(func() {
				s := db.Store(clock) // a Store of its own: it learns the count as it reads
				for i := range 10 {
					amount := money.Money(1_000_001 + 10*g + i)
					out, err := s.RecordUsage(t.Context(), "acme", noon, []billing.UsageEvent{{ID: fmt.Sprintf("e-%d-%d", g, i), OrgID: "acme", Amount: amount, Time: noon}})
					if err != nil || out[0] != store.UsageAccepted {
						t.Errorf("record: %v, %v", out, err)
						continue
					}
					if _, err := s.Account(t.Context(), "acme", noon); err != nil {
						t.Error(err)
					}
					mu.Lock()
					accepted += amount
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		s := db.Store(clock)
		n, err := s.CounterShards(t.Context(), "acme")
		if err != nil || len(set) == 0 || n != maxOf(set) {
			t.Fatalf("%d shards (%v) after the changes %v succeeded; want the largest of them", n, err, set)
		}
		shards := readShards(t, db, "acme")
		for i := range n {
			if _, ok := shards[i]; !ok {
				t.Errorf("shard %d of %d is missing", i, n)
			}
		}
		if len(shards) != n {
			t.Errorf("%d shards stored, the account says %d", len(shards), n)
		}
		if p, a := periodOfShards(shards), account(t, s, "acme", noon); p != accepted || a.UsagePeriod != accepted || a.UsedToday != accepted {
			t.Errorf("shards hold %v, account %v (today %v); want the %v accepted", p, a.UsagePeriod, a.UsedToday, accepted)
		}
	})
}

func maxOf(ns []int) int {
	m := 0
	for _, n := range ns {
		m = max(m, n)
	}
	return m
}
