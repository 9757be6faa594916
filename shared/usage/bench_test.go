package usage_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acme/billing/shared/billing"
	"github.com/acme/billing/shared/events"
	"github.com/acme/billing/shared/money"
	"github.com/acme/billing/shared/store"
	"github.com/acme/billing/shared/store/storetest"
	"github.com/acme/billing/shared/usage"
	"github.com/acme/billing/shared/web"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// timedTransport adds the time spent in DynamoDB calls to spent, so the
// benchmark can tell our own overhead from the store's.
type timedTransport struct{ spent atomic.Int64 }

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		// Count the body read as part of the call.
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		err = rerr
	}
	t.spent.Add(int64(time.Since(start)))
	return resp, err
}

// benchBatches are the batch sizes the benchmark sizes: one event per
// request (a service reporting each call), ten, and the most a request
// takes. benchShards are the counter shard counts it sizes.
var (
	benchBatches = []int{1, 10, 100}
	benchShards  = []int{1, 4, 8}
)

// benchOrg is an organisation with the longest id and name, to size the
// worst-case items.
func benchOrg(suffix string) billing.Org {
	id := "bench-org-with-a-long-id-to-size-the-worst-case-items-" + suffix
	return billing.Org{ID: id + strings.Repeat("x", billing.MaxUsageOrgIDChars-len(id)), Name: strings.Repeat("Ω", 120)}
}

