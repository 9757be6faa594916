package jobs_test

import (
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/payments"
	"github.com/acme/billing/shared/payments/sandbox"
	"github.com/acme/billing/shared/queue"
	"github.com/acme/billing/shared/queue/queuetest"
	"github.com/acme/billing/shared/recharge"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/timetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fleet is a table of organisations with every job's dependencies, and
// the jobs' dispatchers sending to a loopback SQS endpoint (queuetest: the
// real SDK client speaking SQS's JSON protocol; there is no SQS emulator
// here), from which the test delivers to the workers as the event source
// mapping would.
type fleet struct {
	db    *storetest.DB
	st    *store.Store
	clock *timetest.Clock
	deps  web.Deps
	sqs   *queuetest.Server
}

func newFleet(t testing.TB, now time.Time) *fleet {
	t.Helper()
	f := &fleet{db: storetest.New(t), clock: timetest.NewClock(now), sqs: queuetest.New(t)}
	log := slog.New(slog.DiscardHandler)
	f.st = f.db.Store(f.clock.Now)
	pay := payments.NewService(f.st, sandbox.New(f.st, f.clock.Now, "/checkout/"), f.clock.Now, log)
	bus := events.NewBus(log)
	f.deps = web.Deps{Store: f.st, Now: f.clock.Now, Log: log, Payments: pay,
		Usage: usage.NewService(f.st, bus, f.clock.Now, log), Invoicing: invoicing.New(f.st, pay, f.clock.Now, log),
		Recharge: recharge.New(f.st, pay, bus, f.clock.Now, log)}
	return f
}

// job is the job of function, its dispatcher sending to the loopback SQS.
func (f *fleet) job(t testing.TB, function string) jobs.Job {
	t.Helper()
	for _, j := range jobs.List(f.deps, jobs.WithQueue(function, f.sqs.Sender())) {
		if j.Function == function {
			return j
		}
	}
	t.Fatalf("no job %s", function)
	return jobs.Job{}
}

func (f *fleet) org(t testing.TB, id string, trial money.Money) {
	t.Helper()
	if err := f.st.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: id, Name: id}, TrialCredits: trial}); err != nil {
		t.Fatal(err)
	}
}

func (f *fleet) use(t testing.TB, id string, at time.Time, amount string) {
	t.Helper()
	if err := f.st.AddUsage(t.Context(), id, at, money.MustParse(amount)); err != nil {
		t.Fatal(err)
	}
}

// invoke calls the job's Lambda handler with event as Lambda passes it:
// JSON.
func invoke(t testing.TB, j jobs.Job, event any) any {
	t.Helper()
	raw, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	out, err := j.Lambda()(t.Context(), raw)
	if err != nil {
		t.Fatalf("%s: %v", j.Function, err)
	}
	return out
}

// deliver hands the messages sent so far to the job's worker as one SQS
// event and returns the ids of the messages it reported failed.
func (f *fleet) deliver(t testing.TB, j jobs.Job, e awsevents.SQSEvent) []string {
	t.Helper()
	resp, ok := invoke(t, j, e).(awsevents.SQSEventResponse)
	if !ok {
		t.Fatalf("%s answered an SQS event with %T, want events.SQSEventResponse", j.Function, resp)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	return failed
}

// sentOrgs returns the organisations of the messages sent so far, sorted,
// and checks each message is of job at at, and at most perMessage long.
func (f *fleet) sentOrgs(t testing.TB, job string, at time.Time, perMessage int) []string {
	t.Helper()
	var orgs []string
	for _, m := range f.sqs.Messages(t) {
		if m.Job != job || !m.At.Equal(at) || len(m.Orgs) == 0 || len(m.Orgs) > perMessage {
			t.Errorf("message %+v, want up to %d organisations of %s at %v", m, perMessage, job, at)
		}
		orgs = append(orgs, m.Orgs...)
	}
	slices.Sort(orgs)
	return orgs
}

func (f *fleet) snapshot(t testing.TB, org, day string) (money.Money, bool) {
	t.Helper()
	out, err := f.db.Client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(f.db.Table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "DAY#" + day}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return 0, false
	}
	var used money.Money
	if err := attributevalue.Unmarshal(out.Item["used"], &used); err != nil {
		t.Fatalf("snapshot %s/%s: used: %v", org, day, err)
	}
	return used, true
}

