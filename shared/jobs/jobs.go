// Package jobs lists the functions that run on an EventBridge schedule
// rather than on HTTP: the one list template.yaml, the Lambda mains and the
// local server's in-process scheduler share.
package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/invoicing"
	"github.com/acme/billing/shared/notify"
	"github.com/acme/billing/shared/web"
	awsevents "github.com/aws/aws-lambda-go/events"
)

// Job is a function run on a schedule, and on billing events when
// DetailTypes is set.
type Job struct {
	Function string
	// Schedule is the EventBridge schedule expression in template.yaml.
	Schedule string
	// DetailTypes are the billing events (source events.Source, on the
	// billing bus) a rule sends to the function.
	DetailTypes []string
	// Next returns the first run time after t, for the local scheduler; it
	// must agree with Schedule.
	Next func(t time.Time) time.Time
	// Run handles the scheduled event.
	Run func(ctx context.Context, e awsevents.EventBridgeEvent) error
}

// List returns every scheduled job.
func List(d web.Deps) []Job {
	return []Job{
		{
			Function:    "auto-recharge",
			Schedule:    "rate(15 minutes)",
			DetailTypes: []string{events.TypeBalanceLow},
			Next:        every(15 * time.Minute),
			Run: func(ctx context.Context, e awsevents.EventBridgeEvent) error {
				return d.Recharge.Handle(ctx, e)
			},
		},
		{
			Function: "daily-reset",
			Schedule: "cron(0 0 * * ? *)",
			Next:     nextMidnight,
			Run: func(ctx context.Context, e awsevents.EventBridgeEvent) error {
				return d.Usage.DailyReset(ctx)
			},
		},
		{
			// The monthly cycle close invoices every organisation's
			// period that just ended.
			Function: "invoicing",
			Schedule: "cron(0 0 1 * ? *)",
			Next:     invoicing.NextClose,
			Run: func(ctx context.Context, e awsevents.EventBridgeEvent) error {
				at := e.Time
				if at.IsZero() {
					at = d.Now()
				}
				return d.Invoicing.CloseAll(ctx, invoicing.PreviousPeriod(at))
			},
		},
		{
			// The notifier sends each notification event (email and
			// webhook), and every five minutes retries what is due and
			// tells the organisations that became past due.
			Function:    "notifier",
			Schedule:    "rate(5 minutes)",
			DetailTypes: notify.Types,
			Next:        every(5 * time.Minute),
			Run: func(ctx context.Context, e awsevents.EventBridgeEvent) error {
				if e.DetailType == scheduledEvent {
					return d.Notify.Scheduled(ctx)
				}
				return d.Notify.Handle(ctx, e)
			},
		},
	}
}

// scheduledEvent is the detail type of an EventBridge schedule's event.
const scheduledEvent = "Scheduled Event"

// every returns a Next for a rate schedule of period d: the next multiple
// of d since the Unix epoch.
func every(d time.Duration) func(time.Time) time.Time {
	return func(t time.Time) time.Time { return t.Truncate(d).Add(d) }
}

func nextMidnight(t time.Time) time.Time {
	y, m, day := t.UTC().Date()
	return time.Date(y, m, day+1, 0, 0, 0, 0, time.UTC)
}

// Scheduler runs jobs at their times in-process, as EventBridge would,
// until ctx ends. It is the local server's stand-in for EventBridge
// schedules; a failed run is logged, and the next one comes at the next
// scheduled time.
func Scheduler(ctx context.Context, list []Job, now func() time.Time, log *slog.Logger) {
	for _, j := range list {
		go func() {
			for {
				at := j.Next(now())
				select {
				case <-ctx.Done():
					return
				case <-time.After(at.Sub(now())):
				}
				if err := j.Run(ctx, ScheduledEvent(at)); err != nil {
					log.Error("scheduled job failed", "function", j.Function, "error", err)
				}
			}
		}()
	}
}

// ScheduledEvent is the event EventBridge Scheduler delivers at t.
func ScheduledEvent(t time.Time) awsevents.EventBridgeEvent {
	return awsevents.EventBridgeEvent{
		Version: "0", ID: "local-" + t.UTC().Format("20060102T150405"), DetailType: scheduledEvent,
		Source: "aws.events", AccountID: "000000000000", Time: t.UTC(), Region: "local",
		Resources: []string{"arn:aws:events:local:000000000000:rule/local-schedule"}, Detail: []byte("{}"),
	}
}
