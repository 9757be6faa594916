package usage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/usage"
)

// published returns the details of the events on the bus, checking each
// envelope is what EventBridge would deliver for it.
func (m *meter) published() []events.Detail {
	m.t.Helper()
	var out []events.Detail
	for _, e := range m.bus.Published() {
		var d events.Detail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			m.t.Fatalf("event %s: detail %s: %v", e.ID, e.Detail, err)
		}
		if e.Source != events.Source || e.DetailType != d.Type {
			m.t.Errorf("event %s: source %q, detail-type %q; want %q and the detail's type %q", d.ID, e.Source, e.DetailType, events.Source, d.Type)
		}
		out = append(out, d)
	}
	return out
}

// crossings lists the published events as "type id", for comparison.
func (m *meter) crossings() []string {
	m.t.Helper()
	var out []string
	for _, d := range m.published() {
		out = append(out, d.Type+" "+d.ID)
	}
	return out
}

func (m *meter) wantCrossings(when string, want ...string) {
	m.t.Helper()
	got := m.crossings()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		m.t.Errorf("%s: published %q, want %q", when, got, want)
	}
}

// failingPublisher fails its first `fail` publications, then passes them to
// next.
type failingPublisher struct {
	next usage.Publisher

	mu    sync.Mutex
	fail  int
	calls int
}

func (p *failingPublisher) Publish(ctx context.Context, details ...events.Detail) error {
	p.mu.Lock()
	p.calls++
	fail := p.fail > 0
	if fail {
		p.fail--
	}
	p.mu.Unlock()
	if fail {
		return errors.New("eventbridge: service unavailable")
	}
	return p.next.Publish(ctx, details...)
}

func spendOff(budget, emailThreshold string) billing.SpendSettings {
	return billing.SpendSettings{Enabled: false, DailyBudget: money.MustParse(budget), EmailThreshold: money.MustParse(emailThreshold)}
}

