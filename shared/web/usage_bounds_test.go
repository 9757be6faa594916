package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/money"
)

// boundsEnv is a web env with the organisation "acme" signed in, for
// replaying usage sequences and checking the account stays readable.
type boundsEnv struct {
	*env
	b        *browser
	accepted money.Money // sum of the amounts the API answered accepted
	seq      int
}

func newBoundsEnv(t *testing.T) *boundsEnv {
	t.Helper()
	e := newEnv(t, lateInMonth)
	return &boundsEnv{env: e, b: e.signIn("acme", "ada@acme.test", "admin")}
}

// post sends one request of events of the given amounts for acme, with
// fresh ids, adds the accepted amounts to be.accepted and returns each
// event's "status reason".
func (be *boundsEnv) post(amounts ...string) []string {
	be.t.Helper()
	var evs []string
	for _, a := range amounts {
		be.seq++
		amount, err := json.Marshal(a)
		if err != nil {
			be.t.Fatal(err)
		}
		evs = append(evs, fmt.Sprintf(`{"id":"evt-%d","org_id":"acme","amount":%s,"time":%q}`, be.seq, amount, be.now.Format("2006-01-02T15:04:05Z07:00")))
	}
	req, err := http.NewRequestWithContext(be.t.Context(), http.MethodPost, be.srv.URL+"/v1/usage", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
	if err != nil {
		be.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testUsageKey)
	res, err := be.srv.Client().Do(req)
	if err != nil {
		be.t.Fatal(err)
	}
	defer res.Body.Close()
	var ans usageAnswer
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil || res.StatusCode != http.StatusOK || len(ans.Results) != len(amounts) {
		be.t.Fatalf("POST /v1/usage %v: status %d, %+v, %v; want 200 with a result per event", amounts, res.StatusCode, ans, err)
	}
	var out []string
	for i, r := range ans.Results {
		out = append(out, strings.TrimSpace(r.Status+" "+r.Reason))
		if r.Status == "rejected" && r.Message == "" {
			be.t.Errorf("event %s rejected without a message", r.ID)
		}
		if r.Status == "accepted" {
			sum, err := be.accepted.Add(money.MustParse(amounts[i]))
			if err != nil {
				be.t.Fatalf("accepted amounts overflow: %v", err)
			}
			be.accepted = sum
		}
	}
	return out
}

// checkReadable checks that the account is exact (Usage This Period is the
// sum of the accepted amounts, within the documented maximum) and that the
// Overview, Balance History and the allowance answer.
func (be *boundsEnv) checkReadable() {
	be.t.Helper()
	acct, err := be.store.Account(be.t.Context(), "acme", be.now)
	if err != nil {
		be.t.Fatalf("account: %v", err)
	}
	if acct.UsagePeriod != be.accepted {
		be.t.Errorf("Usage This Period %v, want the accepted %v", acct.UsagePeriod, be.accepted)
	}
	if acct.UsagePeriod < 0 || acct.UsagePeriod > billing.MaxUsageCounter || acct.UsedToday < 0 || acct.UsedToday > billing.MaxUsageCounter {
		be.t.Errorf("Usage This Period %v, today %v; want both within 0..%v", acct.UsagePeriod, acct.UsedToday, billing.MaxUsageCounter)
	}
	for _, path := range []string{"/billing", "/billing/balance-history", "/billing/spend-management"} {
		if res := be.b.get(path); res.status != http.StatusOK {
			be.t.Errorf("GET %s: status %d, want 200", path, res.status)
		}
	}
	req, err := http.NewRequestWithContext(be.t.Context(), http.MethodGet, be.srv.URL+"/v1/allowance?org_id=acme", nil)
	if err != nil {
		be.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testUsageKey)
	res, err := be.srv.Client().Do(req)
	if err != nil {
		be.t.Fatal(err)
	}
	defer res.Body.Close()
	var a struct {
		Allowed   bool
		Available money.Money
	}
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != http.StatusOK {
		be.t.Errorf("allowance: status %d, %v; want 200", res.StatusCode, err)
	}
	if a.Allowed != (a.Available > 0) || a.Available < 0 {
		be.t.Errorf("allowance %+v: allowed must mean something is available", a)
	}
}

func TestUsageAPIBounds(t *testing.T) {
	const (
		overEvent = "rejected invalid_amount"
		overLimit = "rejected usage_limit"
		ok        = "accepted"
	)
	maxEvent := billing.MaxUsageEvent.String()
	sequences := []struct {
		name     string
		requests [][]string
		want     [][]string
	}{
		{"two events of 5000000000000 in one request are refused, not wrapped to −$8.4 trillion",
			[][]string{{"5000000000000", "5000000000000"}},
			[][]string{{overEvent, overEvent}}},
		{"two events of 5000000000000 in two requests are refused",
			[][]string{{"5000000000000"}, {"5000000000000"}},
			[][]string{{overEvent}, {overEvent}}},
		{"9223372036854.775807 then 0.000001 leave the account readable",
			[][]string{{"9223372036854.775807"}, {"0.000001"}},
			[][]string{{overEvent}, {ok}}},
		{"the largest amount Money holds, and one micro-dollar more, are refused",
			[][]string{{"9223372036854.775807", "9223372036854.775808", "0.000001"}},
			[][]string{{overEvent, "rejected invalid_amount", ok}}},
		{"an event of exactly the maximum counts; one micro-dollar more is refused",
			[][]string{{maxEvent, (billing.MaxUsageEvent + 1).String(), "0.000001"}},
			[][]string{{ok, overEvent, ok}}},
		{"a full batch of maximum events counts exactly",
			[][]string{strings.Split(strings.Repeat(maxEvent+",", 100), ",")[:100]},
			[][]string{strings.Split(strings.Repeat(ok+",", 100), ",")[:100]}},
	}
	for _, sq := range sequences {
		t.Run(sq.name, func(t *testing.T) {
			be := newBoundsEnv(t)
			for i, req := range sq.requests {
				if got := be.post(req...); fmt.Sprint(got) != fmt.Sprint(sq.want[i]) {
					t.Errorf("request %d %v: %q, want %q", i+1, req, got, sq.want[i])
				}
				be.checkReadable()
			}
		})
	}

	near := func(room string) money.Money { return billing.MaxUsageCounter - money.MustParse(room) }

	t.Run("an event that would take Usage This Period past its maximum is refused with usage_limit; smaller ones still fit up to the maximum exactly", func(t *testing.T) {
		be := newBoundsEnv(t)
		be.db.SetUsagePeriod(be.t, "acme", near("5"))
		be.accepted = near("5")
		got := be.post("3", "3", "2", "0.000001")
		if want := []string{ok, overLimit, ok, overLimit}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events of 3, 3, 2, 0.000001 with $5 of room: %q, want %q", got, want)
		}
		be.checkReadable()
		if got := be.post("0.000001"); fmt.Sprint(got) != fmt.Sprint([]string{overLimit}) {
			t.Errorf("at the maximum: %q, want refused", got)
		}
		be.checkReadable()
	})

	t.Run("an event that would take today's usage past its maximum is refused with usage_limit, and Usage This Period is untouched", func(t *testing.T) {
		be := newBoundsEnv(t)
		be.db.SetUsageOn(be.t, "acme", lateInMonth, near("1"))
		got := be.post("0.5", "0.6", "0.5", "0.000001")
		if want := []string{ok, overLimit, ok, overLimit}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events of 0.5, 0.6, 0.5, 0.000001 with $1 of room today: %q, want %q", got, want)
		}
		be.checkReadable()
		acct, err := be.store.Account(t.Context(), "acme", lateInMonth)
		if err != nil {
			t.Fatal(err)
		}
		if acct.UsedToday != billing.MaxUsageCounter || acct.UsagePeriod != money.Dollars(1) {
			t.Errorf("today %v, period %v; want today at the maximum and $1 this period", acct.UsedToday, acct.UsagePeriod)
		}
	})

	t.Run("a retried request near the maximum reports its events as duplicates, not as refused", func(t *testing.T) {
		be := newBoundsEnv(t)
		be.db.SetUsagePeriod(be.t, "acme", near("5"))
		be.accepted = near("5")
		body := `{"events":[{"id":"r-1","org_id":"acme","amount":"4","time":"` + be.now.Format("2006-01-02T15:04:05Z07:00") + `"}]}`
		for i, want := range []string{`"status":"accepted"`, `"status":"duplicate"`} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, be.srv.URL+"/v1/usage", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+testUsageKey)
			res, err := be.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			_ = json.NewDecoder(res.Body).Decode(&raw)
			res.Body.Close()
			if !strings.Contains(string(raw), want) {
				t.Errorf("attempt %d: %s, want %s", i+1, raw, want)
			}
		}
		be.accepted = near("1")
		be.checkReadable()
	})
}