func TestDailyResetFansOut(t *testing.T) {
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	yesterday := billing.Day(midnight.AddDate(0, 0, -1))
	f := newFleet(t, midnight.Add(-12*time.Hour))
	for _, id := range []string{"amber", "birch", "cedar", "dune", "elm"} {
		f.org(t, id, money.Dollars(50))
	}
	for _, id := range []string{"amber", "birch", "cedar"} {
		f.use(t, id, midnight.Add(-12*time.Hour), "1.000001")
	}
	f.clock.Set(midnight.Add(time.Minute))
	f.use(t, "dune", midnight.Add(time.Minute), "2") // today only: its day is not over
	j := f.job(t, "daily-reset")

	// The scheduled event comes as EventBridge delivers it.
	var scheduled map[string]any
	if err := json.Unmarshal([]byte(awsScheduledEvent), &scheduled); err != nil {
		t.Fatal(err)
	}
	scheduled["time"] = midnight.Format(time.RFC3339)
	if out := invoke(t, j, scheduled); out != nil {
		t.Errorf("the dispatcher answered %v", out)
	}

	t.Run("the dispatcher sends exactly the organisations with usage on the day that ended", func(t *testing.T) {
		if got, want := f.sentOrgs(t, "daily-reset", midnight, 25), []string{"amber", "birch", "cedar"}; !slices.Equal(got, want) {
			t.Errorf("sent %v, want %v", got, want)
		}
	})

	event := f.sqs.Take()
	t.Run("the worker closes their day into snapshots, and nobody else's", func(t *testing.T) {
		if failed := f.deliver(t, j, event); len(failed) != 0 {
			t.Fatalf("failed messages %v", failed)
		}
		for _, id := range []string{"amber", "birch", "cedar"} {
			if used, ok := f.snapshot(t, id, yesterday); !ok || used != money.MustParse("1.000001") {
				t.Errorf("%s: snapshot of %s %v (%v), want 1.000001", id, yesterday, used, ok)
			}
		}
		if _, ok := f.snapshot(t, "dune", billing.Day(midnight)); ok {
			t.Error("dune's day, not over, was closed")
		}
	})

	t.Run("a redelivered message changes nothing", func(t *testing.T) {
		if failed := f.deliver(t, j, event); len(failed) != 0 {
			t.Fatalf("failed messages %v", failed)
		}
		acct, days, err := overview(t, f, "amber", midnight)
		if err != nil {
			t.Fatal(err)
		}
		if used, _ := f.snapshot(t, "amber", yesterday); used != money.MustParse("1.000001") || acct.UsagePeriod != money.MustParse("1.000001") || days[yesterday] != money.MustParse("1.000001") {
			t.Errorf("after a redelivery: snapshot %v, Usage This Period %v, recent days %v; want 1.000001 each", used, acct.UsagePeriod, days)
		}
	})

	t.Run("a message with an organisation that fails is reported for redelivery, and its others are done", func(t *testing.T) {
		f.use(t, "elm", midnight.Add(-time.Hour), "3")
		body, _ := json.Marshal(queue.Message{Job: "daily-reset", At: midnight, Orgs: []string{"ghost", "elm"}})
		bad := awsevents.SQSEvent{Records: []awsevents.SQSMessage{{MessageId: "m-ghost", Body: string(body), EventSource: "aws:sqs"}}}
		if failed := f.deliver(t, j, bad); !slices.Equal(failed, []string{"m-ghost"}) {
			t.Errorf("failed messages %v, want [m-ghost]", failed)
		}
		if _, ok := f.snapshot(t, "elm", yesterday); !ok {
			t.Error("elm, in the same message as the failure, was not closed")
		}
	})
}

func overview(t testing.TB, f *fleet, org string, now time.Time) (billing.Account, map[string]money.Money, error) {
	t.Helper()
	acct, _, days, err := f.st.OverviewWithDays(t.Context(), org, now)
	return acct, days, err
}