func TestThresholdEvents(t *testing.T) {
	const (
		threshold27 = "spend.threshold_reached acme:2026-11-27:email_threshold"
		budget27    = "spend.budget_reached acme:2026-11-27:budget"
		threshold28 = "spend.threshold_reached acme:2026-11-28:email_threshold"
		budget28    = "spend.budget_reached acme:2026-11-28:budget"
	)

	t.Run("concurrent recordings that cross the email threshold and the budget publish each crossing once", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "2", "1")
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for n := range 4 {
					res, err := m.svc.Record(t.Context(), []usage.Input{event(fmt.Sprintf("evt-%d-%d", g, n), "acme", "0.100001", noon)})
					if err != nil || res[0].Status != usage.StatusAccepted {
						t.Errorf("record: %v %+v", err, res)
					}
				}
			})
		}
		wg.Wait()
		got := map[string]int{}
		for _, c := range m.crossings() {
			got[c]++
		}
		if len(got) != 2 || got[threshold27] != 1 || got[budget27] != 1 {
			t.Errorf("published %v, want each of %q and %q once", got, threshold27, budget27)
		}
		for _, d := range m.published() {
			want := map[string]money.Money{events.TypeSpendThreshold: money.Dollars(1), events.TypeSpendBudget: money.Dollars(2)}[d.Type]
			if d.OrgID != "acme" || d.Day != "2026-11-27" || d.Threshold != want || d.UsedToday < want || !d.OccurredAt.Equal(noon) {
				t.Errorf("detail %+v: want org acme, day 2026-11-27, threshold %v, used today at least that, at %v", d, want, noon)
			}
		}
	})

	t.Run("nothing is published before a crossing; the email threshold must be passed, the budget only reached", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "2", "1")
		m.use("acme", "a", "1")
		m.wantCrossings("at the email threshold")
		m.use("acme", "b", "0.000001")
		m.wantCrossings("one micro-dollar past the email threshold", threshold27)
		m.use("acme", "c", "0.999998")
		m.wantCrossings("one micro-dollar below the budget", threshold27)
		m.use("acme", "d", "0.000001")
		m.wantCrossings("at the budget", threshold27, budget27)
		m.use("acme", "e", "5")
		m.wantCrossings("far past the budget", threshold27, budget27)
	})

	t.Run("duplicates and rejected events publish nothing", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.use("acme", "a", "3")
		m.spend("acme", "2", "1") // turned on after the usage: no recording has seen it yet
		m.record(event("a", "acme", "3", noon), event("", "acme", "3", noon))
		m.wantCrossings("after a duplicate and a rejected event")
		m.use("acme", "b", "0.000001")
		m.wantCrossings("after the next accepted event", threshold27, budget27)
	})

	t.Run("with Spend Management off no spend event is published", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "2", "1")
		if err := m.st.SetSpendSettings(t.Context(), "acme", spendOff("2", "1")); err != nil {
			t.Fatal(err)
		}
		m.use("acme", "a", "5")
		m.wantCrossings("far past both limits with Spend Management off")
	})

	t.Run("on the next UTC day each crossing fires again, once", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "2", "1")
		m.use("acme", "a", "2.5")
		m.wantCrossings("day one", threshold27, budget27)
		m.clock.Set(time.Date(2026, 11, 28, 0, 0, 1, 0, time.UTC)) // no daily reset has run
		m.use("acme", "b", "0.5")
		m.use("acme", "c", "0.5")
		m.wantCrossings("the next day at the threshold", threshold27, budget27)
		m.use("acme", "d", "1.5")
		m.wantCrossings("the next day past both", threshold27, budget27, threshold28, budget28)
		m.use("acme", "e", "1")
		m.wantCrossings("the next day further on", threshold27, budget27, threshold28, budget28)
	})

	t.Run("a crossing whose publication failed is published by a recording more than a minute later, once, with the same id", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "100", "1")
		pub := &failingPublisher{next: m.bus, fail: 1}
		m.svc = usage.NewService(m.st, pub, m.clock.Now, m.log)

		m.use("acme", "a", "1.5")
		if pub.calls != 1 {
			t.Fatalf("%d publications tried, want 1 (the failing one)", pub.calls)
		}
		m.wantCrossings("after the failed publication")
		m.clock.Advance(30 * time.Second)
		m.use("acme", "b", "0.1")
		m.wantCrossings("30 seconds later, while the first publisher may still be at it")
		m.clock.Advance(31 * time.Second)
		m.use("acme", "c", "0.1")
		m.wantCrossings("61 seconds later", threshold27)
		m.clock.Advance(5 * time.Minute)
		m.use("acme", "d", "0.1")
		m.wantCrossings("after it was published", threshold27)
		if d := m.published()[0]; d.Threshold != money.Dollars(1) || d.UsedToday != money.MustParse("1.7") {
			t.Errorf("detail %+v: want threshold 1, used today 1.7 when published", d)
		}
	})

	t.Run("a crossing whose publication failed late in the day is published by the daily reset, once", func(t *testing.T) {
		m := newMeter(t, time.Date(2026, 11, 27, 23, 59, 50, 0, time.UTC))
		m.createOrg("acme")
		m.spend("acme", "2", "1")
		pub := &failingPublisher{next: m.bus, fail: 1}
		m.svc = usage.NewService(m.st, pub, m.clock.Now, m.log)

		m.use("acme", "a", "1.5") // past the email threshold; its publication fails
		m.wantCrossings("after the failed publication")
		m.clock.Advance(15 * time.Second) // 00:00:05 the next day, no more usage yesterday
		m.dailyReset()
		m.wantCrossings("after the daily reset", threshold27)
		m.dailyReset()
		m.wantCrossings("after a second daily reset", threshold27)
		if d := m.published()[0]; d.Day != "2026-11-27" || d.UsedToday != money.MustParse("1.5") {
			t.Errorf("detail %+v: want yesterday's crossing at 1.5 used", d)
		}
	})

}
