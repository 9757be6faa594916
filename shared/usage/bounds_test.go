package usage_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/usage"
)

// boundsModel replays recordings the way the usage rules say they must
// come out: an amount is accepted iff it parses, is in 0 < a ≤
// MaxUsageEvent, and fits under MaxUsageCounter in both counters after the
// events before it.
type boundsModel struct {
	period, today money.Money
}

func (b *boundsModel) expect(amount string) string {
	a, err := money.Parse(amount)
	if err != nil || a <= 0 || a > billing.MaxUsageEvent {
		return "rejected invalid_amount"
	}
	p, perr := b.period.Add(a)
	d, derr := b.today.Add(a)
	if perr != nil || derr != nil || p > billing.MaxUsageCounter || d > billing.MaxUsageCounter {
		return "rejected usage_limit"
	}
	b.period, b.today = p, d
	return "accepted"
}

// input is one event as the usage API hands it over: an amount that does
// not parse is carried as a rejection.
func input(id, org, amount string, at time.Time) usage.Input {
	in := usage.Input{Event: billing.UsageEvent{ID: id, OrgID: org, Description: "API call", Time: at}}
	a, err := money.Parse(amount)
	if err != nil {
		in.Reject = &billing.Rejection{Reason: billing.RejectInvalidAmount, Message: err.Error()}
	}
	in.Event.Amount = a
	return in
}

