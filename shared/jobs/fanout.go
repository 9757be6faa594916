package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/acme/billing/shared/queue"
	awsevents "github.com/aws/aws-lambda-go/events"
)

// fanout is the work of a job over organisations: which have work at a
// scheduled time, and the step for one of them. The step must be
// idempotent: a batch that failed is delivered again whole, and SQS may
// deliver any message twice.
type fanout struct {
	// perMessage is how many organisations one message carries.
	perMessage int
	// due calls fn with the organisations that have work at at, a page
	// at a time.
	due  func(ctx context.Context, at time.Time, fn func(orgIDs []string) error) error
	step func(ctx context.Context, orgID string, at time.Time) error
}

// dispatch pages through the organisations with work at at and sends them
// to send in messages of f.perMessage, queue.MaxBatch messages at a time.
func (f fanout) dispatch(ctx context.Context, job string, at time.Time, send queue.Sender, log *slog.Logger) error {
	var msgs []queue.Message
	var cur []string
	orgs, sent := 0, 0
	flush := func(all bool) error {
		if len(cur) > 0 && (all || len(cur) == f.perMessage) {
			msgs = append(msgs, queue.Message{Job: job, At: at.UTC(), Orgs: cur})
			cur = nil
		}
		if len(msgs) > 0 && (all || len(msgs) == queue.MaxBatch) {
			if err := send.Send(ctx, msgs); err != nil {
				return err
			}
			sent += len(msgs)
			msgs = nil
		}
		return nil
	}
	err := f.due(ctx, at, func(orgIDs []string) error {
		for _, id := range orgIDs {
			orgs++
			cur = append(cur, id)
			if err := flush(false); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = flush(true)
	}
	log.Info("job dispatched", "function", job, "at", at.UTC(), "orgs", orgs, "messages", sent, "error", err)
	if err != nil {
		return fmt.Errorf("%s: dispatch: %w", job, err)
	}
	return nil
}

// work runs the step for each organisation of m. A failure does not stop
// the others; the failures come back joined, so the message is delivered
// again (every step is idempotent).
func (f fanout) work(ctx context.Context, m queue.Message, log *slog.Logger) error {
	var errs []error
	for _, id := range m.Orgs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := f.step(ctx, id, m.At); err != nil {
			log.Error("job step failed", "function", m.Job, "org", id, "at", m.At, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Lambda returns the job's Lambda handler. An SQS event (the job's queue's
// event source mapping) goes to Work, and the messages that failed come
// back as batch item failures; any other event is an EventBridge event for
// Run.
func (j Job) Lambda() func(ctx context.Context, raw json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(raw, &probe); err == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
			if j.Work == nil {
				return nil, fmt.Errorf("%s: an SQS event, but the job does not fan out", j.Function)
			}
			var e awsevents.SQSEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("%s: SQS event: %w", j.Function, err)
			}
			return queue.Receive(ctx, e, j.logger(), j.Work), nil
		}
		var e awsevents.EventBridgeEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: event: %w", j.Function, err)
		}
		return nil, j.Run(ctx, e)
	}
}

func (j Job) logger() *slog.Logger {
	if j.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return j.log
}
