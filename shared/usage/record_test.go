package usage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/truora/minidyn/server"
)

// pool is a set of distinct usage events, by org and id, with amounts in
// odd micro-dollars so a rounding or a double count shows in the totals.
type pool struct {
	events []usage.Input
	total  map[string]money.Money // org → sum of the distinct amounts
}

func newPool(at time.Time, orgs []string, perOrg int) pool {
	p := pool{total: map[string]money.Money{}}
	for _, org := range orgs {
		for k := range perOrg {
			// The same ids in every organisation: an id counts once per
			// organisation, not once overall.
			in := event(fmt.Sprintf("evt-%03d", k), org, "0.000123", at)
			in.Event.Amount += money.Money(1001 * k)
			p.events = append(p.events, in)
			p.total[org] += in.Event.Amount
		}
	}
	return p
}

// batch picks n events of the pool from start on (wrapping) and repeats
// its first `repeats` events at its end: duplicates inside one request.
func (p pool) batch(start, n, repeats int) []usage.Input {
	var b []usage.Input
	for j := range n {
		b = append(b, p.events[(start+j)%len(p.events)])
	}
	return append(b, b[:repeats]...)
}

func eventKey(in usage.Input) string { return in.Event.OrgID + "/" + in.Event.ID }

// tally counts the outcomes clients saw, per event.
type tally struct {
	mu       sync.Mutex
	accepted map[string]int
	statuses map[string]int
}

func newTally() *tally { return &tally{accepted: map[string]int{}, statuses: map[string]int{}} }

// recordUntilCounted sends batch through svc, as a client retrying the
// whole request does, until every event is accepted or a duplicate, or
// deadline passes (an error naming who). It tallies every answer and
// returns how many attempts failed.
func (tl *tally) recordUntilCounted(t *testing.T, svc *usage.Service, batch []usage.Input, deadline time.Time, who string) int {
	for attempt := 1; ; attempt++ {
		results, err := svc.Record(t.Context(), batch)
		tl.add(batch, results)
		done := err == nil
		for _, r := range results {
			if r.Status != usage.StatusAccepted && r.Status != usage.StatusDuplicate {
				done = false
			}
		}
		if done {
			return attempt - 1
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: still failing after %d attempts: %v %+v", who, attempt, err, results)
			return attempt
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (t *tally) add(inputs []usage.Input, results []usage.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, r := range results {
		t.statuses[r.Status]++
		if r.Status == usage.StatusAccepted {
			t.accepted[eventKey(inputs[i])]++
		}
	}
}

// checkExact checks that each event of the pool was reported accepted
// exactly once and that each organisation's Usage This Period and today's
// usage are exactly the sum of its distinct events.
func (m *meter) checkExact(p pool, tl *tally) {
	m.t.Helper()
	for _, in := range p.events {
		if n := tl.accepted[eventKey(in)]; n != 1 {
			m.t.Errorf("event %s reported accepted %d times, want once", eventKey(in), n)
		}
	}
	if len(tl.accepted) != len(p.events) {
		m.t.Errorf("%d distinct events accepted, want %d", len(tl.accepted), len(p.events))
	}
	for org, want := range p.total {
		a := m.account(org)
		if a.UsagePeriod != want || a.UsedToday != want {
			m.t.Errorf("%s: Usage This Period %v, today %v; want exactly %v", org, a.UsagePeriod, a.UsedToday, want)
		}
	}
	if n := len(m.items("EVT#")); n != len(p.events) {
		m.t.Errorf("%d idempotency records, want %d", n, len(p.events))
	}
}

func TestRecordConcurrency(t *testing.T) {
	t.Run("concurrent batches with repeated ids count each distinct event exactly once", func(t *testing.T) {
		m := newMeter(t, noon)
		orgs := []string{"acme", "globex"}
		for _, org := range orgs {
			m.createOrg(org)
		}
		p := newPool(m.clock.Now().Add(-time.Minute), orgs, 50)
		tl := newTally()
		var wg sync.WaitGroup
		sent := atomic.Int64{}
		for g := range 8 {
			wg.Go(func() {
				for b := range 3 {
					batch := p.batch(g*12+b*9, 36, 4)
					results, err := m.svc.Record(t.Context(), batch)
					if err != nil {
						t.Errorf("goroutine %d batch %d: %v", g, b, err)
						return
					}
					sent.Add(int64(len(batch)))
					tl.add(batch, results)
				}
			})
		}
		wg.Wait()
		m.checkExact(p, tl)
		want := map[string]int{usage.StatusAccepted: len(p.events), usage.StatusDuplicate: int(sent.Load()) - len(p.events)}
		if tl.statuses[usage.StatusAccepted] != want[usage.StatusAccepted] || tl.statuses[usage.StatusDuplicate] != want[usage.StatusDuplicate] || len(tl.statuses) != 2 {
			t.Errorf("outcomes %v, want %v", tl.statuses, want)
		}
	})

	t.Run("a batch repeated after it was recorded is all duplicates and changes nothing", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		p := newPool(m.clock.Now(), []string{"acme"}, 5)
		m.record(p.events...)
		for _, r := range m.record(p.events...) {
			if r.Status != usage.StatusDuplicate {
				t.Errorf("second time: %+v, want duplicate", r)
			}
		}
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] {
			t.Errorf("Usage This Period %v, want %v", a.UsagePeriod, p.total["acme"])
		}
	})
}

// transactions returns the TransactWriteItems requests among reqs, each as
// the keys ("PK|SK") of the items its actions write.
func transactions(t *testing.T, reqs []storetest.Request) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range reqs {
		if r.Op != "TransactWriteItems" {
			continue
		}
		var body struct {
			TransactItems []struct {
				Put    *struct{ Item map[string]json.RawMessage }
				Update *struct{ Key map[string]json.RawMessage }
			}
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("TransactWriteItems body: %v", err)
		}
		if len(body.TransactItems) != r.Actions() {
			t.Fatalf("%d actions decoded, storetest counts %d", len(body.TransactItems), r.Actions())
		}
		keys := make([]string, len(body.TransactItems))
		for i, it := range body.TransactItems {
			var attrs map[string]json.RawMessage
			switch {
			case it.Put != nil:
				attrs = it.Put.Item
			case it.Update != nil:
				attrs = it.Update.Key
			default:
				t.Fatalf("transaction action %d is neither a Put nor an Update: %s", i, r.Body)
			}
			keys[i] = wireString(t, attrs["PK"]) + "|" + wireString(t, attrs["SK"])
		}
		out = append(out, keys)
	}
	return out
}