// replay records the requests (each a list of amounts) for a fresh
// organisation whose counters start at period and today, and checks every
// outcome against the model, and that the account stays readable and exact.
func replay(t *testing.T, period, today money.Money, requests [][]string) {
	t.Helper()
	m := newMeter(t, noon)
	m.createOrg("acme")
	if period != 0 {
		m.db.SetUsagePeriod(m.t, "acme", period)
	}
	if today != 0 {
		m.db.SetUsageOn(m.t, "acme", noon, today)
	}
	model := &boundsModel{period: period, today: today}
	n := 0
	for r, amounts := range requests {
		inputs := make([]usage.Input, len(amounts))
		want := make([]string, len(amounts))
		for i, a := range amounts {
			n++
			inputs[i] = input(fmt.Sprintf("evt-%d", n), "acme", a, noon)
			want[i] = model.expect(a)
		}
		results := m.record(inputs...)
		got := make([]string, len(results))
		for i, res := range results {
			got[i] = strings.TrimSpace(res.Status + " " + res.Reason)
			if res.Status == usage.StatusRejected && res.Message == "" {
				t.Errorf("request %d event %d rejected without a message", r+1, i+1)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("request %d %q: %q, want %q", r+1, amounts, got, want)
		}
	}
	checkReadable(m, model.period, model.today)
}

// checkReadable checks the account reads back exactly (Usage This Period and
// today's usage as the model says, within the maximum) through every reader
// of the account: Account, Overview, UsageState, the allowance, the daily
// usage and the figures.
func checkReadable(m *meter, period, today money.Money) {
	m.t.Helper()
	ctx := m.t.Context()
	a, err := m.st.Account(ctx, "acme", noon)
	if err != nil {
		m.t.Fatalf("account unreadable: %v", err)
	}
	if a.UsagePeriod != period || a.UsedToday != today {
		m.t.Errorf("Usage This Period %v, today %v; want exactly %v and %v", a.UsagePeriod, a.UsedToday, period, today)
	}
	if a.UsagePeriod < 0 || a.UsagePeriod > billing.MaxUsageCounter || a.UsedToday < 0 || a.UsedToday > billing.MaxUsageCounter {
		m.t.Errorf("counters %v and %v outside 0..%v", a.UsagePeriod, a.UsedToday, billing.MaxUsageCounter)
	}
	if _, _, err := m.st.Overview(ctx, "acme", noon); err != nil {
		m.t.Errorf("overview unreadable: %v", err)
	}
	if _, _, err := m.st.UsageState(ctx, "acme", noon); err != nil {
		m.t.Errorf("usage state unreadable: %v", err)
	}
	days, err := m.st.DailyUsage(ctx, "acme", noon.AddDate(0, 0, -30), noon)
	if err != nil || days[billing.Day(noon)] != today {
		m.t.Errorf("daily usage %v, %v; want today at %v", days, err, today)
	}
	f := a.Figures()
	if f.Remaining != a.Ledger-a.UsagePeriod {
		m.t.Errorf("Remaining %v, want ledger %v − usage %v", f.Remaining, a.Ledger, a.UsagePeriod)
	}
	al := m.allowance("acme")
	if al.Available < 0 || al.Allowed != (al.Available > 0) {
		m.t.Errorf("allowance %+v: allowed must mean something is available", al)
	}
}

func TestUsageBounds(t *testing.T) {
	maxEvent := billing.MaxUsageEvent.String()
	justOver := (billing.MaxUsageEvent + 1).String()
	room := func(s string) money.Money { return billing.MaxUsageCounter - money.MustParse(s) }
	full := strings.Split(strings.Repeat(maxEvent+" ", 100), " ")[:100]

	cases := []struct {
		name          string
		period, today money.Money
		requests      [][]string
	}{
		{"two events of 5000000000000 in one request are refused, never wrapped to −$8.4 trillion", 0, 0,
			[][]string{{"5000000000000", "5000000000000"}}},
		{"two events of 5000000000000 in two requests are refused", 0, 0,
			[][]string{{"5000000000000"}, {"5000000000000"}}},
		{"9223372036854.775807 then 0.000001 leave the organisation readable", 0, 0,
			[][]string{{"9223372036854.775807"}, {"0.000001"}}},
		{"amounts past Money's range do not parse and are refused", 0, 0,
			[][]string{{"9223372036854.775808", "99999999999999999999", "-9223372036854.775808", "0"}}},
		{"an event of exactly the maximum counts, a micro-dollar more does not", 0, 0,
			[][]string{{maxEvent, justOver, "0.000001"}}},
		{"a full batch of maximum events counts exactly", 0, 0,
			[][]string{full, full}},
		{"near the period maximum the events that fit count, in order, up to the maximum exactly", room("5"), 0,
			[][]string{{"3", "3", "2", "0.000001"}, {"0.000001"}}},
		{"near today's maximum the events that fit count, and the period counts the same", 0, room("1"),
			[][]string{{"0.5", "0.6", "0.5", "0.000001"}}},
		{"at both maxima nothing more counts", billing.MaxUsageCounter, billing.MaxUsageCounter,
			[][]string{{"0.000001", maxEvent}}},
		{"a full batch of maximum events with room for half of it records exactly that half", room("500000"), 0,
			[][]string{full}},
		{"a full batch that spans two transactions near the maximum counts exactly", room("990000.000001"), 0,
			[][]string{full}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			replay(t, tc.period, tc.today, tc.requests)
		})
	}

	t.Run("a retry of a request recorded near the maximum gets duplicates, not usage_limit", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.db.SetUsagePeriod(m.t, "acme", room("5"))
		batch := []usage.Input{event("a", "acme", "4", noon), event("b", "acme", "1", noon)}
		for i, want := range []string{usage.StatusAccepted, usage.StatusDuplicate} {
			for _, r := range m.record(batch...) {
				if r.Status != want {
					t.Errorf("attempt %d: %+v, want %s", i+1, r, want)
				}
			}
		}
		checkReadable(m, billing.MaxUsageCounter, money.Dollars(5))
	})

	t.Run("concurrent recordings near the maximum stop exactly at it: accepted = Usage This Period, refused only what did not fit", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		start := room("100")
		m.db.SetUsagePeriod(m.t, "acme", start)
		var mu sync.Mutex
		var accepted money.Money
		minRefused := billing.MaxUsageEvent
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				for b := range 3 {
					var batch []usage.Input
					for k := range 5 {
						amt := money.Money(1_000_000*(g+1) + 1001*k + 7*b)
						batch = append(batch, usage.Input{Event: billing.UsageEvent{ID: fmt.Sprintf("c-%d-%d-%d", g, b, k), OrgID: "acme", Amount: amt, Time: noon}})
					}
					results, err := m.svc.Record(t.Context(), batch)
					if err != nil {
						t.Errorf("record: %v", err)
						return
					}
					mu.Lock()
					for i, r := range results {
						switch {
						case r.Status == usage.StatusAccepted:
							accepted += batch[i].Event.Amount
						case r.Reason == billing.RejectUsageLimit:
							minRefused = min(minRefused, batch[i].Event.Amount)
						default:
							t.Errorf("event %s: %+v, want accepted or usage_limit", r.ID, r)
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		a := m.account("acme")
		if a.UsagePeriod != start+accepted || a.UsedToday != accepted || a.UsagePeriod > billing.MaxUsageCounter {
			t.Errorf("Usage This Period %v, today %v; want %v + the accepted %v, within %v", a.UsagePeriod, a.UsedToday, start, accepted, billing.MaxUsageCounter)
		}
		if left := billing.MaxUsageCounter - a.UsagePeriod; left >= minRefused {
			t.Errorf("%v of room left although an event of %v was refused", left, minRefused)
		}
	})

	t.Run("the daily close keeps a day at the maximum readable", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.db.SetUsageOn(m.t, "acme", noon, room("1"))
		m.use("acme", "a", "1")
		m.clock.Set(noon.Add(24 * time.Hour))
		if err := m.svc.DailyReset(t.Context()); err != nil {
			t.Fatalf("daily reset: %v", err)
		}
		days, err := m.st.DailyUsage(t.Context(), "acme", noon, noon.Add(24*time.Hour))
		if err != nil || days[billing.Day(noon)] != billing.MaxUsageCounter {
			t.Errorf("daily usage %v, %v; want the closed day at the maximum", days, err)
		}
		m.use("acme", "b", "1") // a new day starts with room
	})
}

