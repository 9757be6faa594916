package usage_test

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/logtest"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/usage"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// noon is the default time of the tests: mid-day, so a test crosses UTC
// midnight only when it means to.
var noon = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// meter is the usage service as production builds it, on an embedded
// DynamoDB with the in-process event bus.
type meter struct {
	t     *testing.T
	clock *timetest.Clock
	db    *storetest.DB
	st    *store.Store
	bus   *events.Bus
	svc   *usage.Service
	log   *slog.Logger
	logs  *logtest.Buffer
}

// newMeter builds store → bus → service at time at. The service log is
// printed when the test fails.
func newMeter(t *testing.T, at time.Time) *meter {
	t.Helper()
	return newMeterOn(t, at, storetest.New(t))
}

// newMeterOn is newMeter on a given embedded DynamoDB, such as one with
// transaction conflicts emulated.
func newMeterOn(t *testing.T, at time.Time, db *storetest.DB) *meter {
	t.Helper()
	logs := &logtest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	clock := timetest.NewClock(at)
	st := db.Store(clock.Now)
	bus := events.NewBus(log)
	return &meter{t: t, clock: clock, db: db, st: st, bus: bus, svc: usage.NewService(st, bus, clock.Now, log), log: log, logs: logs}
}

// as returns the meter for a subtest: the same service and table,
// failing t.
func (m *meter) as(t *testing.T) *meter {
	c := *m
	c.t = t
	return &c
}

// storeOver returns a store on the meter's table whose client sends its
// requests through transport, retrying failed calls after a few
// milliseconds instead of the SDK's default seconds, so fault tests stay
// fast. Everything else is the production client of store.NewClient.
func (m *meter) storeOver(transport http.RoundTripper) *store.Store {
	m.t.Helper()
	return m.db.StoreOver(m.t, transport, m.clock.Now)
}

// createOrg creates an organisation with $100 of trial credits and a $10
// overage limit, as an operator would.
func (m *meter) createOrg(id string) {
	m.t.Helper()
	m.createOrgWith(id, money.Dollars(100), money.Dollars(10))
}

func (m *meter) createOrgWith(id string, trial, overage money.Money) {
	m.t.Helper()
	err := m.st.CreateOrg(m.t.Context(), store.NewOrg{Org: billing.Org{ID: id, Name: strings.ToUpper(id[:1]) + id[1:]}, TrialCredits: trial, OverageLimit: overage})
	if err != nil {
		m.t.Fatalf("create org %s: %v", id, err)
	}
}

// spend turns Spend Management on with a daily budget and email threshold.
func (m *meter) spend(org string, budget, emailThreshold string) {
	m.t.Helper()
	sp := billing.SpendSettings{Enabled: true, DailyBudget: money.MustParse(budget), EmailThreshold: money.MustParse(emailThreshold)}
	if err := m.st.SetSpendSettings(m.t.Context(), org, sp); err != nil {
		m.t.Fatalf("spend settings %s: %v", org, err)
	}
}

// account reads the organisation's account as of the clock.
func (m *meter) account(org string) billing.Account {
	m.t.Helper()
	a, err := m.st.Account(m.t.Context(), org, m.clock.Now())
	if err != nil {
		m.t.Fatalf("account %s: %v", org, err)
	}
	return a
}

// record records inputs and fails the test on an error.
func (m *meter) record(inputs ...usage.Input) []usage.Result {
	m.t.Helper()
	results, err := m.svc.Record(m.t.Context(), inputs)
	if err != nil {
		m.t.Fatalf("record: %v", err)
	}
	if len(results) != len(inputs) {
		m.t.Fatalf("record: %d results for %d events", len(results), len(inputs))
	}
	return results
}

// use records one event of amount for org, happening now, and checks it is
// accepted.
func (m *meter) use(org, id, amount string) {
	m.t.Helper()
	res := m.record(event(id, org, amount, m.clock.Now()))
	if res[0].Status != usage.StatusAccepted {
		m.t.Fatalf("event %s: %+v, want accepted", id, res[0])
	}
}

// allowance asks for the organisation's allowance and fails on an error.
func (m *meter) allowance(org string) usage.Allowance {
	m.t.Helper()
	a, err := m.svc.Allowance(m.t.Context(), org)
	if err != nil {
		m.t.Fatalf("allowance %s: %v", org, err)
	}
	return a
}

