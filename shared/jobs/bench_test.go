package jobs_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/jobs"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
)

// The model BenchmarkJobs computes wall times with: DynamoDB answers each
// request in dynamoLatency, SQS each SendMessageBatch in sqsLatency, a
// worker takes invokeOverhead per message (poll, invoke) on top of its
// requests, and the queue's event source mapping runs workers at once.
// The dispatcher's pages: each of the store.DueShards shards is one Query
// until its entries pass DynamoDB's 1 MB page, at dueEntryBytes each (a
// keys-only index entry or due item with an organisation id of up to 64
// bytes is under 128).
const (
	dynamoLatency  = 4 * time.Millisecond
	sqsLatency     = 20 * time.Millisecond
	invokeOverhead = 50 * time.Millisecond
	workers        = 50
	dueEntryBytes  = 128
	benchOrgs      = 1000
	benchTables    = 40
	scaledOrgs     = 100_000
	jobTarget      = 5 * time.Minute
)

// jobCount is what one run of a job sent.
type jobCount struct {
	dispatchRequests int // DynamoDB requests of the dispatcher
	workRequests     int // DynamoDB requests of the workers
	messages         int // SQS messages
	sendRequests     int // SendMessageBatch requests
	perMessage       int // organisations per message (jobs.Job.BatchOrgs)
}

// scaled is the count for orgs organisations, from the per-organisation
// counts measured.
func (c jobCount) scaled(measured, orgs int) jobCount {
	pages := int(math.Ceil(float64(orgs) / store.DueShards * dueEntryBytes / (1 << 20)))
	msgs := (orgs + c.perMessage - 1) / c.perMessage
	return jobCount{
		dispatchRequests: store.DueShards * max(pages, 1),
		workRequests:     int(math.Ceil(float64(c.workRequests) * float64(orgs) / float64(measured))),
		messages:         msgs,
		sendRequests:     (msgs + 9) / 10,
		perMessage:       c.perMessage,
	}
}

// wall is the job's wall time by the model: the dispatcher, then the
// workers' requests and message overheads spread over the workers.
func (c jobCount) wall() time.Duration {
	dispatch := time.Duration(c.dispatchRequests)*dynamoLatency + time.Duration(c.sendRequests)*sqsLatency
	work := (time.Duration(c.workRequests)*dynamoLatency + time.Duration(c.messages)*invokeOverhead) / workers
	return dispatch + work
}

// BenchmarkJobs counts, at 1,000 organisations that all have work (usage
// on the day and in the month that just ended, auto-recharge on), the
// DynamoDB requests and SQS messages of each scheduled job's dispatcher
// and workers, scales them to 100,000 organisations by the per-organisation
// counts, and reports each job's wall time by the model above (4 ms per
// DynamoDB request, 50 workers). It counts; it does not time minidyn. It
// fails when a job would take 5 minutes or more at 100,000 organisations.
//
// The 1,000 organisations sit in 40 embedded tables of 25: minidyn's cost
// grows with the table (every Query matches every item, every transaction
// copies the table), while a job's requests per organisation do not
// depend on the table, and its dispatcher's do only through the pages,
// which the model computes.
func BenchmarkJobs(b *testing.B) {
	closeAt := billing.PeriodStart(time.Now().UTC())
	on := billing.AutoRechargeSettings{Enabled: true, Threshold: money.Dollars(5), Amount: money.Dollars(20)}
	names := []string{"auto-recharge", "daily-reset", "invoicing"}
	counts := map[string]jobCount{}
	for table := range benchTables {
		f := newFleet(b, closeAt.Add(-12*time.Hour))
		for i := range benchOrgs / benchTables {
			id := fmt.Sprintf("org-%05d", table*benchOrgs/benchTables+i)
			f.org(b, id, money.Dollars(100))
			f.use(b, id, closeAt.Add(-12*time.Hour), "1.25")
			if err := f.st.SetAutoRecharge(b.Context(), id, on); err != nil {
				b.Fatal(err)
			}
		}
		f.clock.Set(closeAt)
		for _, name := range names {
			j := f.job(b, name)
			sent := f.sqs.Requests()
			f.db.Reset()
			if err := j.Run(b.Context(), jobs.ScheduledEvent(closeAt)); err != nil {
				b.Fatalf("%s dispatch: %v", name, err)
			}
			c := counts[name]
			c.perMessage = j.BatchOrgs
			c.dispatchRequests = max(c.dispatchRequests, len(f.db.Requests()))
			c.sendRequests += f.sqs.Requests() - sent
			for _, m := range f.sqs.Messages(b) {
				c.messages++
				if len(m.Orgs) > j.BatchOrgs {
					b.Fatalf("%s sent %d organisations in one message, more than its %d", name, len(m.Orgs), j.BatchOrgs)
				}
			}
			f.db.Reset()
			if failed := f.deliver(b, j, f.sqs.Take()); len(failed) != 0 {
				b.Fatalf("%s: failed messages %v", name, failed)
			}
			c.workRequests += len(f.db.Requests())
			counts[name] = c
		}
	}
	for _, name := range names {
		if counts[name].messages == 0 {
			b.Fatalf("%s dispatched nothing for %d organisations with work", name, benchOrgs)
		}
	}

	// The figures before the fan-out: one invocation walking
	// every organisation, at 100,000 organisations.
	before := map[string]string{
		"auto-recharge": "100,001 requests in one invocation: 400 s at 4 ms (timeout 120 s)",
		"daily-reset":   "~400,001 requests in one invocation: 1,600 s at 4 ms (timeout 300 s)",
		"invoicing":     "4 requests per organisation in one invocation: 1,600 s at 4 ms (timeout 900 s)",
	}

	for b.Loop() {
		// Counted once above: the figures do not depend on b.N.
	}

	var table strings.Builder
	fmt.Fprintf(&table, "scheduled jobs, counted at %d organisations with work (%d tables of %d), scaled to %d (%v per DynamoDB request, %v per SendMessageBatch, %v per message, %d workers):\n",
		benchOrgs, benchTables, benchOrgs/benchTables, scaledOrgs, dynamoLatency, sqsLatency, invokeOverhead, workers)
	fmt.Fprintf(&table, "%-14s %10s %10s %9s %12s %12s %9s %9s   %s\n", "job", "req/org", "dispatch", "msgs@1k", "req@100k", "msgs@100k", "wall@1k", "wall@100k", "before")
	for _, name := range names {
		c := counts[name]
		small, big := c.scaled(benchOrgs, benchOrgs), c.scaled(benchOrgs, scaledOrgs)
		perOrg := float64(c.workRequests) / benchOrgs
		fmt.Fprintf(&table, "%-14s %10.2f %10d %9d %12d %12d %9s %9s   %s\n", name, perOrg, c.dispatchRequests, small.messages,
			big.dispatchRequests+big.workRequests, big.messages, small.wall().Round(time.Millisecond), big.wall().Round(time.Second), before[name])
		b.ReportMetric(perOrg, name+"-req/org")
		b.ReportMetric(big.wall().Seconds(), name+"-wall-s@100k")
		if big.wall() >= jobTarget {
			b.Errorf("%s would take %v at %d organisations with %d workers; the target is under %v", name, big.wall(), scaledOrgs, workers, jobTarget)
		}
	}
	b.Log("\n" + table.String())
}
