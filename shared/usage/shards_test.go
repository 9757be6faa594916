package usage_test

import (
	"fmt"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// shardsNoon is midday UTC of the real day the tests run.
func shardsNoon() time.Time { return time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour) }

// setShards gives the organisation n counter shards, through the
// meter's store (which then knows the count).
func (m *meter) setShards(org string, n int) {
	m.t.Helper()
	if _, err := m.st.SetCounterShards(m.t.Context(), org, n); err != nil {
		m.t.Fatalf("set %d shards of %s: %v", n, org, err)
	}
}

// counterShard is one counter shard as stored.
type counterShard struct {
	period money.Money
	days   map[string]money.Money // the days its slots hold, with their usage
}

// shards reads the organisation's counter shards straight from DynamoDB,
// by partition key.
func (m *meter) shards(org string) map[string]counterShard {
	m.t.Helper()
	out := map[string]counterShard{}
	for _, it := range m.items("CTR#" + org + "#") {
		sh := counterShard{period: storetest.MoneyAttr(m.t, it, "usage_period"), days: map[string]money.Money{}}
		for _, p := range []string{"0", "1"} {
			if day := attrS(it, "d"+p); day != "" {
				sh.days[day] = storetest.MoneyAttr(m.t, it, "u"+p)
			}
		}
		out[attrS(it, "PK")] = sh
	}
	return out
}

// spread checks that the organisation's usage sits on at least min of its
// shards and that they add up to want.
func (m *meter) spread(org string, min int, want money.Money) {
	m.t.Helper()
	var sum money.Money
	used := 0
	for _, sh := range m.shards(org) {
		sum += sh.period
		if sh.period > 0 {
			used++
		}
	}
	if used < min || sum != want {
		m.t.Errorf("%s: usage on %d shards, summing to %v; want at least %d shards summing to %v", org, used, sum, min, want)
	}
}

// renamed is the pool with its event ids prefixed and extra added to
// each amount: other events.
func renamed(p pool, prefix string, extra money.Money) pool {
	q := pool{total: map[string]money.Money{}}
	for _, in := range p.events {
		in.Event.ID = prefix + in.Event.ID
		in.Event.Amount += extra
		q.events = append(q.events, in)
		q.total[in.Event.OrgID] += in.Event.Amount
	}
	return q
}

// hammer sends the pool's events from 16 concurrent callers through POST
// /v1/usage: 4 in a batch of 100, 12 one event a request, over
// overlapping ranges of the pool (duplicates across callers), every batch
// of 100 and every third request of one event sent twice (a retry, which
// must find every event recorded). Then it sends the whole
// pool once more, so that every event was sent, and returns the tally.
func (m *meter) hammer(h http.Handler, p pool) *tally {
	m.t.Helper()
	tl := newTally()
	send := func(who string, batch []usage.Input) []usage.Result {
		status, results := postUsage(m.t, h, batch)
		if status != http.StatusOK || len(results) != len(batch) {
			m.t.Errorf("%s: status %d with %d results for %d events, want 200", who, status, len(results), len(batch))
			return nil
		}
		tl.add(batch, results)
		return results
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			size, batches := 1, 12
			if g%4 == 0 {
				size, batches = 100, 1
			}
			for b := range batches {
				batch := p.batch(g*23+b*size, size, 0)
				send(fmt.Sprintf("caller %d request %d", g, b), batch)
				if size == 1 && b%3 != 0 {
					continue
				}
				for i, r := range send(fmt.Sprintf("caller %d retry %d", g, b), batch) {
					if r.Status != usage.StatusDuplicate {
						m.t.Errorf("caller %d retry %d: event %s %+v, want a duplicate: its request was answered", g, b, batch[i].Event.ID, r)
					}
				}
			}
		})
	}
	wg.Wait()
	for start := 0; start < len(p.events); start += 100 {
		send("the final sweep", p.events[start:min(start+100, len(p.events))])
	}
	return tl
}

