package config

import (
	"context"
	"fmt"

	"github.com/acme/billing/shared/queue"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// EnvJobQueueURL is the URL of the SQS queue of a scheduled job that fans
// out (daily-reset, invoicing, auto-recharge): its dispatcher sends the
// batches of organisations there, and the same function works them from
// the queue. Unset (locally, and in the other functions) the batches are
// worked in-process.
const EnvJobQueueURL = "JOB_QUEUE_URL"

// NewQueue makes the sender to a job's SQS queue at url with the AWS SDK
// configuration cfg: queue/sqs.New, which only the mains of the jobs that
// fan out pass, so that no other function links the SQS client.
type NewQueue func(cfg aws.Config, url string) queue.Sender

// JobQueue returns the sender newQueue makes to the queue JOB_QUEUE_URL
// names, with the standard AWS SDK configuration; nil when it is unset.
// JOB_QUEUE_URL set for a function given no newQueue is an error: its
// batches would never reach the queue.
func JobQueue(ctx context.Context, getenv func(string) string, newQueue NewQueue) (queue.Sender, error) {
	url := getenv(EnvJobQueueURL)
	if url == "" {
		return nil, nil
	}
	if newQueue == nil {
		return nil, fmt.Errorf("%s is set, but this function does not send to a queue", EnvJobQueueURL)
	}
	cfg, err := Config{}.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return newQueue(cfg, url), nil
}