// FuzzUsageAPIAmounts posts fuzzed amounts through POST /v1/usage, starting
// from fuzzed counters, and checks every outcome against the rules (an
// amount counts iff it parses, is in 0 < a ≤ MaxUsageEvent and fits under
// MaxUsageCounter in both counters) and that the account stays exact and
// its pages and allowance answer. requests separates requests with '|' and
// amounts with ','. go test runs the seeds; fuzz with
// go test -run '^$' -fuzz FuzzUsageAPIAmounts ./shared/web/.
func FuzzUsageAPIAmounts(f *testing.F) {
	maxC := int64(billing.MaxUsageCounter)
	f.Add(int64(0), int64(0), "5000000000000,5000000000000")
	f.Add(int64(0), int64(0), "9223372036854.775807|0.000001")
	f.Add(int64(0), int64(0), "10000,10000.000001,-1,0,1e3, 1")
	f.Add(maxC-5_000_000, int64(0), "3,3,2,0.000001")
	f.Add(int64(0), maxC-1_000_000, "0.5,0.6,0.5|0.000001")
	f.Add(maxC, maxC, "0.000001")
	f.Fuzz(func(t *testing.T, period, today int64, requests string) {
		clamp := func(v int64) money.Money {
			if v < 0 {
				v = -(v + 1)
			}
			return money.Money(v % (maxC + 1))
		}
		var reqs [][]string
		for r := range strings.SplitSeq(requests, "|") {
			amounts := strings.Split(r, ",")
			if len(amounts) > billing.MaxUsageEvents || len(reqs) == 5 {
				t.Skip("more than a test's worth of events")
			}
			reqs = append(reqs, amounts)
		}
		be := newBoundsEnv(t)
		p, d := clamp(period), clamp(today)
		be.db.SetUsagePeriod(be.t, "acme", p)
		be.db.SetUsageOn(be.t, "acme", lateInMonth, d)
		be.accepted = p
		for i, amounts := range reqs {
			want := make([]string, len(amounts))
			for j, a := range amounts {
				m, err := money.Parse(a)
				np, perr := p.Add(m)
				nd, derr := d.Add(m)
				switch {
				case err != nil || m <= 0 || m > billing.MaxUsageEvent:
					want[j] = "rejected invalid_amount"
				case perr != nil || derr != nil || np > billing.MaxUsageCounter || nd > billing.MaxUsageCounter:
					want[j] = "rejected usage_limit"
				default:
					want[j], p, d = "accepted", np, nd
				}
			}
			if got := be.post(amounts...); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("request %d %q: %q, want %q", i+1, amounts, got, want)
			}
		}
		be.checkReadable()
	})
}