// FuzzUsageAmounts records fuzzed sequences of amounts, starting from
// fuzzed counters, and checks each outcome against the rules and that the
// account stays readable and exact. requests is a list of requests
// separated by '|', each a list of amounts separated by ','. Run it with
// go test -run '^$' -fuzz FuzzUsageAmounts ./shared/usage/; plain go test
// runs the seeds.
func FuzzUsageAmounts(f *testing.F) {
	maxC := int64(billing.MaxUsageCounter)
	for _, seed := range []struct {
		period, today int64
		requests      string
	}{
		{0, 0, "5000000000000,5000000000000"},
		{0, 0, "5000000000000|5000000000000"},
		{0, 0, "9223372036854.775807|0.000001"},
		{0, 0, "10000,10000.000001,0.000001|-1|0|1e3|"},
		{maxC - 5_000_000, 0, "3,3,2,0.000001|0.000001"},
		{0, maxC - 1_000_000, "0.5,0.6,0.5|0.000001"},
		{maxC, maxC, "0.000001"},
		{maxC - 1, maxC - 2, "0.000001,0.000001,0.000001"},
		{-1, -1, "1"},
		{1 << 62, 1 << 62, "10000"},
	} {
		f.Add(seed.period, seed.today, seed.requests)
	}
	f.Fuzz(func(t *testing.T, period, today int64, requests string) {
		// Start from counters a sequence of accepted events can leave: 0..max.
		clamp := func(v int64) money.Money {
			if v < 0 {
				v = -(v + 1)
			}
			return money.Money(v % (maxC + 1))
		}
		var reqs [][]string
		for r := range strings.SplitSeq(requests, "|") {
			amounts := strings.Split(r, ",")
			if len(amounts) > 120 || len(reqs) == 10 {
				t.Skip("more than a test's worth of events")
			}
			reqs = append(reqs, amounts)
		}
		replay(t, clamp(period), clamp(today), reqs)
	})
}
