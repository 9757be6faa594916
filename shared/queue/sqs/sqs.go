// Package sqs sends a scheduled job's batches to its Amazon SQS queue. It
// is its own package so that only the job functions that fan out
// (daily-reset, invoicing, auto-recharge), whose mains import it, link the
// SQS client (and pay for its package initialisation); package queue has
// the rest, without it.
package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/acme/billing/shared/queue"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Sender sends a job's messages to one Amazon SQS queue.
type Sender struct {
	client *sqs.Client
	url    string
}

var _ queue.Sender = (*Sender)(nil)

// New returns the sender to the queue at url, with the SQS client of cfg.
// Its type fits function.NewQueue, which a job function's main passes.
func New(cfg aws.Config, url string) queue.Sender {
	return &Sender{client: sqs.NewFromConfig(cfg), url: url}
}

// Send sends msgs with SendMessageBatch, queue.MaxBatch at a time; entries SQS
// refuses for a reason on its side are sent again once.
func (q *Sender) Send(ctx context.Context, msgs []queue.Message) error {
	for start := 0; start < len(msgs); start += queue.MaxBatch {
		if err := q.sendBatch(ctx, msgs[start:min(start+queue.MaxBatch, len(msgs))]); err != nil {
			return err
		}
	}
	return nil
}

func (q *Sender) sendBatch(ctx context.Context, msgs []queue.Message) error {
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		body, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("queue %s: %w", m.Job, err)
		}
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
	}
	for attempt := 0; len(entries) > 0; attempt++ {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return fmt.Errorf("send to %s: %w", q.url, err)
		}
		var retry []types.SendMessageBatchRequestEntry
		var errs []error
		for _, f := range out.Failed {
			i, _ := strconv.Atoi(aws.ToString(f.Id))
			if f.SenderFault || attempt > 0 || i < 0 || i >= len(msgs) {
				errs = append(errs, fmt.Errorf("message %s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
				continue
			}
			retry = append(retry, entries[i])
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("send to %s: %w", q.url, err)
		}
		entries = retry
	}
	return nil
}