// wireString decodes a string attribute of DynamoDB's JSON wire format.
func wireString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v struct{ S string }
	if err := json.Unmarshal(raw, &v); err != nil || v.S == "" {
		t.Fatalf("key attribute %s is not a string", raw)
	}
	return v.S
}

func TestRecordTransactions(t *testing.T) {
	// checkHot checks that each transaction touches exactly one counter
	// shard of one of orgs, once, and nothing on an organisation's
	// partition (its ACCOUNT item with the ledger and settings included):
	// idempotency records live elsewhere.
	checkHot := func(t *testing.T, txs [][]string, orgs ...string) {
		t.Helper()
		for n, keys := range txs {
			if len(keys) > store.MaxTransactActions {
				t.Errorf("transaction %d has %d actions, DynamoDB allows 100", n, len(keys))
			}
			seen := map[string]bool{}
			for _, k := range keys {
				if seen[k] {
					t.Errorf("transaction %d touches %s twice", n, k)
				}
				seen[k] = true
			}
			shards := 0
			for _, k := range keys {
				for _, org := range orgs {
					switch {
					case strings.HasPrefix(k, "CTR#"+org+"#") && strings.HasSuffix(k, "|COUNTERS"):
						shards++
					case strings.HasPrefix(k, "ORG#"+org+"|"):
						t.Errorf("transaction %d writes %s on the organisation's partition; usage writes only counter shards", n, k)
					}
				}
			}
			if shards != 1 {
				t.Errorf("transaction %d touches %d counter shards, want exactly one", n, shards)
			}
		}
	}

	t.Run("a batch of exactly 100 events of one organisation takes two transactions of at most 100 actions", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		p := newPool(m.clock.Now(), []string{"acme"}, 100)
		m.db.Reset()
		for i, r := range m.record(p.events...) {
			if r.Status != usage.StatusAccepted {
				t.Fatalf("event %d: %+v, want accepted", i, r)
			}
		}
		txs := transactions(t, m.db.Requests())
		if len(txs) != 2 {
			t.Fatalf("%d TransactWriteItems for 100 events, want 2", len(txs))
		}
		actions := 0
		for _, keys := range txs {
			actions += len(keys)
		}
		if actions != 102 {
			t.Errorf("%d actions in all, want 100 idempotency records and 2 counter updates", actions)
		}
		checkHot(t, txs, "acme")
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] || a.UsedToday != p.total["acme"] {
			t.Errorf("Usage This Period %v, today %v; want %v", a.UsagePeriod, a.UsedToday, p.total["acme"])
		}
	})

	t.Run("a retried batch of 100 recorded events is found duplicate in one read per transaction", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		p := newPool(m.clock.Now(), []string{"acme"}, 100)
		m.record(p.events...)
		m.db.Reset()
		for i, r := range m.record(p.events...) {
			if r.Status != usage.StatusDuplicate {
				t.Fatalf("event %d: %+v, want duplicate", i, r)
			}
		}
		// Two cancelled transactions, a BatchGetItem of each one's
		// records, and the read of the allowance: not one transaction per
		// event, whatever the cancellation names.
		if reqs := m.db.Requests(); len(reqs) > 5 {
			t.Errorf("%d DynamoDB requests to find 100 duplicates, want at most 5", len(reqs))
		}
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] {
			t.Errorf("Usage This Period %v, want %v", a.UsagePeriod, p.total["acme"])
		}
	})

	t.Run("a batch of 100 events of two organisations takes one transaction per organisation", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.createOrg("globex")
		p := newPool(m.clock.Now(), []string{"acme", "globex"}, 50)
		m.db.Reset()
		m.record(p.events...)
		txs := transactions(t, m.db.Requests())
		if len(txs) != 2 {
			t.Fatalf("%d TransactWriteItems, want 2", len(txs))
		}
		// The organisations are recorded concurrently: either may go first.
		checkHot(t, txs, "acme", "globex")
		if slices.Contains(txs[0], "CTR#acme#00|COUNTERS") == slices.Contains(txs[1], "CTR#acme#00|COUNTERS") {
			t.Errorf("transactions %v: want one of acme and one of globex", txs)
		}
		for _, org := range []string{"acme", "globex"} {
			if a := m.account(org); a.UsagePeriod != p.total[org] {
				t.Errorf("%s: Usage This Period %v, want %v", org, a.UsagePeriod, p.total[org])
			}
		}
	})

	t.Run("no transaction exceeds 100 actions, whatever the batch and its duplicates", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		p := newPool(m.clock.Now(), []string{"acme"}, 250)
		m.record(p.events[:30]...) // recorded before: duplicates in the big batch
		m.db.Reset()
		results := m.record(p.batch(0, 250, 20)...)
		accepted := 0
		for _, r := range results {
			if r.Status == usage.StatusAccepted {
				accepted++
			}
		}
		if accepted != 220 {
			t.Errorf("%d accepted, want 220", accepted)
		}
		txs := transactions(t, m.db.Requests())
		if len(txs) < 3 {
			t.Errorf("%d TransactWriteItems for 250 events, want at least 3", len(txs))
		}
		checkHot(t, txs, "acme")
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] {
			t.Errorf("Usage This Period %v, want %v", a.UsagePeriod, p.total["acme"])
		}
	})
}

