package usage_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// BenchmarkUsageAPI drives POST /v1/usage (100 events per request) and GET
// /v1/allowance through the real handler against the embedded DynamoDB
// server, and prints the capacity figures of the usage issue computed from
// the DynamoDB requests it captured.
func BenchmarkUsageAPI(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b)
	timed := &timedTransport{}
	client, err := store.NewClient(ctx, db.URL, &http.Client{Transport: timed})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now
	st := store.New(client, db.Table, now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	org := billing.Org{ID: "bench-org-with-a-long-id-to-size-the-worst-case-account-item-x", Name: strings.Repeat("Ω", 120)}
	if err := st.CreateOrg(ctx, store.NewOrg{Org: org, TrialCredits: money.Dollars(1_000_000), OverageLimit: money.Dollars(1000)}); err != nil {
		b.Fatal(err)
	}
	if err := st.SetSpendSettings(ctx, org.ID, billing.SpendSettings{Enabled: true, DailyBudget: money.Dollars(1_000_000), EmailThreshold: money.Dollars(900_000)}); err != nil {
		b.Fatal(err)
	}
	deps := web.Deps{Store: st, Now: now, Log: log, Local: true, UsageAPIKey: "bench", Usage: usage.NewService(st, events.NewBus(log), now, log)}
	h := web.Handler(deps, web.Routes(deps))

	var seq atomic.Int64
	body := func() string {
		var sb strings.Builder
		sb.WriteString(`{"events":[`)
		ts := time.Now().UTC().Format(time.RFC3339)
		for i := range 100 {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"id":"evt-%0120d","org_id":%q,"amount":"0.000123","description":%q,"time":%q}`,
				seq.Add(1), org.ID, strings.Repeat("d", 200), ts)
		}
		sb.WriteString(`]}`)
		return sb.String()
	}
	post := func() {
		req := httptest.NewRequest(http.MethodPost, "/v1/usage", strings.NewReader(body()))
		req.Header.Set("Authorization", "Bearer bench")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":100`) {
			b.Fatalf("usage: %d %s", rec.Code, rec.Body.String())
		}
	}

	db.Reset()
	post()
	recorded := db.Requests()

	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		post()
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

	acctItem := getItem(b, client, db.Table, "ORG#"+org.ID, "ACCOUNT")
	f := figures(b, recorded, store.ItemSize(acctItem), "ORG#"+org.ID)
	perPartition := 1000 / f.hotWCU * 100

	b.ReportMetric(float64(len(recorded)), "ddb-requests/usage-request")
	b.ReportMetric(f.wcuPerEvent, "WCU/event")
	b.ReportMetric(f.hotWCU, "hot-WCU/request")
	b.ReportMetric(eventsPerSec, "events/s")
	fmt.Printf(`
Usage API capacity (100 events per request, one organisation)
  DynamoDB requests per usage request    %d (%s)
  actions per transaction                %s (limit 100)
  WCU per event                          %.3f (target ≤ 2.1)
  hot-partition WCU per request          %.0f (target ≤ 4; ACCOUNT item %d bytes)
  => events/s per organisation at 1,000 WCU/s per partition: %.0f (target ≥ 24,000)
  DynamoDB reads per allowance check     %.2f (target 1)
  in-process overhead per allowance      median %s, p99 %s
  events/s against the embedded store    %.0f (%d requests)
`, len(recorded), f.ops, f.actions, f.wcuPerEvent, f.hotWCU, store.ItemSize(acctItem), perPartition,
		readsPerCheck, overhead[checks/2], overhead[checks*99/100], eventsPerSec, b.N)
}

type capacity struct {
	ops, actions string
	wcuPerEvent  float64
	hotWCU       float64
}

// figures applies DynamoDB's sizing rules to the captured requests of one
// 100-event usage request: a transactional write costs 2 WCU per started KB
// of the item (an update is sized by the whole item, here the ACCOUNT item).
func figures(b *testing.B, reqs []storetest.Request, accountSize int, hotPK string) capacity {
	var c capacity
	var ops, actions []string
	var wcu float64
	for _, r := range reqs {
		ops = append(ops, r.Op)
		if r.Op != "TransactWriteItems" {
			if r.Op == "UpdateItem" || r.Op == "PutItem" {
				wcu++ // flags: one small item in another partition, standard write
			}
			continue
		}
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
	c.ops, c.actions = strings.Join(ops, ", "), strings.Join(actions, " + ")
	c.wcuPerEvent = wcu / 100
	return c
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