// items returns every item of the table whose PK starts with prefix,
// sorted by key, straight from DynamoDB.
func (m *meter) items(prefix string) []map[string]types.AttributeValue {
	m.t.Helper()
	var all []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(m.db.Client, &dynamodb.ScanInput{TableName: aws.String(m.db.Table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(m.t.Context())
		if err != nil {
			m.t.Fatalf("scan: %v", err)
		}
		for _, it := range out.Items {
			if strings.HasPrefix(attrS(it, "PK"), prefix) {
				all = append(all, it)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		return attrS(all[i], "PK")+"|"+attrS(all[i], "SK") < attrS(all[j], "PK")+"|"+attrS(all[j], "SK")
	})
	return all
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// event is one usage event as a caller reports it.
func event(id, org, amount string, at time.Time) usage.Input {
	return usage.Input{Event: billing.UsageEvent{ID: id, OrgID: org, Amount: money.MustParse(amount), Description: "API call", Time: at}}
}

func TestRecordValidation(t *testing.T) {
	base := newMeter(t, noon)
	base.createOrg("acme")
	now := base.clock.Now()
	valid := func(mod func(e *billing.UsageEvent)) usage.Input {
		in := event("evt-1", "acme", "0.0025", now.Add(-time.Second))
		mod(&in.Event)
		return in
	}

	rejected := []struct {
		name   string
		in     usage.Input
		reason string
	}{
		{"an empty id", valid(func(e *billing.UsageEvent) { e.ID = "" }), billing.RejectInvalidID},
		{"an id of 129 characters", valid(func(e *billing.UsageEvent) { e.ID = strings.Repeat("é", 129) }), billing.RejectInvalidID},
		{"an id that is not UTF-8", valid(func(e *billing.UsageEvent) { e.ID = "evt-\xff" }), billing.RejectInvalidID},
		{"a bad organisation id", valid(func(e *billing.UsageEvent) { e.OrgID = "Acme Corp" }), billing.RejectInvalidOrg},
		{"an empty organisation id", valid(func(e *billing.UsageEvent) { e.OrgID = "" }), billing.RejectInvalidOrg},
		{"an unknown organisation", valid(func(e *billing.UsageEvent) { e.OrgID = "globex" }), billing.RejectUnknownOrg},
		{"an amount of zero", valid(func(e *billing.UsageEvent) { e.Amount = 0 }), billing.RejectInvalidAmount},
		{"a negative amount", valid(func(e *billing.UsageEvent) { e.Amount = -money.MustParse("0.000001") }), billing.RejectInvalidAmount},
		{"a time 35 days and 1 second in the past", valid(func(e *billing.UsageEvent) { e.Time = now.Add(-35*24*time.Hour - time.Second) }), billing.RejectInvalidTime},
		{"a time 5 minutes and 1 second in the future", valid(func(e *billing.UsageEvent) { e.Time = now.Add(5*time.Minute + time.Second) }), billing.RejectInvalidTime},
		{"a missing time", valid(func(e *billing.UsageEvent) { e.Time = time.Time{} }), billing.RejectInvalidTime},
		{"a description of 201 characters", valid(func(e *billing.UsageEvent) { e.Description = strings.Repeat("d", 201) }), billing.RejectInvalidDesc},
		{"an amount the caller could not parse", usage.Input{Event: billing.UsageEvent{ID: "evt-1", OrgID: "acme"},
			Reject: &billing.Rejection{Reason: billing.RejectInvalidAmount, Message: "amount has more than 6 decimal places"}}, billing.RejectInvalidAmount},
	}
	for _, tc := range rejected {
		t.Run(tc.name+" is rejected and changes no counter", func(t *testing.T) {
			m := base.as(t)
			before, records := m.account("acme"), len(m.items("EVT#"))
			m.db.Reset()
			res := m.record(tc.in)
			sent := m.db.Requests()
			if res[0].Status != usage.StatusRejected || res[0].Reason != tc.reason || res[0].Message == "" {
				t.Errorf("result %+v, want rejected %s with a message", res[0], tc.reason)
			}
			if res[0].ID != tc.in.Event.ID {
				t.Errorf("result id %q, want the event's %q", res[0].ID, tc.in.Event.ID)
			}
			if after := m.account("acme"); after.UsagePeriod != before.UsagePeriod || after.UsedToday != before.UsedToday {
				t.Errorf("usage changed: period %v → %v, today %v → %v", before.UsagePeriod, after.UsagePeriod, before.UsedToday, after.UsedToday)
			}
			if n := len(m.items("EVT#")); n != records {
				t.Errorf("%d idempotency records written, want none", n-records)
			}
			if tc.reason != billing.RejectUnknownOrg {
				for _, r := range sent {
					if r.Op != "GetItem" {
						t.Errorf("a rejected event sent %s to DynamoDB", r.Op)
					}
				}
			}
		})
	}

	t.Run("usage for an unknown organisation never creates it", func(t *testing.T) {
		m := base.as(t)
		m.record(event("evt-ghost", "globex", "1", now))
		if _, err := m.st.Account(t.Context(), "globex", now); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("account of globex: err %v, want not found", err)
		}
		if n := len(m.items("ORG#globex")); n != 0 {
			t.Errorf("%d items of globex exist, want none", n)
		}
	})

	accepted := []struct {
		name string
		in   usage.Input
	}{
		{"an id of 128 characters", valid(func(e *billing.UsageEvent) { e.ID = strings.Repeat("é", 128) })},
		{"a time 35 days less 1 minute in the past", valid(func(e *billing.UsageEvent) { e.ID = "evt-old"; e.Time = now.Add(-35*24*time.Hour + time.Minute) })},
		{"a time 4 minutes in the future", valid(func(e *billing.UsageEvent) { e.ID = "evt-ahead"; e.Time = now.Add(4 * time.Minute) })},
		{"a description of 200 characters", valid(func(e *billing.UsageEvent) { e.ID = "evt-desc"; e.Description = strings.Repeat("d", 200) })},
		{"an amount of one micro-dollar", valid(func(e *billing.UsageEvent) { e.ID = "evt-micro"; e.Amount = money.Microdollar })},
	}
	for _, tc := range accepted {
		t.Run(tc.name+" is accepted and counted", func(t *testing.T) {
			m := base.as(t)
			before := m.account("acme")
			res := m.record(tc.in)
			if res[0].Status != usage.StatusAccepted || res[0].Reason != "" {
				t.Fatalf("result %+v, want accepted", res[0])
			}
			after := m.account("acme")
			if after.UsagePeriod-before.UsagePeriod != tc.in.Event.Amount || after.UsedToday-before.UsedToday != tc.in.Event.Amount {
				t.Errorf("usage grew by %v (period) and %v (today), want %v", after.UsagePeriod-before.UsagePeriod, after.UsedToday-before.UsedToday, tc.in.Event.Amount)
			}
		})
	}

	t.Run("a batch mixing good and bad events counts only the good ones, with results in order", func(t *testing.T) {
		m := base.as(t)
		before := m.account("acme")
		res := m.record(
			event("mix-1", "acme", "0.000123", now),
			event("", "acme", "5", now),
			event("mix-2", "globex", "5", now),
			event("mix-3", "acme", "0.000456", now),
			event("mix-1", "acme", "0.000123", now),
		)
		want := []struct{ id, status, reason string }{
			{"mix-1", usage.StatusAccepted, ""},
			{"", usage.StatusRejected, billing.RejectInvalidID},
			{"mix-2", usage.StatusRejected, billing.RejectUnknownOrg},
			{"mix-3", usage.StatusAccepted, ""},
			{"mix-1", usage.StatusDuplicate, ""},
		}
		for i, w := range want {
			if res[i].ID != w.id || res[i].Status != w.status || res[i].Reason != w.reason {
				t.Errorf("result %d: %+v, want %s %s %s", i, res[i], w.id, w.status, w.reason)
			}
		}
		if got := m.account("acme").UsagePeriod - before.UsagePeriod; got != money.MustParse("0.000579") {
			t.Errorf("usage grew by %v, want 0.000579", got)
		}
	})
}

func TestAllowance(t *testing.T) {
	t.Run("without Spend Management everything in credit and overage is available", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.use("acme", "evt-1", "3.000001")
		a := m.allowance("acme")
		if !a.Allowed || a.Available != money.MustParse("106.999999") || a.Reason != "" || a.ResetsAt != nil {
			t.Errorf("allowance %+v, want allowed with 106.999999 available", a)
		}
	})

	t.Run("with Spend Management the smaller of credit and what is left of the budget is available", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.createOrgWith("small", money.MustParse("1.5"), money.MustParse("0.25"))
		m.spend("acme", "5", "0")
		m.spend("small", "5", "0")
		m.use("acme", "evt-1", "3.000001")
		m.use("small", "evt-1", "0.5")
		if a := m.allowance("acme"); !a.Allowed || a.Available != money.MustParse("1.999999") || a.Reason != "" {
			t.Errorf("acme: %+v, want allowed with the budget's 1.999999 left", a)
		}
		if a := m.allowance("small"); !a.Allowed || a.Available != money.MustParse("1.25") || a.Reason != "" {
			t.Errorf("small: %+v, want allowed with credit 1 + overage 0.25", a)
		}
	})

	t.Run("the allowance flips to the daily limit the moment today's usage reaches the budget", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "2", "0")
		m.use("acme", "evt-1", "1.999999")
		if a := m.allowance("acme"); !a.Allowed || a.Available != money.Microdollar {
			t.Fatalf("one micro-dollar below the budget: %+v, want allowed with 0.000001", a)
		}
		m.use("acme", "evt-2", "0.000001")
		a := m.allowance("acme")
		if a.Allowed || a.Available != 0 || a.Reason != billing.ReasonDailyLimitReached {
			t.Errorf("at the budget: %+v, want refused for the daily limit", a)
		}
		if want := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC); a.ResetsAt == nil || !a.ResetsAt.Equal(want) {
			t.Errorf("resets_at %v, want %v", a.ResetsAt, want)
		}
	})

	t.Run("usage past the budget is still recorded, never dropped", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "1", "0")
		m.use("acme", "evt-1", "1")
		m.use("acme", "evt-2", "0.5")
		if acct := m.account("acme"); acct.UsedToday != money.MustParse("1.5") || acct.UsagePeriod != money.MustParse("1.5") {
			t.Errorf("today %v, period %v; want 1.5 each", acct.UsedToday, acct.UsagePeriod)
		}
		if a := m.allowance("acme"); a.Allowed || a.Reason != billing.ReasonDailyLimitReached || a.Available != 0 {
			t.Errorf("allowance %+v, want refused for the daily limit", a)
		}
	})

	t.Run("with credit and overage used up the reason is insufficient credits and nothing resets at midnight", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrgWith("acme", money.Dollars(1), money.MustParse("0.5"))
		m.use("acme", "evt-1", "1.499999")
		if a := m.allowance("acme"); !a.Allowed || a.Available != money.Microdollar {
			t.Fatalf("one micro-dollar of overage left: %+v, want allowed", a)
		}
		m.use("acme", "evt-2", "0.000001")
		a := m.allowance("acme")
		if a.Allowed || a.Available != 0 || a.Reason != billing.ReasonInsufficientCredits || a.ResetsAt != nil {
			t.Errorf("credit exactly used up: %+v, want refused for insufficient credits without resets_at", a)
		}
		m.use("acme", "evt-3", "2")
		if a := m.allowance("acme"); a.Allowed || a.Available != 0 || a.Reason != billing.ReasonInsufficientCredits {
			t.Errorf("credit overdrawn: %+v, want refused for insufficient credits", a)
		}
	})

	t.Run("insufficient credits wins over the daily limit when both block", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrgWith("acme", money.Dollars(1), 0)
		m.spend("acme", "1", "0")
		m.use("acme", "evt-1", "1")
		if a := m.allowance("acme"); a.Allowed || a.Reason != billing.ReasonInsufficientCredits || a.ResetsAt != nil {
			t.Errorf("allowance %+v, want refused for insufficient credits without resets_at", a)
		}
	})

	t.Run("the allowance reflects each recording at once", func(t *testing.T) {
		m := newMeter(t, noon)
		m.createOrg("acme")
		m.spend("acme", "1", "0")
		want := money.Dollars(1)
		for i := range 4 {
			m.use("acme", "evt-"+string(rune('a'+i)), "0.250001")
			want -= money.MustParse("0.250001")
			a := m.allowance("acme")
			if max(want, 0) != a.Available || a.Allowed != (want > 0) {
				t.Errorf("after %d recordings: %+v, want available %v", i+1, a, max(want, 0))
			}
		}
	})

	t.Run("an unknown organisation is not found", func(t *testing.T) {
		m := newMeter(t, noon)
		_, err := m.svc.Allowance(context.Background(), "globex")
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("err %v, want not found", err)
		}
	})
}
