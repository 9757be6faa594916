package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// job returns the job of the list serving function name.
func job(t *testing.T, list []jobs.Job, name string) jobs.Job {
	t.Helper()
	for _, j := range list {
		if j.Function == name {
			return j
		}
	}
	t.Fatalf("no job %q in the list", name)
	return jobs.Job{}
}

func TestList(t *testing.T) {
	reset := job(t, jobs.List(web.Deps{}), "daily-reset")

	t.Run("the daily reset is scheduled at 00:00 UTC every day", func(t *testing.T) {
		if reset.Schedule != "cron(0 0 * * ? *)" {
			t.Errorf("schedule %q, want cron(0 0 * * ? *)", reset.Schedule)
		}
	})

	berlin := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name     string
		from     time.Time
		wantNext time.Time
	}{
		{"from noon the next run is the coming midnight", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)},
		{"from the last nanosecond of a day the next run is a nanosecond later", time.Date(2026, 11, 27, 23, 59, 59, 999_999_999, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)},
		{"from 23:59:59.999 the next run is the coming midnight", time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, time.UTC), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)},
		{"exactly at midnight the next run is the following midnight", time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)},
		{"at the end of a year the next run is New Year's Day", time.Date(2026, 12, 31, 18, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"on the 28th of February of a leap year the next run is the 29th", time.Date(2028, 2, 28, 1, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"a time in another zone is taken in UTC", time.Date(2026, 11, 28, 0, 30, 0, 0, berlin), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reset.Next(tc.from)
			if !got.Equal(tc.wantNext) || got.Location() != time.UTC {
				t.Errorf("Next(%v) = %v, want %v in UTC", tc.from, got, tc.wantNext)
			}
			if !got.After(tc.from) {
				t.Errorf("Next(%v) = %v is not after it", tc.from, got)
			}
		})
	}

	t.Run("the daily-reset job closes yesterday's usage when its scheduled event arrives", func(t *testing.T) {
		midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
		now := midnight.Add(-time.Hour)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		log := slog.New(slog.DiscardHandler)
		db := storetest.New(t)
		st := db.Store(clock)
		deps := web.Deps{Store: st, Now: clock, Log: log, Usage: usage.NewService(st, events.NewBus(log), clock, log)}
		if err := st.CreateOrg(t.Context(), store.NewOrg{Org: billing.Org{ID: "acme", Name: "Acme"}, TrialCredits: money.Dollars(100), OverageLimit: money.Dollars(10)}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddUsage(t.Context(), "acme", now, money.MustParse("1.000001")); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = midnight
		mu.Unlock()
		if err := job(t, jobs.List(deps), "daily-reset").Run(t.Context(), jobs.ScheduledEvent(midnight)); err != nil {
			t.Fatalf("run: %v", err)
		}
		snapshot, err := db.Client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(db.Table), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#acme"}, "SK": &types.AttributeValueMemberS{Value: "DAY#2026-11-27"}}})
		if err != nil || snapshot.Item == nil {
			t.Errorf("no snapshot of 2026-11-27 after the job ran (err %v)", err)
		}
		days, err := st.DailyUsage(t.Context(), "acme", midnight.AddDate(0, 0, -2), midnight)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]money.Money{"2026-11-27": money.MustParse("1.000001")}; !maps.Equal(days, want) {
			t.Errorf("daily usage %v, want %v", days, want)
		}
		acct, err := st.Account(t.Context(), "acme", midnight)
		if err != nil {
			t.Fatal(err)
		}
		if acct.UsedToday != 0 || acct.UsagePeriod != money.MustParse("1.000001") {
			t.Errorf("today %v, period %v; want 0 and 1.000001", acct.UsedToday, acct.UsagePeriod)
		}
	})
}

