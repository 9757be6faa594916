package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/queue"
	"github.com/acme/billing/shared/queue/queuetest"
	"github.com/acme/billing/shared/queue/sqs"
)

func TestJobQueue(t *testing.T) {
	t.Run("without JOB_QUEUE_URL there is no queue: the batches are worked in-process", func(t *testing.T) {
		for _, newQueue := range []config.NewQueue{sqs.New, nil} {
			q, err := config.JobQueue(t.Context(), func(string) string { return "" }, newQueue)
			if err != nil || q != nil {
				t.Errorf("JobQueue = %v, %v; want nil, nil", q, err)
			}
		}
	})

	t.Run("with it, a function built without a queue fails rather than drop its batches", func(t *testing.T) {
		q, err := config.JobQueue(t.Context(), func(k string) string {
			if k == config.EnvJobQueueURL {
				return queuetest.QueueURL
			}
			return ""
		}, nil)
		if err == nil || q != nil || !strings.Contains(err.Error(), config.EnvJobQueueURL) {
			t.Errorf("JobQueue = %v, %v; want an error naming %s", q, err, config.EnvJobQueueURL)
		}
	})

	t.Run("with it, batches go to that queue with the standard AWS configuration", func(t *testing.T) {
		srv := queuetest.New(t) // a loopback SQS endpoint: no SQS emulator runs here
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
		t.Setenv("AWS_ENDPOINT_URL_SQS", srv.URL)
		q, err := config.JobQueue(t.Context(), func(k string) string {
			if k == config.EnvJobQueueURL {
				return queuetest.QueueURL
			}
			return ""
		}, sqs.New)
		if err != nil || q == nil {
			t.Fatalf("JobQueue = %v, %v", q, err)
		}
		if err := q.Send(t.Context(), []queue.Message{{Job: "daily-reset", At: time.Now().UTC(), Orgs: []string{"acme"}}}); err != nil {
			t.Fatal(err)
		}
		if got := srv.Messages(t); len(got) != 1 || got[0].Orgs[0] != "acme" {
			t.Errorf("the queue received %+v", got)
		}
	})
}