// failureGate lets requests through while no one changes the embedded
// server's failure emulation. minidyn writes its failure setting without a
// lock, so a toggle must not overlap a request (the race detector would
// rightly object); a toggle waits for the requests in flight.
type failureGate struct {
	mu   sync.RWMutex
	base http.RoundTripper
}

func (g *failureGate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	resp, err := g.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// Read the whole answer while the setting cannot change.
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

func (g *failureGate) set(db *storetest.DB, c server.FailureCondition) {
	g.mu.Lock()
	defer g.mu.Unlock()
	db.Server.EmulateFailure(c)
}

func loopback() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	return tr
}

func TestRecordFaults(t *testing.T) {
	t.Run("clients retrying through intermittent store failures lose and double nothing", func(t *testing.T) {
		m := newMeter(t, noon)
		orgs := []string{"acme", "globex"}
		for _, org := range orgs {
			m.createOrg(org)
		}
		gate := &failureGate{base: loopback()}
		svc := usage.NewService(m.storeOver(gate), m.bus, m.clock.Now, m.log)
		p := newPool(m.clock.Now().Add(-time.Minute), orgs, 30)
		tl := newTally()
		var failures atomic.Int64

		stop := make(chan struct{})
		toggled := make(chan struct{})
		// The store fails from the start, for longer than the SDK's three
		// attempts take (its backoff is at most 5 ms here), so the first
		// recordings fail whatever the machine's speed; then it fails
		// 6 ms in every 16.
		gate.set(m.db, server.FailureConditionInternalServerError)
		first := 200 * time.Millisecond
		go func() {
			defer close(toggled)
			defer gate.set(m.db, server.FailureConditionNone)
			for {
				time.Sleep(first)
				first = 6 * time.Millisecond
				gate.set(m.db, server.FailureConditionNone)
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				gate.set(m.db, server.FailureConditionInternalServerError)
			}
		}()

		deadline := time.Now().Add(20 * time.Second)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for b := range 3 {
					failures.Add(int64(tl.recordUntilCounted(t, svc, p.batch(g*8+b*5, 15, 2), deadline, fmt.Sprintf("goroutine %d batch %d", g, b))))
				}
			})
		}
		wg.Wait()
		close(stop)
		<-toggled

		if failures.Load() == 0 {
			t.Error("no recording failed: the failure emulation did not bite, so the test proves nothing")
		}
		t.Logf("%d failed recordings retried; outcomes %v", failures.Load(), tl.statuses)
		m.checkExact(p, tl)
	})

	t.Run("a transaction whose answer is lost is retried by the SDK and its events are accepted once", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		lossy := &storetest.LoseAnswers{Base: loopback(), Lose: func(n int32) bool { return n == 1 }}
		svc := usage.NewService(m.storeOver(lossy), m.bus, m.clock.Now, m.log)
		p := newPool(m.clock.Now(), []string{"acme"}, 5)
		results, err := svc.Record(t.Context(), p.events)
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		if lossy.Lost() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.Lost())
		}
		for i, r := range results {
			if r.Status != usage.StatusAccepted {
				t.Errorf("event %d: %+v, want accepted (it was counted by this request)", i, r)
			}
		}
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] || a.UsedToday != p.total["acme"] {
			t.Errorf("Usage This Period %v, today %v; want %v once", a.UsagePeriod, a.UsedToday, p.total["acme"])
		}
	})

	t.Run("a lost answer after a duplicate was set aside still reports the rest accepted", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		p := newPool(m.clock.Now(), []string{"acme"}, 3)
		m.record(p.events[1]) // recorded earlier by another request
		// The first transaction is cancelled by the duplicate; the second,
		// without it, is applied and its answer lost.
		lossy := &storetest.LoseAnswers{Base: loopback(), Lose: func(n int32) bool { return n == 2 }}
		svc := usage.NewService(m.storeOver(lossy), m.bus, m.clock.Now, m.log)
		results, err := svc.Record(t.Context(), p.events)
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		if lossy.Lost() != 1 {
			t.Fatalf("the test lost %d answers, want 1", lossy.Lost())
		}
		want := []string{usage.StatusAccepted, usage.StatusDuplicate, usage.StatusAccepted}
		for i, r := range results {
			if r.Status != want[i] {
				t.Errorf("event %d: %+v, want %s", i, r, want[i])
			}
		}
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] {
			t.Errorf("Usage This Period %v, want %v", a.UsagePeriod, p.total["acme"])
		}
	})

	t.Run("a request that times out is retried by the client and counts once", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		var down atomic.Bool
		down.Store(true)
		lossy := &storetest.LoseAnswers{Base: loopback(), Lose: func(int32) bool { return down.Load() }}
		svc := usage.NewService(m.storeOver(lossy), m.bus, m.clock.Now, m.log)
		p := newPool(m.clock.Now(), []string{"acme"}, 4)
		results, err := svc.Record(t.Context(), p.events)
		if err == nil {
			t.Fatal("record with every answer lost: no error, want one telling the caller to retry")
		}
		for i, r := range results {
			if r.Status != usage.StatusError {
				t.Errorf("event %d: %+v, want error (retry)", i, r)
			}
		}
		down.Store(false)
		for i, r := range m.record(p.events...) {
			if r.Status != usage.StatusDuplicate {
				t.Errorf("retry, event %d: %+v, want duplicate", i, r)
			}
		}
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] {
			t.Errorf("Usage This Period %v, want %v once", a.UsagePeriod, p.total["acme"])
		}
	})

	t.Run("a store failure is an error, and the events are recorded by the retry", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		gate := &failureGate{base: loopback()}
		svc := usage.NewService(m.storeOver(gate), m.bus, m.clock.Now, m.log)
		p := newPool(m.clock.Now(), []string{"acme"}, 3)
		gate.set(m.db, server.FailureConditionInternalServerError)
		results, err := svc.Record(t.Context(), p.events)
		gate.set(m.db, server.FailureConditionNone)
		if err == nil {
			t.Fatal("no error while the store fails")
		}
		for i, r := range results {
			if r.Status != usage.StatusError || r.Reason == "" || r.Message == "" {
				t.Errorf("event %d: %+v, want error with a reason and message", i, r)
			}
		}
		if a := m.account("acme"); a.UsagePeriod != 0 {
			t.Errorf("Usage This Period %v after a failure, want 0", a.UsagePeriod)
		}
		for i, r := range m.record(p.events...) {
			if r.Status != usage.StatusAccepted {
				t.Errorf("retry, event %d: %+v, want accepted", i, r)
			}
		}
		if a := m.account("acme"); a.UsagePeriod != p.total["acme"] {
			t.Errorf("Usage This Period %v, want %v", a.UsagePeriod, p.total["acme"])
		}
	})
}