func TestInvoicingFansOut(t *testing.T) {
	close := billing.PeriodStart(time.Now().UTC())
	f := newFleet(t, close.Add(-2*time.Hour))
	for _, id := range []string{"amber", "birch", "cedar", "dune"} {
		f.org(t, id, money.Dollars(100))
	}
	f.use(t, "amber", close.Add(-time.Hour), "12.5")
	f.use(t, "birch", close.AddDate(0, 0, -20), "0.25")
	f.clock.Set(close.Add(time.Minute))
	f.use(t, "cedar", close.Add(time.Minute), "4") // the new period's
	j := f.job(t, "invoicing")
	if err := j.Run(t.Context(), jobs.ScheduledEvent(close)); err != nil {
		t.Fatal(err)
	}

	t.Run("the dispatcher sends exactly the organisations with usage in the period that ended", func(t *testing.T) {
		if got, want := f.sentOrgs(t, "invoicing", close, 10), []string{"amber", "birch"}; !slices.Equal(got, want) {
			t.Errorf("sent %v, want %v", got, want)
		}
	})

	event := f.sqs.Take()
	t.Run("the worker invoices each once, however often the message comes", func(t *testing.T) {
		for range 2 {
			if failed := f.deliver(t, j, event); len(failed) != 0 {
				t.Fatalf("failed messages %v", failed)
			}
		}
		period := invoicing.PreviousPeriod(close)
		for id, want := range map[string]money.Money{"amber": money.MustParse("12.5"), "birch": money.MustParse("0.25")} {
			invs, err := f.st.Invoices(t.Context(), id)
			if err != nil || len(invs) != 1 || invs[0].Usage != want || !invs[0].Period.Equal(period) {
				t.Errorf("%s: invoices %+v (%v), want one of %v for %v", id, invs, err, want, period.Format("2006-01"))
			}
		}
		for _, id := range []string{"cedar", "dune"} {
			if invs, err := f.st.Invoices(t.Context(), id); err != nil || len(invs) != 0 {
				t.Errorf("%s, with no usage in the period, has invoices %+v (%v)", id, invs, err)
			}
		}
		acct, err := f.st.Account(t.Context(), "cedar", close.Add(time.Minute))
		if err != nil || acct.UsagePeriod != money.Dollars(4) {
			t.Errorf("cedar's Usage This Period %v (%v), want its $4 of the new period", acct.UsagePeriod, err)
		}
	})
}

func TestRechargeSweepFansOut(t *testing.T) {
	now := time.Now().UTC()
	f := newFleet(t, now)
	on := billing.AutoRechargeSettings{Enabled: true, Threshold: money.Dollars(5), Amount: money.Dollars(20)}
	for _, id := range []string{"amber", "birch", "cedar"} {
		f.org(t, id, money.Dollars(50))
	}
	for _, id := range []string{"amber", "birch"} {
		if err := f.st.SetAutoRecharge(t.Context(), id, on); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.SetAutoRecharge(t.Context(), "birch", billing.AutoRechargeSettings{}); err != nil {
		t.Fatal(err)
	}
	j := f.job(t, "auto-recharge")
	sweep := func() []string {
		t.Helper()
		if err := j.Run(t.Context(), jobs.ScheduledEvent(now)); err != nil {
			t.Fatal(err)
		}
		sent := f.sentOrgs(t, "auto-recharge", now, 100)
		if failed := f.deliver(t, j, f.sqs.Take()); len(failed) != 0 {
			t.Fatalf("failed messages %v", failed)
		}
		return sent
	}

	t.Run("the sweep visits the organisations that turned auto-recharge on, never the others", func(t *testing.T) {
		if got, want := sweep(), []string{"amber", "birch"}; !slices.Equal(got, want) {
			t.Errorf("sent %v, want %v", got, want)
		}
	})

	t.Run("one found off is dropped from the next sweep, and comes back when turned on again", func(t *testing.T) {
		if got, want := sweep(), []string{"amber"}; !slices.Equal(got, want) {
			t.Errorf("sent %v, want %v", got, want)
		}
		if err := f.st.SetAutoRecharge(t.Context(), "birch", on); err != nil {
			t.Fatal(err)
		}
		if got, want := sweep(), []string{"amber", "birch"}; !slices.Equal(got, want) {
			t.Errorf("sent %v, want %v", got, want)
		}
	})
}
