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
	"github.com/acme/billing/shared/queue"
	"github.com/acme/billing/shared/store"
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
	// Run handles the scheduled event (and the rule's events). For a job
	// that fans out (Work is set) the scheduled event runs the dispatcher:
	// it pages through the organisations that have work and sends them in
	// batches to the job's queue.
	Run func(ctx context.Context, e awsevents.EventBridgeEvent) error
	// Work is the worker of a job that fans out: it runs the job's step for
	// each organisation of one batch from the queue. Nil for the others.
	Work func(ctx context.Context, m queue.Message) error
	// Queue is the function's SQS queue in template.yaml (its logical id),
	// for a job that fans out.
	Queue string
	// BatchOrgs is how many organisations one of its messages carries at
	// most, for a job that fans out.
	BatchOrgs int

	log *slog.Logger
}

// Option configures List.
type Option func(*options)

type options struct {
	senders map[string]queue.Sender
}

// WithQueue makes the dispatcher of function's job send its batches to s
// (its SQS queue, in AWS). Without it they go to the job's own workers
// in-process (queue.Local), as locally and in tests.
func WithQueue(function string, s queue.Sender) Option {
	return func(o *options) { o.senders[function] = s }
}

// LocalWorkers is how many in-process workers a job's batches get without
// WithQueue.
const LocalWorkers = 4

// List returns every scheduled job.
func List(d web.Deps, opts ...Option) []Job {
	o := options{senders: map[string]queue.Sender{}}
	for _, opt := range opts {
		opt(&o)
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	at := func(e awsevents.EventBridgeEvent) time.Time {
		if e.Time.IsZero() {
			return d.Now()
		}
		return e.Time
	}
	fan := func(j Job, f fanout) Job {
		j.log, j.BatchOrgs = log, f.perMessage
		j.Work = func(ctx context.Context, m queue.Message) error { return f.work(ctx, m, log) }
		send := o.senders[j.Function]
		if send == nil {
			send = queue.NewLocal(LocalWorkers, j.Work)
		}
		dispatch := func(ctx context.Context, e awsevents.EventBridgeEvent) error {
			return f.dispatch(ctx, j.Function, at(e), send, log)
		}
		if j.Run == nil {
			j.Run = dispatch
			return j
		}
		onEvent := j.Run
		j.Run = func(ctx context.Context, e awsevents.EventBridgeEvent) error {
			if e.DetailType == scheduledEvent {
				return dispatch(ctx, e)
			}
			return onEvent(ctx, e)
		}
		return j
	}
	return []Job{
		fan(Job{
			// Every 15 minutes the sweep checks the organisations with
			// auto-recharge on (a back-off ending, a missed event); the
			// low-balance event recharges at once.
			Function:    "auto-recharge",
			Schedule:    "rate(15 minutes)",
			DetailTypes: []string{events.TypeBalanceLow},
			Next:        every(15 * time.Minute),
			Queue:       "AutoRechargeQueue",
			Run: func(ctx context.Context, e awsevents.EventBridgeEvent) error {
				return d.Recharge.Handle(ctx, e)
			},
		}, fanout{
			perMessage: 100,
			due: func(ctx context.Context, _ time.Time, fn func([]string) error) error {
				return d.Recharge.EachDue(ctx, fn)
			},
			step: func(ctx context.Context, orgID string, _ time.Time) error { return d.Recharge.Sweep(ctx, orgID) },
		}),
		fan(Job{
			// At midnight the reset closes the day that ended for every
			// organisation with usage on it.
			Function: "daily-reset",
			Schedule: "cron(0 0 * * ? *)",
			Next:     nextMidnight,
			Queue:    "DailyResetQueue",
		}, fanout{
			perMessage: 25,
			due: func(ctx context.Context, at time.Time, fn func([]string) error) error {
				return d.Usage.EachResetDue(ctx, at, fn)
			},
			step: func(ctx context.Context, orgID string, at time.Time) error { return d.Usage.ResetOrg(ctx, orgID, at) },
		}),
		fan(Job{
			// The monthly cycle close invoices the period that just ended
			// of every organisation with usage in it (an organisation
			// without has nothing to invoice; one listed for usage written
			// in the month's last minutes gets no $0 invoice).
			Function: "invoicing",
			Schedule: "cron(0 0 1 * ? *)",
			Next:     invoicing.NextClose,
			Queue:    "InvoicingQueue",
		}, fanout{
			// Few per message: an amount due costs Stripe calls.
			perMessage: 10,
			due: func(ctx context.Context, at time.Time, fn func([]string) error) error {
				return d.Store.DueOrgs(ctx, store.DueUsageIn(invoicing.PreviousPeriod(at)), fn)
			},
			step: func(ctx context.Context, orgID string, at time.Time) error {
				_, _, err := d.Invoicing.CloseUsed(ctx, orgID, invoicing.PreviousPeriod(at))
				return err
			},
		}),
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