func TestShardsUnderConflicts(t *testing.T) {
	day0 := shardsNoon().AddDate(0, 0, -2)
	db := storetest.NewWithConflicts(t, conflictHold)
	m := newMeterOn(t, day0, db)
	m.createOrg("acme")
	m.setShards("acme", 8)
	h := m.usageAPI()
	p0 := newPool(day0.Add(-time.Minute), []string{"acme"}, 200)

	t.Run("concurrent callers with batches of 1 and 100, retries and duplicates: each event counts once, accepted = Usage This Period = today's usage, spread over the shards", func(t *testing.T) {
		m := m.as(t)
		tl := m.hammer(h, p0)
		m.checkExact(p0, tl)
		if tl.statuses[usage.StatusError] > 0 || tl.statuses[usage.StatusRejected] > 0 {
			t.Errorf("outcomes %v: no event may fail or be refused", tl.statuses)
		}
		m.spread("acme", 4, p0.total["acme"])
	})

	t.Run("two days later, with no daily reset, concurrent callers close the day before yesterday once and count today exactly", func(t *testing.T) {
		m := m.as(t)
		day2 := m.clock.Advance(48 * time.Hour)
		held := 0
		for _, sh := range m.shards("acme") {
			if _, ok := sh.days[billing.Day(day0)]; ok {
				held++
			}
		}
		if held < 4 {
			t.Fatalf("%d shards hold %s: the test would not make writes close it", held, billing.Day(day0))
		}
		p2 := renamed(newPool(day2.Add(-time.Minute), []string{"acme"}, 200), "later-", 7)
		tl := m.hammer(h, p2)
		for _, in := range p2.events {
			if n := tl.accepted[eventKey(in)]; n != 1 {
				t.Errorf("event %s accepted %d times, want once", eventKey(in), n)
			}
		}
		if tl.statuses[usage.StatusError] > 0 || tl.statuses[usage.StatusRejected] > 0 {
			t.Errorf("outcomes %v: no event may fail or be refused", tl.statuses)
		}
		total := p0.total["acme"] + p2.total["acme"]
		if a := m.account("acme"); a.UsagePeriod != total || a.UsedToday != p2.total["acme"] {
			t.Errorf("Usage This Period %v, today %v; want %v and %v", a.UsagePeriod, a.UsedToday, total, p2.total["acme"])
		}
		want := map[string]money.Money{billing.Day(day0): p0.total["acme"], billing.Day(day2): p2.total["acme"]}
		if got := m.dailyUsage("acme"); !maps.Equal(got, want) {
			t.Errorf("daily usage %v, want %v", got, want)
		}
		for pk, sh := range m.shards("acme") {
			if _, ok := sh.days[billing.Day(day0)]; ok {
				t.Errorf("%s still holds %s", pk, billing.Day(day0))
			}
		}
		m.spread("acme", 4, total)
		if n := len(m.items("EVT#")); n != 2*len(p0.events) {
			t.Errorf("%d idempotency records, want %d", n, 2*len(p0.events))
		}
	})

	c := db.Conflicts()
	t.Logf("conflict emulator: %+v, %.1f%% of transactions cancelled", c, 100*c.Rate())
	if c.Cancelled == 0 {
		t.Errorf("emulator stats %+v: the load met no conflict, so it proves nothing", c)
	}
}

