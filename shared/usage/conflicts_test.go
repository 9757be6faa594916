package usage_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
)

// conflictHold is how long the emulator holds a transaction's items: a few
// milliseconds, as a DynamoDB transaction takes.
const conflictHold = 3 * time.Millisecond

// usageAPI is POST /v1/usage of the real handler on the meter's service.
func (m *meter) usageAPI() http.Handler {
	deps := web.Deps{Store: m.st, Now: m.clock.Now, Log: m.log, Local: true, UsageAPIKey: "test", Usage: m.svc}
	return web.Handler(deps, web.Routes(deps))
}

// usageBody is the JSON of POST /v1/usage for inputs.
func usageBody(inputs []usage.Input) string {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i, in := range inputs {
		if i > 0 {
			sb.WriteByte(',')
		}
		e := in.Event
		fmt.Fprintf(&sb, `{"id":%q,"org_id":%q,"amount":%q,"description":%q,"time":%q}`,
			e.ID, e.OrgID, e.Amount.String(), e.Description, e.Time.UTC().Format(time.RFC3339Nano))
	}
	sb.WriteString(`]}`)
	return sb.String()
}

// postUsage sends inputs to POST /v1/usage and returns the status and the
// per-event results.
func postUsage(t *testing.T, h http.Handler, inputs []usage.Input) (int, []usage.Result) {
	req := httptest.NewRequest(http.MethodPost, "/v1/usage", strings.NewReader(usageBody(inputs)))
	req.Header.Set("Authorization", "Bearer test")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp struct{ Results []usage.Result }
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Errorf("usage answer %d %q: %v", rec.Code, rec.Body.String(), err)
	}
	return rec.Code, resp.Results
}

func TestRecordUnderConflicts(t *testing.T) {
	today := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)

	t.Run("concurrent callers of one organisation, with DynamoDB's conflicts, lose nothing, count nothing twice and see no 503", func(t *testing.T) {
		db := storetest.NewWithConflicts(t, conflictHold)
		m := newMeterOn(t, today, db)
		orgs := []string{"acme", "globex"}
		for _, org := range orgs {
			m.createOrg(org)
		}
		p := newPool(m.clock.Now().Add(-time.Minute), orgs, 60)
		h := m.usageAPI()
		tl := newTally()
		var wg sync.WaitGroup
		// 16 callers at once, as many instances of a service reporting
		// each call (batches of 1) or a few (batches of 10), overlapping
		// each other's events so that retries and duplicates meet.
		for g := range 16 {
			wg.Go(func() {
				size := 1
				if g%2 == 0 {
					size = 10
				}
				for b := range 6 {
					batch := p.batch(g*7+b*size, size, 0)
					status, results := postUsage(t, h, batch)
					if status != http.StatusOK {
						t.Errorf("caller %d request %d: status %d, want 200", g, b, status)
						return
					}
					tl.add(batch, results)
				}
			})
		}
		wg.Wait()
		// Send the whole pool once more: whatever no caller sent is
		// recorded now, and everything else is a duplicate.
		for start := 0; start < len(p.events); start += 100 {
			batch := p.events[start:min(start+100, len(p.events))]
			status, results := postUsage(t, h, batch)
			if status != http.StatusOK {
				t.Fatalf("final request: status %d", status)
			}
			tl.add(batch, results)
		}
		m.checkExact(p, tl)
		if tl.statuses[usage.StatusError] > 0 {
			t.Errorf("outcomes %v: no event may fail for a conflict", tl.statuses)
		}
		c := db.Conflicts()
		t.Logf("conflict emulator: %+v, %.1f%% of transactions cancelled", c, 100*c.Rate())
		if c.Cancelled == 0 {
			t.Errorf("emulator stats %+v: the load met no conflict, so it proves nothing", c)
		}
	})
}
