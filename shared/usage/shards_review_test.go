package usage_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
)

func TestReviewShardsTwoInstances(t *testing.T) {
	// Two Lambda instances (two Stores: their own shard counts), one of
	// which loses the answer of every fifth transaction, record the same
	// events of two organisations concurrently through DynamoDB's
	// conflicts, while an operator raises acme from 1 to 8 shards.
	db := storetest.NewWithConflicts(t, conflictHold)
	m := newMeterOn(t, shardsNoon(), db)
	orgs := []string{"acme", "globex"}
	for _, org := range orgs {
		m.createOrg(org)
	}
	lossy := &storetest.LoseAnswers{Base: loopback(), Lose: func(n int32) bool { return n%5 == 0 }}
	instances := []*usage.Service{
		usage.NewService(m.storeOver(lossy), m.bus, m.clock.Now, m.log),
		usage.NewService(m.db.Store(m.clock.Now), m.bus, m.clock.Now, m.log),
	}
	p := newPool(m.clock.Now().Add(-time.Minute), orgs, 120)
	tl := newTally()
	deadline := time.Now().Add(20 * time.Second)
	send := func(who string, svc *usage.Service, batch []usage.Input) {
		tl.recordUntilCounted(t, svc, batch, deadline, who)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			size := 1
			if g%2 == 0 {
				size = 20
			}
			for b := range 8 {
				send(fmt.Sprintf("caller %d request %d", g, b), instances[(g+b)%2], p.batch(g*29+b*size, size, 0))
			}
		})
	}
	wg.Go(func() {
		time.Sleep(20 * time.Millisecond)
		for _, n := range []int{2, 8} {
			if _, err := m.db.Store(m.clock.Now).SetCounterShards(t.Context(), "acme", n); err != nil {
				t.Errorf("set %d shards: %v", n, err)
			}
		}
	})
	wg.Wait()
	for start := 0; start < len(p.events); start += 100 {
		send("the final sweep", instances[1], p.events[start:min(start+100, len(p.events))])
	}

	for _, in := range p.events {
		if n := tl.accepted[eventKey(in)]; n > 1 {
			t.Errorf("event %s reported accepted %d times", eventKey(in), n)
		}
	}
	for org, want := range p.total {
		if a := m.account(org); a.UsagePeriod != want || a.UsedToday != want {
			t.Errorf("%s: Usage This Period %v, today %v; want exactly %v", org, a.UsagePeriod, a.UsedToday, want)
		}
	}
	if n := len(m.items("EVT#")); n != len(p.events) {
		t.Errorf("%d idempotency records, want %d", n, len(p.events))
	}
	if lossy.Lost() == 0 || db.Conflicts().Cancelled == 0 {
		t.Errorf("%d answers lost, conflicts %+v: the faults did not bite", lossy.Lost(), db.Conflicts())
	}
	m.spread("acme", 2, p.total["acme"])
	t.Logf("%d answers lost; conflicts %+v; outcomes %v", lossy.Lost(), db.Conflicts(), tl.statuses)
}

func TestReviewLateResetAfterLazyClose(t *testing.T) {
	d0 := shardsNoon().AddDate(0, 0, -2)
	m := newMeter(t, d0)
	m.createOrg("acme")
	m.spend("acme", "2", "1")
	// The recording that passes the email threshold cannot publish it
	// (EventBridge fails): its flag stays pending for the reset.
	failing := usage.NewService(m.st, &failingPublisher{next: m.bus, fail: 1000}, m.clock.Now, m.log)
	if res, err := failing.Record(t.Context(), []usage.Input{event("a", "acme", "1.5", d0)}); err != nil || res[0].Status != usage.StatusAccepted {
		t.Fatalf("record: %v %+v", err, res)
	}
	m.wantCrossings("with EventBridge failing")
	// The reset at the next midnight does not get through (its message
	// waits in the DLQ); two days later the first write closes d0 itself.
	m.clock.Advance(48 * time.Hour)
	m.use("acme", "b", "0.01")
	// The reset of d0 is redriven: the day is over, and its crossing,
	// never published, goes out now.
	if err := m.svc.ResetOrg(t.Context(), "acme", billing.NextMidnight(d0)); err != nil {
		t.Fatal(err)
	}
	m.wantCrossings("after the redriven reset of "+billing.Day(d0), "spend.threshold_reached acme:"+billing.Day(d0)+":email_threshold")
}