func TestShardsDailyLimit(t *testing.T) {
	noon := shardsNoon()
	day := billing.Day(noon)
	m := newMeterOn(t, noon, storetest.NewWithConflicts(t, conflictHold))
	m.createOrg("acme") // $100 of credit: only the budget limits today
	m.spend("acme", "2", "1")
	m.setShards("acme", 8)
	threshold, budget := "spend.threshold_reached acme:"+day+":email_threshold", "spend.budget_reached acme:"+day+":budget"
	// concurrently records n events of amount, each its own request (its
	// own shard), from 8 callers.
	concurrently := func(prefix string, n int, amount string) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < n; i += 8 {
					res, err := m.svc.Record(t.Context(), []usage.Input{event(fmt.Sprintf("%s-%02d", prefix, i), "acme", amount, noon)})
					if err != nil || res[0].Status != usage.StatusAccepted {
						t.Errorf("record %s-%02d: %v %+v", prefix, i, err, res)
					}
				}
			})
		}
		wg.Wait()
	}

	concurrently("a", 39, "0.05")
	if a := m.account("acme"); a.UsedToday != money.MustParse("1.95") {
		t.Fatalf("today's usage %v after 39 × 0.05, want 1.95", a.UsedToday)
	}
	m.spread("acme", 4, money.MustParse("1.95"))
	m.wantCrossings("past the email threshold, below the budget", threshold)

	m.use("acme", "b", "0.049999")
	if a := m.allowance("acme"); !a.Allowed || a.Available != 1 || a.Reason != "" || a.ResetsAt != nil {
		t.Errorf("one micro-dollar below the budget: %+v, want allowed with 0.000001 available", a)
	}
	m.wantCrossings("one micro-dollar below the budget", threshold)

	m.use("acme", "c", "0.000001")
	a := m.allowance("acme")
	if a.Allowed || a.Available != 0 || a.Reason != billing.ReasonDailyLimitReached || a.ResetsAt == nil || !a.ResetsAt.Equal(billing.NextMidnight(noon)) {
		t.Errorf("at exactly the budget: %+v, want refused for the daily limit until %v", a, billing.NextMidnight(noon))
	}
	m.wantCrossings("at the budget", threshold, budget)

	// Usage that already happened is recorded past the budget, and
	// nothing is published again.
	concurrently("d", 16, "0.010001")
	if a := m.account("acme"); a.UsedToday != money.MustParse("2.160016") || a.UsagePeriod != a.UsedToday {
		t.Errorf("today's usage %v, period %v; want 2.160016", a.UsedToday, a.UsagePeriod)
	}
	m.wantCrossings("past the budget", threshold, budget)
	if a := m.allowance("acme"); a.Allowed || a.Reason != billing.ReasonDailyLimitReached {
		t.Errorf("past the budget: %+v, want refused", a)
	}
}

// batchGets counts the BatchGetItem requests among reqs and any other
// request.
func batchGets(reqs []storetest.Request) (gets, others int, keys []int) {
	for _, r := range reqs {
		if r.Op == "BatchGetItem" {
			gets++
			keys = append(keys, r.Actions())
		} else {
			others++
		}
	}
	return gets, others, keys
}

