package config

import (
	"context"
	"fmt"

	"github.com/acme/billing/shared/queue"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// EnvJobQueueURL is the URL of the SQS queue of a scheduled job that fans
// out (daily-reset, invoicing, auto-recharge): its dispatcher sends the
// batches of organisations there, and the same function works them from
// the queue. Unset (locally, and in the other functions) the batches are
// worked in-process.
const EnvJobQueueURL = "JOB_QUEUE_URL"

// JobQueue returns the sender to the queue JOB_QUEUE_URL names, with the
// standard AWS SDK configuration; nil when it is unset.
func JobQueue(ctx context.Context, getenv func(string) string) (queue.Sender, error) {
	url := getenv(EnvJobQueueURL)
	if url == "" {
		return nil, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return queue.NewSQS(sqs.NewFromConfig(cfg), url), nil
}
