package usage_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/usage"
)

// inFlight forwards requests and records the most TransactWriteItems
// requests it had in flight at once; each is held for hold first, so that
// concurrent ones overlap.
type inFlight struct {
	base http.RoundTripper
	hold time.Duration

	mu       sync.Mutex
	now, max int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Amz-Target") != "DynamoDB_20120810.TransactWriteItems" {
		return f.base.RoundTrip(r)
	}
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	time.Sleep(f.hold)
	return f.base.RoundTrip(r)
}

func TestRecordManyOrgs(t *testing.T) {
	t.Run("a batch over 20 organisations records them concurrently, at most 8 at once, with every result in its place", func(t *testing.T) {
		m := newMeter(t, time.Now().UTC().Truncate(24*time.Hour).Add(12*time.Hour))
		var orgs []string
		for i := range 20 {
			org := fmt.Sprintf("org-%02d", i)
			orgs = append(orgs, org)
			m.createOrg(org)
		}
		flight := &inFlight{base: loopback(), hold: 30 * time.Millisecond}
		svc := usage.NewService(m.storeOver(flight), m.bus, m.clock.Now, m.log)

		// Five events per organisation, interleaved; every fifth repeats
		// the one before it, and org-07's events are invalid.
		var inputs []usage.Input
		for k := range 5 {
			for _, org := range orgs {
				id := fmt.Sprintf("evt-%d", k)
				if k == 4 {
					id = "evt-3"
				}
				amount := fmt.Sprintf("0.00%d", k+1)
				if org == "org-07" {
					amount = "-1"
				}
				inputs = append(inputs, event(id, org, amount, m.clock.Now()))
			}
		}
		rec, err := svc.RecordWithAllowances(t.Context(), inputs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rec.Results {
			in := inputs[i].Event
			want := usage.StatusAccepted
			switch {
			case in.OrgID == "org-07":
				want = usage.StatusRejected
			case i >= 4*len(orgs):
				want = usage.StatusDuplicate
			}
			if r.ID != in.ID || r.Status != want {
				t.Errorf("result %d (%s of %s): %+v, want %s", i, in.ID, in.OrgID, r, want)
			}
		}
		if flight.max > 8 || flight.max < 2 {
			t.Errorf("%d transactions in flight at most, want between 2 and 8", flight.max)
		}
		if len(rec.Allowances) != 19 {
			t.Errorf("%d allowances, want one per organisation with recorded events (19)", len(rec.Allowances))
		}
		for _, org := range orgs {
			if org == "org-07" {
				continue
			}
			if a := rec.Allowances[org]; !a.Allowed || a.Available.String() != "109.99" {
				t.Errorf("%s: %+v, want allowed with 109.99 available", org, a)
			}
			if got := m.account(org).UsagePeriod.String(); got != "0.01" {
				t.Errorf("%s: Usage This Period %s, want 0.01", org, got)
			}
		}
	})
}
