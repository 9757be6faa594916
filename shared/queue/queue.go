// Package queue carries a scheduled job's work from its dispatcher to its
// workers: batches of organisations, as JSON messages on an Amazon SQS
// queue in AWS (package queue/sqs), or handed to the workers in-process
// locally and in tests (Local). Both implement Sender; Receive is the
// worker's side of an SQS event. This package does not link the SQS
// client: only the job functions, whose mains import queue/sqs, do.
//
// Why SQS rather than a Step Functions distributed map: the job's one
// Lambda binary is both the dispatcher (on its EventBridge schedule) and
// the worker (on the queue's event source mapping), so there is no state
// machine to deploy or keep in step with the code; retries, the
// dead-letter queue and its redrive are SQS's own; the worker count is the
// mapping's maximum concurrency; and locally the same two halves run with
// an in-process queue and nothing else.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"
)

// Message is one batch of a job's work: the organisations whose step the
// job runs for its scheduled time At.
type Message struct {
	Job  string    `json:"job"`
	At   time.Time `json:"at"`
	Orgs []string  `json:"orgs"`
}

// Sender sends messages to a job's workers. Send returns once every
// message is accepted (SQS) or handled (Local), or with an error naming
// what was not.
type Sender interface {
	Send(ctx context.Context, msgs []Message) error
}

// MaxBatch is how many messages one SQS SendMessageBatch request carries.
const MaxBatch = 10

// Local hands each message to the job's worker in-process, at most
// workers at a time, as the queue's event source mapping would in AWS.
type Local struct {
	workers int
	work    func(context.Context, Message) error
}

var _ Sender = (*Local)(nil)

// NewLocal returns the in-process queue to work, run by workers
// goroutines (at least one).
func NewLocal(workers int, work func(context.Context, Message) error) *Local {
	return &Local{workers: max(workers, 1), work: work}
}

// Send runs every message's work and returns once all are done: the
// failures joined (a local run has no dead-letter queue: the next
// scheduled run covers them).
func (q *Local) Send(ctx context.Context, msgs []Message) error {
	sem := make(chan struct{}, q.workers)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, m := range msgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := q.work(ctx, m); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Receive runs work for each message of an SQS event (the event source
// mapping's batch) and reports the ones that failed, or could not be
// read, as batch item failures: SQS delivers those again after the
// visibility timeout, and moves a message that failed maxReceiveCount
// times to the dead-letter queue. The mapping must set
// FunctionResponseTypes: [ReportBatchItemFailures].
func Receive(ctx context.Context, e awsevents.SQSEvent, log *slog.Logger, work func(context.Context, Message) error) awsevents.SQSEventResponse {
	var resp awsevents.SQSEventResponse
	for _, r := range e.Records {
		var m Message
		err := json.Unmarshal([]byte(r.Body), &m)
		if err == nil {
			err = work(ctx, m)
		}
		if err != nil {
			log.Error("queued work failed", "message", r.MessageId, "job", m.Job, "orgs", len(m.Orgs), "receive_count", r.Attributes["ApproximateReceiveCount"], "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, awsevents.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
	}
	return resp
}