// BenchmarkUsageAPI drives POST /v1/usage and GET /v1/allowance through the
// real handler against the embedded DynamoDB server, and prints the
// capacity figures of the usage issue computed from the DynamoDB requests
// it captured: for each batch size and number of counter shards, WCU per
// event and what one organisation can record per second within DynamoDB's
// partition limits, and the share of transactions DynamoDB would cancel
// for a conflict when eight callers of one organisation post at once (the
// conflict emulator).
func BenchmarkUsageAPI(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b)
	timed := &timedTransport{}
	client, err := store.NewClient(ctx, db.URL, &http.Client{Transport: timed})
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(client, db.Table, time.Now)
	var seq atomic.Int64
	post := func(h http.Handler, org string, events int) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/usage", strings.NewReader(benchBody(&seq, org, events)))
		req.Header.Set("Authorization", "Bearer bench")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), fmt.Sprintf(`"accepted":%d`, events)) {
			b.Fatalf("usage: %d %s", rec.Code, rec.Body.String())
		}
		return rec.Code
	}

	// For each shard count and batch size, benchRequests usage requests,
	// their DynamoDB requests captured.
	type run struct {
		shards, batch int
		org           string
		reqs          []storetest.Request
	}
	var runs []run
	h := benchHandler(b, st)
	for _, n := range benchShards {
		org := benchOrg(fmt.Sprint(n))
		createBenchOrg(b, st, org, n)
		for _, batch := range benchBatches {
			db.Reset()
			for range benchRequests(batch, n) {
				if code := post(h, org.ID, batch); code != http.StatusOK {
					b.Fatalf("usage of %d events: %d", batch, code)
				}
			}
			runs = append(runs, run{n, batch, org.ID, db.Requests()})
		}
	}

	org := benchOrg("1")
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		post(h, org.ID, 100)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	eventsPerSec := float64(b.N*100) / elapsed.Seconds()

	// Allowance: reads per check and our own time per check, of the
	// organisation with the most shards.
	sharded := benchOrg(fmt.Sprint(benchShards[len(benchShards)-1]))
	db.Reset()
	const checks = 2000
	overhead := make([]time.Duration, checks)
	for i := range checks {
		timed.spent.Store(0)
		req := httptest.NewRequest(http.MethodGet, "/v1/allowance?org_id="+sharded.ID, nil)
		req.Header.Set("Authorization", "Bearer bench")
		rec := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		overhead[i] = time.Since(t0) - time.Duration(timed.spent.Load())
		if rec.Code != http.StatusOK {
			b.Fatalf("allowance: %d %s", rec.Code, rec.Body.String())
		}
	}
	readsPerCheck := float64(len(db.Requests())) / checks
	slices.Sort(overhead)

	// Conflicts: eight callers of one organisation at once, in front of
	// the conflict emulator, per shard count and batch size.
	const callers, perCaller = 8, 5
	type conflictRun struct {
		stats   storetest.ConflictStats
		refused int
	}
	conflicts := map[[2]int]conflictRun{}
	for _, n := range benchShards {
		for _, batch := range benchBatches {
			cdb := storetest.NewWithConflicts(b, 3*time.Millisecond)
			cst := cdb.Store(time.Now)
			corg := benchOrg(fmt.Sprint(n))
			createBenchOrg(b, cst, corg, n)
			ch := benchHandler(b, cst)
			var wg sync.WaitGroup
			var failed atomic.Int64
			for range callers {
				wg.Go(func() {
					for range perCaller {
						if post(ch, corg.ID, batch) != http.StatusOK {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			conflicts[[2]int{n, batch}] = conflictRun{cdb.Conflicts(), int(failed.Load())}
		}
	}

	shardSize := store.ItemSize(rawItem(b, client, db.Table, store.CounterKey(org.ID, 0)))
	acctSize := store.ItemSize(getItem(b, client, db.Table, "ORG#"+org.ID, "ACCOUNT"))
	fmt.Printf("\nUsage API capacity, one organisation (a counter shard is %d bytes, the ACCOUNT item %d; DynamoDB's limits: 1,000 WCU/s and 3,000 RCU/s per partition)\n", shardSize, acctSize)
	fmt.Printf("  %-6s %-7s %-40s %-10s %-36s %-11s %-30s %s\n", "batch", "shards", "DynamoDB requests", "WCU/event", "busiest partition per request", "events/s", "requests per shard (observed)", "conflicts (8 callers)")
	for _, r := range runs {
		f := figures(b, r.reqs, shardSize, r.shards)
		perSec := f.requestsPerSec * float64(r.batch)
		c := conflicts[[2]int{r.shards, r.batch}]
		fmt.Printf("  %-6d %-7d %-40s %-10.3f %-36s %-11.0f %-30s %.1f%% of %d transactions cancelled, %d requests refused\n",
			r.batch, r.shards, f.ops, f.wcuPerEvent, f.busiest, perSec, f.spread, 100*c.stats.Rate(), c.stats.Transactions, c.refused)
		if r.batch == 100 && r.shards == 8 {
			b.ReportMetric(f.wcuPerEvent, "WCU/event")
			b.ReportMetric(perSec, "partition-events/s")
		}
	}
	b.ReportMetric(eventsPerSec, "events/s")
	fmt.Printf(`  targets: at batch 100 and 8 shards >= 100,000 events/s with WCU/event <= 2.1; at batch 1 and 8 shards >= 4,000 events/s
  events/s assumes writes spread evenly over the shards (each request's shard is a hash of its first event's id); the observed
  column shows how %d requests of each run fell
  DynamoDB requests per allowance check  %.2f (target 1; %d shards)
  in-process overhead per allowance      median %s, p99 %s
  events/s against the embedded store    %.0f (%d requests of 100 events)
`, benchRequests(1, benchShards[len(benchShards)-1]), readsPerCheck, benchShards[len(benchShards)-1], overhead[checks/2], overhead[checks*99/100], eventsPerSec, b.N)
}

// benchRequests is how many usage requests of batch events the benchmark
// captures for an organisation of shards counter shards: enough for every
// shard to take some.
func benchRequests(batch, shards int) int {
	if batch == 100 {
		return 4 * shards
	}
	return 16 * shards
}

// createBenchOrg creates org with ample credit, Spend Management on (so
// every recording checks its thresholds) and shards counter shards.
func createBenchOrg(b *testing.B, st *store.Store, org billing.Org, shards int) {
	ctx := context.Background()
	if err := st.CreateOrg(ctx, store.NewOrg{Org: org, TrialCredits: money.Dollars(1_000_000), OverageLimit: money.Dollars(1000)}); err != nil {
		b.Fatal(err)
	}
	if err := st.SetSpendSettings(ctx, org.ID, billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(1_000_000), EmailThreshold: money.Dollars(900_000)}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.SetCounterShards(ctx, org.ID, shards); err != nil {
		b.Fatal(err)
	}
}

// benchHandler is the usage API on st.
func benchHandler(b *testing.B, st *store.Store) http.Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	deps := web.Deps{Store: st, Now: time.Now, Log: log, Local: true, UsageAPIKey: "bench", Usage: usage.NewService(st, events.NewBus(log), time.Now, log)}
	return web.Handler(deps, web.Routes(deps))
}

// benchBody is a POST /v1/usage body of n events of org with worst-case
// sizes (a 128-character id, a 200-character description), ids from seq.
func benchBody(seq *atomic.Int64, org string, n int) string {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	ts := time.Now().UTC().Format(time.RFC3339)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"evt-%0124d","org_id":%q,"amount":"0.000123","description":%q,"time":%q}`,
			seq.Add(1), org, strings.Repeat("d", 200), ts)
	}
	sb.WriteString(`]}`)
	return sb.String()
}

type capacity struct {
	ops         string
	wcuPerEvent float64
	// requestsPerSec is how many of the run's usage requests a second the
	// busiest partition takes within DynamoDB's limits, which busiest
	// names.
	requestsPerSec float64
	busiest        string
	spread         string
}

// figures applies DynamoDB's sizing rules to the captured requests of a
// run of usage requests of an organisation with shards counter shards: a
// transactional write costs 2 WCU per started KB of the item (an update of
// a counter shard is sized by the whole shard, shardSize), a standard one
// half that; a strongly consistent read 1 RCU per item (all are under 4
// KB), an eventually consistent one half that. It sums the units per
// partition, spreads the counter shards' evenly over the shards, and finds
// the partition that limits the organisation's requests per second.
func figures(b *testing.B, reqs []storetest.Request, shardSize, shards int) capacity {
	var c capacity
	wcu, rcu := map[string]float64{}, map[string]float64{}
	perShard := map[string]int{}
	requests := 0
	var ops []string
	var total float64
	events := 0
	for _, r := range reqs {
		ops = append(ops, r.Op)
		switch r.Op {
		case "UpdateItem", "PutItem":
			total++ // flags: one small item in another partition, standard write
			wcu[partition(wireItem(b, writeKey(b, r))["PK"].(*types.AttributeValueMemberS).Value)]++
		case "BatchGetItem", "GetItem":
			for pk, units := range readUnits(b, r) {
				rcu[partition(pk)] += units
			}
			if r.Op == "BatchGetItem" {
				requests++ // each usage request reads its state once
			}
		case "TransactWriteItems":
			var body struct {
				TransactItems []struct {
					Put *struct {
						Item map[string]json.RawMessage
					}
					Update *struct {
						Key map[string]json.RawMessage
					}
				}
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				b.Fatal(err)
			}
			for _, it := range body.TransactItems {
				switch {
				case it.Put != nil:
					item := wireItem(b, it.Put.Item)
					total += 2 * kb(store.ItemSize(item))
					events++
				case it.Update != nil:
					pk := wireItem(b, it.Update.Key)["PK"].(*types.AttributeValueMemberS).Value
					w := 2 * kb(shardSize)
					total += w
					wcu[partition(pk)] += w
					perShard[pk]++
				}
			}
		}
	}
	if requests == 0 {
		b.Fatal("no usage request read its state")
	}
	c.wcuPerEvent = total / float64(events)
	c.requestsPerSec = math.Inf(1)
	for _, p := range slices.Sorted(maps.Keys(union(wcu, rcu))) {
		w, r := wcu[p]/float64(requests), rcu[p]/float64(requests)
		if p == "counter shard" {
			// Every request reads every shard; writes go to one.
			w, r = w/float64(shards), r/float64(shards)
		}
		limit := math.Inf(1)
		if w > 0 {
			limit = 1000 / w
		}
		if r > 0 {
			limit = min(limit, 3000/r)
		}
		if limit < c.requestsPerSec {
			c.requestsPerSec = limit
			c.busiest = fmt.Sprintf("%s: %.2f WCU, %.2f RCU", p, w, r)
		}
	}
	counts := slices.Sorted(maps.Values(perShard))
	c.spread = fmt.Sprintf("%d shards, %d–%d transactions", len(counts), counts[0], counts[len(counts)-1])
	per := map[string]int{}
	for _, op := range ops {
		per[op]++
	}
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(per)) {
		parts = append(parts, fmt.Sprintf("%.1f %s", float64(per[op])/float64(requests), op))
	}
	c.ops = strings.Join(parts, ", ")
	return c
}

// partition names the kind of partition of pk: each counter shard, each
// usage event's record and each other item of one organisation.
func partition(pk string) string {
	switch {
	case strings.HasPrefix(pk, "CTR#"):
		return "counter shard"
	case strings.HasPrefix(pk, "EVT#"):
		return "event " + pk
	case strings.HasPrefix(pk, "NOTIFY#"):
		return "flags"
	case strings.HasPrefix(pk, "ORG#"):
		return "ACCOUNT"
	}
	return pk
}

func union(a, b map[string]float64) map[string]float64 {
	out := maps.Clone(a)
	for k, v := range b {
		out[k] += v
	}
	return out
}

// writeKey is the key of a PutItem's item or an UpdateItem's key.
func writeKey(b *testing.B, r storetest.Request) map[string]json.RawMessage {
	var body struct {
		Key  map[string]json.RawMessage
		Item map[string]json.RawMessage
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		b.Fatal(err)
	}
	if body.Key != nil {
		return body.Key
	}
	return map[string]json.RawMessage{"PK": body.Item["PK"]}
}

// readUnits is the RCU a GetItem or BatchGetItem request spends on each
// partition: 1 per item read strongly consistent, 0.5 eventually.
func readUnits(b *testing.B, r storetest.Request) map[string]float64 {
	type keys struct {
		Keys           []map[string]json.RawMessage
		ConsistentRead bool
	}
	var body struct {
		Key            map[string]json.RawMessage
		ConsistentRead bool
		RequestItems   map[string]keys
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		b.Fatal(err)
	}
	all := []keys{{Keys: []map[string]json.RawMessage{body.Key}, ConsistentRead: body.ConsistentRead}}
	if body.Key == nil {
		all = slices.Collect(maps.Values(body.RequestItems))
	}
	rcu := map[string]float64{}
	for _, k := range all {
		for _, key := range k.Keys {
			pk := wireItem(b, key)["PK"].(*types.AttributeValueMemberS).Value
			if k.ConsistentRead {
				rcu[pk]++
			} else {
				rcu[pk] += 0.5
			}
		}
	}
	return rcu
}

func kb(size int) float64 { return math.Ceil(float64(size) / 1024) }

// wireItem decodes DynamoDB's JSON wire format of an item.
func wireItem(b *testing.B, item map[string]json.RawMessage) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for name, raw := range item {
		var v map[string]json.RawMessage
		if err := json.Unmarshal(raw, &v); err != nil {
			b.Fatal(err)
		}
		for kind, val := range v {
			var s string
			_ = json.Unmarshal(val, &s)
			switch kind {
			case "S":
				out[name] = &types.AttributeValueMemberS{Value: s}
			case "N":
				out[name] = &types.AttributeValueMemberN{Value: s}
			case "B":
				data, _ := base64.StdEncoding.DecodeString(s)
				out[name] = &types.AttributeValueMemberB{Value: data}
			case "BOOL":
				out[name] = &types.AttributeValueMemberBOOL{}
			default:
				b.Fatalf("attribute %s: %s not sized by this benchmark", name, kind)
			}
		}
	}
	return out
}

func rawItem(b *testing.B, c *dynamodb.Client, table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
	if err != nil || out.Item == nil {
		b.Fatalf("get %v: %v", key, err)
	}
	return out.Item
}

func getItem(b *testing.B, c *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil || out.Item == nil {
		b.Fatalf("get %s/%s: %v", pk, sk, err)
	}
	return out.Item
}
