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
// takes.
var benchBatches = []int{1, 10, 100}

// BenchmarkUsageAPI drives POST /v1/usage and GET /v1/allowance through the
// real handler against the embedded DynamoDB server, and prints the
// capacity figures of the usage issue computed from the DynamoDB requests
// it captured: for each batch size, WCU per event and what one
// organisation can record per second within DynamoDB's partition limits,
// and the share of transactions DynamoDB would cancel for a conflict when
// eight callers of one organisation post at once (the conflict emulator).
func BenchmarkUsageAPI(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b)
	timed := &timedTransport{}
	client, err := store.NewClient(ctx, db.URL, &http.Client{Transport: timed})
	if err != nil {
		b.Fatal(err)
	}
	org := billing.Org{ID: "bench-org-with-a-long-id-to-size-the-worst-case-account-item-x", Name: strings.Repeat("Ω", 120)}
	h := benchHandler(b, store.New(client, db.Table, time.Now), org)
	var seq atomic.Int64
	post := func(h http.Handler, events int) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/usage", strings.NewReader(benchBody(&seq, org.ID, events)))
		req.Header.Set("Authorization", "Bearer bench")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), fmt.Sprintf(`"accepted":%d`, events)) {
			b.Fatalf("usage: %d %s", rec.Code, rec.Body.String())
		}
		return rec.Code
	}

	// One request of each batch size, its DynamoDB requests captured.
	captured := map[int][]storetest.Request{}
	for _, n := range benchBatches {
		db.Reset()
		if code := post(h, n); code != http.StatusOK {
			b.Fatalf("usage of %d events: %d", n, code)
		}
		captured[n] = db.Requests()
	}

	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		post(h, 100)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	eventsPerSec := float64(b.N*100) / elapsed.Seconds()

	// Allowance: reads per check and our own time per check.
	db.Reset()
	const checks = 2000
	overhead := make([]time.Duration, checks)
	for i := range checks {
		timed.spent.Store(0)
		req := httptest.NewRequest(http.MethodGet, "/v1/allowance?org_id="+org.ID, nil)
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
	// the conflict emulator, per batch size.
	const callers, perCaller = 8, 5
	conflicts := map[int]storetest.ConflictStats{}
	refused := map[int]int{}
	for _, n := range benchBatches {
		cdb := storetest.NewWithConflicts(b, 3*time.Millisecond)
		ch := benchHandler(b, cdb.Store(time.Now), org)
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range callers {
			wg.Go(func() {
				for range perCaller {
					if post(ch, n) != http.StatusOK {
						failed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		conflicts[n], refused[n] = cdb.Conflicts(), int(failed.Load())
	}

	acctItem := getItem(b, client, db.Table, "ORG#"+org.ID, "ACCOUNT")
	hotPK := "ORG#" + org.ID
	fmt.Printf("\nUsage API capacity, one organisation (ACCOUNT item %d bytes; DynamoDB's limits: 1,000 WCU/s and 3,000 RCU/s per partition)\n", store.ItemSize(acctItem))
	fmt.Printf("  %-6s %-8s %-40s %-10s %-9s %-9s %-12s %s\n", "batch", "shards", "DynamoDB requests per usage request", "WCU/event", "hot WCU", "hot RCU", "events/s", "conflicts (8 callers)")
	for _, n := range benchBatches {
		f := figures(b, captured[n], store.ItemSize(acctItem), hotPK, n)
		perSec := min(1000/f.hotWCU, 3000/f.hotRCU) * float64(n)
		c := conflicts[n]
		fmt.Printf("  %-6d %-8d %-40s %-10.3f %-9.1f %-9.1f %-12.0f %.1f%% of %d transactions cancelled, %d requests refused\n",
			n, 1, fmt.Sprintf("%d (%s)", len(captured[n]), f.ops), f.wcuPerEvent, f.hotWCU, f.hotRCU, perSec, 100*c.Rate(), c.Transactions, refused[n])
		if n == 100 {
			b.ReportMetric(f.wcuPerEvent, "WCU/event")
			b.ReportMetric(f.hotWCU, "hot-WCU/request")
			b.ReportMetric(perSec, "partition-events/s")
		}
	}
	b.ReportMetric(eventsPerSec, "events/s")
	fmt.Printf(`  targets: at batch 100 and 8 shards >= 100,000 events/s with WCU/event <= 2.1; at batch 1 and 8 shards >= 4,000 events/s
  (counter shards are not built: every figure is for one shard, the organisation's ACCOUNT item)
  DynamoDB reads per allowance check     %.2f (target 1)
  in-process overhead per allowance      median %s, p99 %s
  events/s against the embedded store    %.0f (%d requests of 100 events)
`, readsPerCheck, overhead[checks/2], overhead[checks*99/100], eventsPerSec, b.N)
}

// benchHandler is the usage API on st, with org created with ample credit
// and Spend Management on (so every recording checks its thresholds).
func benchHandler(b *testing.B, st *store.Store, org billing.Org) http.Handler {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := st.CreateOrg(ctx, store.NewOrg{Org: org, TrialCredits: money.Dollars(1_000_000), OverageLimit: money.Dollars(1000)}); err != nil {
		b.Fatal(err)
	}
	if err := st.SetSpendSettings(ctx, org.ID, billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(1_000_000), EmailThreshold: money.Dollars(900_000)}); err != nil {
		b.Fatal(err)
	}
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
	ops, actions string
	wcuPerEvent  float64
	hotWCU       float64
	hotRCU       float64
}

// figures applies DynamoDB's sizing rules to the captured requests of one
// usage request of events events: a transactional write costs 2 WCU per
// started KB of the item (an update is sized by the whole item, here the
// ACCOUNT item), a strongly consistent read 1 RCU per started 4 KB (the
// ACCOUNT item is under 4 KB), an eventually consistent one half that.
func figures(b *testing.B, reqs []storetest.Request, accountSize int, hotPK string, events int) capacity {
	var c capacity
	var ops, actions []string
	var wcu float64
	for _, r := range reqs {
		ops = append(ops, r.Op)
		switch r.Op {
		case "UpdateItem", "PutItem":
			wcu++ // flags: one small item in another partition, standard write
		case "BatchGetItem", "GetItem":
			c.hotRCU += hotReads(b, r, hotPK)
		case "TransactWriteItems":
			actions = append(actions, fmt.Sprint(r.Actions()))
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
					wcu += 2 * kb(store.ItemSize(wireItem(b, it.Put.Item)))
				case it.Update != nil:
					w := 2 * kb(accountSize)
					wcu += w
					if pk := wireItem(b, it.Update.Key)["PK"].(*types.AttributeValueMemberS).Value; pk == hotPK {
						c.hotWCU += w
					}
				}
			}
		}
	}
	c.ops, c.actions = strings.Join(ops, ", "), strings.Join(actions, " + ")
	c.wcuPerEvent = wcu / float64(events)
	return c
}

// hotReads is the RCU a GetItem or BatchGetItem request spends on the
// partition hotPK: 1 per item read strongly consistent, 0.5 eventually.
func hotReads(b *testing.B, r storetest.Request, hotPK string) float64 {
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
	rcu := 0.0
	for _, k := range all {
		for _, key := range k.Keys {
			if wireItem(b, key)["PK"].(*types.AttributeValueMemberS).Value != hotPK {
				continue
			}
			if k.ConsistentRead {
				rcu++
			} else {
				rcu += 0.5
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

func getItem(b *testing.B, c *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil || out.Item == nil {
		b.Fatalf("get %s/%s: %v", pk, sk, err)
	}
	return out.Item
}