func TestShardReads(t *testing.T) {
	noon := shardsNoon()
	m := newMeter(t, noon)
	m.createOrg("acme")
	m.setShards("acme", 8)
	var total money.Money
	for i := range 24 {
		amount := money.Money(100_003 * (i + 1))
		m.use("acme", fmt.Sprintf("e-%02d", i), amount.String())
		total += amount
	}
	m.spread("acme", 4, total)

	t.Run("an allowance of a sharded organisation is one BatchGetItem of the account and every shard", func(t *testing.T) {
		m := m.as(t)
		m.db.Reset()
		a := m.allowance("acme")
		if gets, others, keys := batchGets(m.db.Requests()); gets != 1 || others != 0 || keys[0] != 9 {
			t.Errorf("%d BatchGetItem (keys %v) and %d other requests; want one of 9 keys", gets, keys, others)
		}
		if want := money.Dollars(110) - total; a.Available != want {
			t.Errorf("available %v, want %v", a.Available, want)
		}
	})

	t.Run("a usage request reads the account and every shard in one BatchGetItem", func(t *testing.T) {
		m := m.as(t)
		m.db.Reset()
		m.use("acme", "one-more", "0.000001")
		total++
		if gets, _, keys := batchGets(m.db.Requests()); gets != 1 || keys[0] != 10 {
			t.Errorf("%d BatchGetItem (keys %v); want one of the account, 8 shards and the day's flags", gets, keys)
		}
	})

	t.Run("a Store that does not know the count reads in at most two, then one", func(t *testing.T) {
		m := m.as(t)
		cold := usage.NewService(m.db.Store(m.clock.Now), m.bus, m.clock.Now, m.log)
		m.db.Reset()
		a, err := cold.Allowance(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if gets, others, keys := batchGets(m.db.Requests()); gets > 2 || others != 0 {
			t.Errorf("cold: %d BatchGetItem (keys %v) and %d other requests; want at most 2", gets, keys, others)
		}
		if want := m.allowance("acme"); a != want {
			t.Errorf("cold allowance %+v, want %+v", a, want)
		}
		m.db.Reset()
		if _, err := cold.Allowance(t.Context(), "acme"); err != nil {
			t.Fatal(err)
		}
		if gets, others, keys := batchGets(m.db.Requests()); gets != 1 || others != 0 || keys[0] != 9 {
			t.Errorf("warm: %d BatchGetItem (keys %v) and %d other requests; want one of 9 keys", gets, keys, others)
		}
	})

	t.Run("a page's Store, which reads every possible shard first, reads a sharded organisation in one request, cold", func(t *testing.T) {
		m := m.as(t)
		st := m.db.Store(m.clock.Now)
		st.ReadEveryShardFirst()
		m.db.Reset()
		acct, err := st.Account(t.Context(), "acme", m.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if gets, others, keys := batchGets(m.db.Requests()); gets != 1 || others != 0 || keys[0] != 1+store.MaxCounterShards {
			t.Errorf("cold: %d BatchGetItem (keys %v) and %d other requests; want one of the account and all %d possible shards", gets, keys, others, store.MaxCounterShards)
		}
		if want := m.account("acme"); acct.UsagePeriod != want.UsagePeriod || acct.UsedToday != want.UsedToday {
			t.Errorf("cold read: period %v, today %v; want %v and %v", acct.UsagePeriod, acct.UsedToday, want.UsagePeriod, want.UsedToday)
		}
		m.db.Reset()
		if _, err := st.Account(t.Context(), "acme", m.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if gets, _, keys := batchGets(m.db.Requests()); gets != 1 || keys[0] != 9 {
			t.Errorf("warm: %d BatchGetItem (keys %v); want one of 9 keys", gets, keys)
		}
	})

	t.Run("a Store that writes with a stale count of one shard writes the first, and every reader counts it", func(t *testing.T) {
		m := m.as(t)
		stale := usage.NewService(m.db.Store(m.clock.Now), m.bus, m.clock.Now, m.log)
		first := m.shards("acme")[storePK("acme", 0)].period
		res, err := stale.Record(t.Context(), []usage.Input{event("stale", "acme", "1.000007", m.clock.Now())})
		if err != nil || res[0].Status != usage.StatusAccepted {
			t.Fatalf("record: %v %+v", err, res)
		}
		total += money.MustParse("1.000007")
		if got := m.shards("acme")[storePK("acme", 0)].period; got != first+money.MustParse("1.000007") {
			t.Errorf("shard 0 holds %v, want %v + 1.000007", got, first)
		}
		if a := m.account("acme"); a.UsagePeriod != total || a.UsedToday != total {
			t.Errorf("Usage This Period %v, today %v; want %v", a.UsagePeriod, a.UsedToday, total)
		}
		m.spread("acme", 4, total)
		if a, err := stale.Allowance(t.Context(), "acme"); err != nil || a != m.allowance("acme") {
			t.Errorf("the stale store's allowance %+v (%v), want %+v", a, err, m.allowance("acme"))
		}
	})
}

// storePK is the partition key of a counter shard.
func storePK(org string, n int) string {
	return store.CounterKey(org, n)["PK"].(*types.AttributeValueMemberS).Value
}