// lockedLog is a log buffer safe for the scheduler's goroutines.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestScheduler(t *testing.T) {
	t.Run("a job runs at its next time with a scheduled event for that time, and stops when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var mu sync.Mutex
		var planned []time.Time
		ran := make(chan awsevents.EventBridgeEvent, 100)
		var runs atomic.Int32
		j := jobs.Job{
			Function: "tick",
			Next: func(t time.Time) time.Time {
				at := t.Add(50 * time.Millisecond)
				mu.Lock()
				planned = append(planned, at)
				mu.Unlock()
				return at
			},
			Run: func(ctx context.Context, e awsevents.EventBridgeEvent) error {
				runs.Add(1)
				ran <- e
				return nil
			},
		}
		start := time.Now()
		jobs.Scheduler(ctx, []jobs.Job{j}, time.Now, slog.New(slog.DiscardHandler))
		var first awsevents.EventBridgeEvent
		select {
		case first = <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the job did not run within 5 s of a schedule 50 ms ahead")
		}
		if elapsed := time.Since(start); elapsed < 45*time.Millisecond {
			t.Errorf("the job ran after %v, before its time 50 ms ahead", elapsed)
		}
		mu.Lock()
		want := planned[0]
		mu.Unlock()
		if !first.Time.Equal(want.UTC()) || first.DetailType != "Scheduled Event" || first.Source != "aws.events" {
			t.Errorf("event %+v, want a Scheduled Event from aws.events at %v", first, want.UTC())
		}

		cancel()
		time.Sleep(100 * time.Millisecond) // a run already under way may finish
		settled := runs.Load()
		time.Sleep(250 * time.Millisecond) // five periods
		if n := runs.Load(); n != settled {
			t.Errorf("%d runs after the context ended, want none", n-settled)
		}
	})

	t.Run("a failing run is logged and the next one still comes", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		logs := &lockedLog{}
		var runs atomic.Int32
		second := make(chan struct{})
		j := jobs.Job{
			Function: "flaky",
			Next:     func(t time.Time) time.Time { return t.Add(20 * time.Millisecond) },
			Run: func(context.Context, awsevents.EventBridgeEvent) error {
				switch runs.Add(1) {
				case 1:
					return errors.New("store unavailable")
				case 2:
					close(second)
				}
				return nil
			},
		}
		jobs.Scheduler(ctx, []jobs.Job{j}, time.Now, slog.New(slog.NewTextHandler(logs, nil)))
		select {
		case <-second:
		case <-time.After(5 * time.Second):
			t.Fatalf("no second run after a failed one; log:\n%s", logs.String())
		}
		cancel()
		if log := logs.String(); !strings.Contains(log, "scheduled job failed") || !strings.Contains(log, "function=flaky") {
			t.Errorf("the failure was not logged with the function's name:\n%s", log)
		}
	})
}

// awsScheduledEvent is a scheduled event as EventBridge delivers it to a
// Lambda function (from the EventBridge user guide).
const awsScheduledEvent = `{
  "version": "0",
  "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  "source": "aws.events",
  "account": "123456789012",
  "time": "2015-10-08T16:53:06Z",
  "region": "us-east-1",
  "resources": ["arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule"],
  "detail": {}
}`

func TestScheduledEvent(t *testing.T) {
	at := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	b, err := json.Marshal(jobs.ScheduledEvent(at))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var aws map[string]any
	if err := json.Unmarshal([]byte(awsScheduledEvent), &aws); err != nil {
		t.Fatal(err)
	}

	t.Run("it has exactly the fields of the event EventBridge delivers", func(t *testing.T) {
		if keys, want := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(aws)); !slices.Equal(keys, want) {
			t.Errorf("fields %v, want %v\n%s", keys, want, b)
		}
	})

	t.Run("it is a Scheduled Event from aws.events at the scheduled time with an empty detail", func(t *testing.T) {
		want := map[string]any{"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-28T00:00:00Z"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		if d, ok := got["detail"].(map[string]any); !ok || len(d) != 0 {
			t.Errorf("detail %v, want {}", got["detail"])
		}
		if r, ok := got["resources"].([]any); !ok || len(r) != 1 {
			t.Errorf("resources %v, want the rule's ARN", got["resources"])
		}
		if id, _ := got["id"].(string); id == "" {
			t.Error("the event has no id")
		}
	})

	t.Run("a handler reads it back as the event it was", func(t *testing.T) {
		var e awsevents.EventBridgeEvent
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if !e.Time.Equal(at) || e.DetailType != "Scheduled Event" || e.Source != "aws.events" || string(e.Detail) != "{}" {
			t.Errorf("round trip %+v", e)
		}
	})
}
