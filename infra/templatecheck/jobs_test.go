package templatecheck_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/web"
)

// jobQueue is the logical id of the SQS queue of the job of function name
// (jobs.Job.Queue); "" for a job that does not fan out, or no job.
func jobQueue(name string) string {
	for _, j := range jobs.List(web.Deps{}) {
		if j.Function == name {
			return j.Queue
		}
	}
	return ""
}

func num(v any) int {
	n, _ := strconv.Atoi(fmt.Sprint(v))
	return n
}

// TestTemplateJobQueues holds each job that fans out (shared/jobs) to its
// queue in template.yaml: the dispatcher may send to it and is told its
// URL, the same function works it with reserved concurrency and reports
// failed messages, and a message that keeps failing lands in an alarmed
// dead-letter queue.
func TestTemplateJobQueues(t *testing.T) {
	raw := load(t).CFN
	fns := functions(t, raw)
	queues := resources(raw, "AWS::SQS::Queue")
	mappings := resources(raw, "AWS::Lambda::EventSourceMapping")
	fanned := 0
	for _, j := range jobs.List(web.Deps{}) {
		if j.Work == nil {
			if j.Queue != "" {
				t.Errorf("%s names the queue %s but does not fan out", j.Function, j.Queue)
			}
			continue
		}
		fanned++
		t.Run(j.Function, func(t *testing.T) {
			fn, ok := fns[j.Function]
			q := queues[j.Queue]
			if !ok || q == nil {
				t.Fatalf("%s: no function, or no queue %s, in template.yaml", j.Function, j.Queue)
			}
			if v := obj(obj(fn.Props["Environment"])["Variables"])["JOB_QUEUE_URL"]; !isRef(v, j.Queue) {
				t.Errorf("JOB_QUEUE_URL is %v, want Ref %s", v, j.Queue)
			}
			if !slices.ContainsFunc(grants(t, fn), func(g grant) bool { return g.Action == sendMessage && isRef(g.Resource, j.Queue) }) {
				t.Errorf("the dispatcher may not sqs:SendMessage to %s", j.Queue)
			}
			var mapping map[string]any
			for _, m := range mappings {
				if isRef(m["FunctionName"], fn.ID) && isRef(m["EventSourceArn"], j.Queue) {
					mapping = m
				}
			}
			if mapping == nil {
				t.Fatalf("no SQS event source mapping of %s to %s", j.Queue, fn.ID)
			}
			if !slices.Contains(strs(mapping["FunctionResponseTypes"]), "ReportBatchItemFailures") {
				t.Errorf("the mapping does not report batch item failures: a failed message would fail its whole batch")
			}
			workers := num(obj(mapping["ScalingConfig"])["MaximumConcurrency"])
			reserved := num(fn.Props["ReservedConcurrentExecutions"])
			if workers < 2 || reserved <= workers {
				t.Errorf("maximum concurrency %d, reserved concurrency %d: want workers bounded, and reserved above them (the dispatcher and events need a slot)", workers, reserved)
			}
			timeout := num(fn.Props["Timeout"])
			if vt := num(q["VisibilityTimeout"]); timeout == 0 || vt < 6*timeout {
				t.Errorf("%s visibility timeout %d s, want at least 6 times the function's timeout of %d s", j.Queue, vt, timeout)
			}
			redrive := obj(q["RedrivePolicy"])
			dlq, _ := getAtt(redrive["deadLetterTargetArn"])
			if queues[dlq] == nil || num(redrive["maxReceiveCount"]) < 2 {
				t.Fatalf("%s redrive policy %v: want a queue of the template after some receives", j.Queue, redrive)
			}
			ids := alarmFor(raw, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq)
			if len(ids) == 0 {
				t.Errorf("the dead-letter queue %s has no depth alarm", dlq)
			}
			for _, id := range ids {
				checkAlarm(t, raw, id)
			}
		})
	}
	if fanned == 0 {
		t.Fatal("no job fans out")
	}
	for id, m := range mappings {
		if q, _ := getAtt(m["EventSourceArn"]); queues[q] != nil && !slices.ContainsFunc(jobs.List(web.Deps{}), func(j jobs.Job) bool { return j.Queue == q }) {
			t.Errorf("%s: the queue %s is no job's (shared/jobs)", id, q)
		}
	}
}
